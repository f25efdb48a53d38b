/* Packed JSON: raw deflate (zlib, no header) against a preset dictionary. */
#include "controller/packed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/json.h"

/* What the cached objects repeat, the most frequent last (deflate finds
 * the nearest match first). Only this process reads what it packs, so the
 * dictionary may change from one version to the next. */
static const char DICT[] =
	"{\"type\":\"Progressing\",\"status\":\"True\",\"reason\":\"NewReplicaSetAvailable\",\"message\":\"ReplicaSet \\\" has "
	"successfully progressed.\"},{\"type\":\"Available\",\"status\":\"False\",\"reason\":\"MinimumReplicasUnavailable\","
	"\"message\":\"Deployment does not have minimum availability.\"}\"ReplicaSetUpdated\",\"message\":\"ReplicaSet is "
	"progressing.\"MinimumReplicasAvailable\",\"message\":\"Deployment has minimum availability.\"}]"
	"{\"apiVersion\":\"core.spinkube.dev/v1alpha1\",\"kind\":\"SpinAppExecutor\",\"metadata\":{\"finalizers\":["
	"\"core.spinkube.dev/finalizer\"],\"spec\":{\"createDeployment\":true,\"deploymentConfig\":{\"runtimeClassName\":"
	"\"wasmtime-spin-v2\",\"installDefaultCACerts\":true,\"caCertSecret\":\"\"}}}"
	"\"labels\":{\"app.kubernetes.io/name\":\"\",\"annotations\":{\"resourceVersion\":\"\"variables\":[{\"name\":\"\","
	"\"value\":\"\"valueFrom\":{\"secretKeyRef\":{\"key\":\"\"configMapKeyRef\":\"resources\":{\"limits\":{\"cpu\":\""
	"\"memory\":\"Mi\"},\"requests\":{\"runtimeConfig\":\"podAnnotations\":\"podLabels\":\"serviceAnnotations\":"
	"\"imagePullSecrets\":\"volumeMounts\":\"volumes\":\"checks\":{\"readiness\":{\"httpGet\":{\"path\":\"/"
	"\"liveness\":\"components\":[\"deploymentAnnotations\":\"enableAutoscaling\":false,\"enableServiceLinks\":"
	"\"serviceAccountName\":\"containerd-shim-spin\"}"
	"\"message\":\"\",\"observedGeneration\":1,\"reason\":\"DeploymentNotReady\",\"reason\":\"ServiceNotReady\","
	"\"reason\":\"Ready\",\"status\":\"True\",\"type\":\"Ready\"},{\"lastTransitionTime\":\"2026-12-08T00:00:00Z\","
	"\"reason\":\"MinimumReplicasAvailable\",\"status\":\"True\",\"type\":\"Available\"},{\"lastTransitionTime\":\""
	"\"reason\":\"NewReplicaSetAvailable\",\"status\":\"True\",\"type\":\"Progressing\"}]}}"
	"{\"apiVersion\":\"core.spinkube.dev/v1alpha1\",\"kind\":\"SpinApp\",\"metadata\":{\"generation\":1,\"name\":\""
	"\",\"namespace\":\"default\",\"uid\":\"\"},\"spec\":{\"executor\":\"containerd-shim-spin\",\"image\":\""
	"\",\"replicas\":1},\"status\":{\"conditions\":[{\"lastTransitionTime\":\"2026-12-08T00:00:00Z\",\"reason\":\"";

/* Small windows: a cached object is a kilobyte or two; larger ones still
 * pack, less tightly. */
#define WBITS 12
#define MEMLEVEL 5

static struct {
	z_stream def, inf;
	bool def_ok, inf_ok;
} codec;

static int deflater(void)
{
	if (codec.def_ok)
		return deflateReset(&codec.def) == Z_OK ? 0 : -ENOMEM;
	memset(&codec.def, 0, sizeof(codec.def));
	if (deflateInit2(&codec.def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -WBITS, MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	codec.def_ok = true;
	return 0;
}

static int inflater(void)
{
	if (codec.inf_ok)
		return inflateReset(&codec.inf) == Z_OK ? 0 : -ENOMEM;
	memset(&codec.inf, 0, sizeof(codec.inf));
	if (inflateInit2(&codec.inf, -WBITS) != Z_OK)
		return -ENOMEM;
	codec.inf_ok = true;
	return 0;
}

/* The dictionary's last 2^WBITS bytes are all a window can hold. */
static void dictionary(const unsigned char **d, unsigned *len)
{
	size_t n = sizeof(DICT) - 1, max = (size_t)1 << WBITS;

	*d = (const unsigned char *)DICT + (n > max ? n - max : 0);
	*len = (unsigned)(n > max ? max : n);
}

struct packed *packed_new(const char *text, size_t len)
{
	const unsigned char *d;
	unsigned dlen;
	struct packed *p;

	if (len > PACKED_MAX || deflater() < 0)
		return NULL;
	dictionary(&d, &dlen);
	if (deflateSetDictionary(&codec.def, d, dlen) != Z_OK)
		return NULL;
	size_t bound = deflateBound(&codec.def, (uLong)len);
	if (!(p = malloc(sizeof(*p) + bound)))
		return NULL;
	codec.def.next_in = (unsigned char *)text;
	codec.def.avail_in = (uInt)len;
	codec.def.next_out = p->data;
	codec.def.avail_out = (uInt)bound;
	if (deflate(&codec.def, Z_FINISH) != Z_STREAM_END) {
		free(p);
		return NULL;
	}
	p->len = (uint32_t)(bound - codec.def.avail_out);
	p->raw_len = (uint32_t)len;
	struct packed *fit = realloc(p, sizeof(*p) + p->len);
	return fit ? fit : p;
}

int packed_text(const struct packed *p, char **out)
{
	const unsigned char *d;
	unsigned dlen;
	char *buf;
	int r;

	*out = NULL;
	if (!p || p->raw_len > PACKED_MAX)
		return -EINVAL;
	if ((r = inflater()) < 0)
		return r;
	dictionary(&d, &dlen);
	if (inflateSetDictionary(&codec.inf, d, dlen) != Z_OK)
		return -EINVAL;
	if (!(buf = malloc((size_t)p->raw_len + 1)))
		return -ENOMEM;
	codec.inf.next_in = (unsigned char *)p->data;
	codec.inf.avail_in = p->len;
	codec.inf.next_out = (unsigned char *)buf;
	codec.inf.avail_out = p->raw_len;
	int z = inflate(&codec.inf, Z_FINISH);
	if (z != Z_STREAM_END || codec.inf.avail_out != 0 || codec.inf.avail_in != 0) {
		free(buf);
		return -EINVAL;
	}
	buf[p->raw_len] = '\0';
	*out = buf;
	return 0;
}

int packed_parse(const struct packed *p, json_object **out)
{
	char *text = NULL;
	int r;

	*out = NULL;
	if ((r = packed_text(p, &text)) < 0)
		return r;
	r = sk_json_parse(text, p->raw_len, out, NULL);
	free(text);
	return r < 0 ? -EINVAL : 0;
}

bool packed_equal(const struct packed *a, const struct packed *b)
{
	if (!a || !b)
		return a == b;
	return a->raw_len == b->raw_len && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

size_t packed_size(const struct packed *p)
{
	return p ? sizeof(*p) + p->len : 0;
}

void packed_codec_free(void)
{
	if (codec.def_ok)
		deflateEnd(&codec.def);
	if (codec.inf_ok)
		inflateEnd(&codec.inf);
	codec.def_ok = codec.inf_ok = false;
}
