/* Packed JSON (controller/packed.h): texts come back byte for byte, equal
 * texts pack equal, a SpinApp as the cache keeps it packs to well under
 * half its size, and bytes that are not a packed text are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/packed.h"
#include "tests/tap.h"

static const char APP[] =
	"{\"apiVersion\":\"core.spinkube.dev/v1alpha1\",\"kind\":\"SpinApp\",\"metadata\":{\"generation\":1,"
	"\"name\":\"app-4711\",\"namespace\":\"bench\",\"uid\":\"6f1c2a9e-8d1b-4c53-9a57-0f3e2b7d9c41\"},"
	"\"spec\":{\"executor\":\"containerd-shim-spin\",\"image\":\"registry.example/apps/hello:v1\","
	"\"replicas\":1,\"enableAutoscaling\":false},\"status\":{\"conditions\":[{\"lastTransitionTime\":"
	"\"2026-12-08T02:31:07Z\",\"reason\":\"Ready\",\"status\":\"True\",\"type\":\"Ready\"},"
	"{\"lastTransitionTime\":\"2026-12-08T02:31:06Z\",\"reason\":\"MinimumReplicasAvailable\",\"status\":"
	"\"True\",\"type\":\"Available\"},{\"lastTransitionTime\":\"2026-12-08T02:30:59Z\",\"reason\":"
	"\"NewReplicaSetAvailable\",\"status\":\"True\",\"type\":\"Progressing\"}]}}";

static char *round_trip(const char *text, size_t len)
{
	struct packed *p = packed_new(text, len);
	char *out = NULL;

	if (!p || packed_text(p, &out) < 0)
		out = NULL;
	free(p);
	return out;
}

int main(void)
{
	struct packed *a = packed_new(APP, strlen(APP)), *b = packed_new(APP, strlen(APP));
	char *text = NULL;
	json_object *obj = NULL;

	ok(a && b, "a SpinApp packs");
	ok(a && packed_text(a, &text) == 0 && text && strcmp(text, APP) == 0, "and unpacks to the same text");
	free(text);
	text = NULL;
	ok(packed_equal(a, b), "the same text packs to the same bytes");
	printf("# packed %zu of %zu bytes\n", packed_size(a), strlen(APP));
	ok(a && packed_size(a) * 5 < strlen(APP) * 2, "to less than 40%% of its size (%zu of %zu bytes)",
	   packed_size(a), strlen(APP));
	ok(a && packed_parse(a, &obj) == 0 && obj &&
		   strcmp(json_object_get_string(json_object_object_get(json_object_object_get(obj, "metadata"), "name")),
			  "app-4711") == 0,
	   "parses to the object");
	json_object_put(obj);

	/* Another app: not equal, and each still its own text (the codec's
	 * streams are reset between uses). */
	char other[sizeof(APP)];
	memcpy(other, APP, sizeof(APP));
	memcpy(strstr(other, "app-4711"), "app-4712", 8);
	struct packed *c = packed_new(other, strlen(other));
	ok(c && !packed_equal(a, c), "a text one byte apart packs differently");
	char *t1 = NULL, *t2 = NULL;
	ok(c && packed_text(c, &t1) == 0 && packed_text(a, &t2) == 0 && strcmp(t1, other) == 0 && strcmp(t2, APP) == 0,
	   "and both unpack to their own text, in any order");
	free(t1);
	free(t2);

	/* Texts unlike the dictionary and larger than the window. */
	size_t big = 300000;
	char *large = malloc(big + 1);
	for (size_t i = 0; large && i < big; i++)
		large[i] = (char)('a' + (i * 7919 % 26));
	if (large)
		large[big] = '\0';
	char *back = large ? round_trip(large, big) : NULL;
	ok(back && strcmp(back, large) == 0, "a 300 kB text comes back whole");
	free(back);
	back = round_trip("", 0);
	ok(back && strcmp(back, "") == 0, "so does an empty one");
	free(back);
	free(large);

	/* Damaged bytes are refused, not read past. */
	struct packed *bad = malloc(packed_size(a));
	memcpy(bad, a, packed_size(a));
	bad->raw_len += 5;
	ok(packed_text(bad, &text) < 0 && text == NULL, "a wrong length is refused");
	bad->raw_len -= 5;
	bad->len /= 2;
	ok(packed_text(bad, &text) < 0 && text == NULL, "a cut stream is refused");
	bad->len = a->len;
	memset(bad->data, 0xff, bad->len);
	ok(packed_parse(bad, &obj) < 0 && obj == NULL, "garbage is refused");
	ok(packed_text(NULL, &text) < 0, "no packed text is refused");
	ok(packed_equal(NULL, NULL) && !packed_equal(a, NULL), "NULLs compare as absent");
	free(bad);

	free(a);
	free(b);
	free(c);
	packed_codec_free();
	return tap_done();
}
