/* images.Get, content.Info and content.Read (see content.h). */
#include "shim-bridge/shim/containerd/content.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/sha256.h"
#include "shim-bridge/shim/proto/services-content-v1-content.pb-c.h"
#include "shim-bridge/shim/proto/services-images-v1-images.pb-c.h"

#define IMAGE_ANSWER_MAX (1u << 20) /* an Image with its labels */
#define INFO_ANSWER_MAX  (1u << 20)

/* req packed into *buf (malloc'd, *n bytes). */
static int pack(const ProtobufCMessage *req, uint8_t **buf, size_t *n, struct sk_error *err)
{
	*n = protobuf_c_message_get_packed_size(req);
	if (!(*buf = malloc(*n ? *n : 1)))
		return sk_err(err, -ENOMEM, "out of memory");
	protobuf_c_message_pack(req, *buf);
	return 0;
}

/* What a NotFound from Content/Info or Content/Read means. */
static int missing_blob(struct ctrd_client *c, const char *digest, struct sk_error *err)
{
	return sk_err(err, -ENOENT, "containerd %s: blob %s is not in the content store: pull the image again",
	              ctrd_client_socket(c), digest);
}

int ctrd_image_get(struct ctrd_client *c, const char *name, struct ctrd_desc *target, struct sk_error *err)
{
	Containerd__Services__Images__V1__GetImageRequest req =
	    CONTAINERD__SERVICES__IMAGES__V1__GET_IMAGE_REQUEST__INIT;
	_cleanup_free_ uint8_t *buf = NULL, *resp = NULL;
	size_t n, resp_len;
	int r;

	req.name = (char *)(uintptr_t)name;
	if ((r = pack(&req.base, &buf, &n, err)) < 0)
		return r;
	r = ctrd_call_unary(c, "/containerd.services.images.v1.Images/Get", buf, n, IMAGE_ANSWER_MAX, &resp,
	                    &resp_len, err);
	if (r == -ENOENT)
		return sk_err(err, r,
		              "containerd %s has no image \"%s\": pull it first (the kubelet does; by hand: "
		              "ctr -n NS images pull)",
		              ctrd_client_socket(c), name);
	if (r < 0)
		return r;
	Containerd__Services__Images__V1__GetImageResponse *m =
	    containerd__services__images__v1__get_image_response__unpack(NULL, resp_len, resp);
	if (!m)
		return sk_err(err, -EPROTO, "containerd %s: Images/Get \"%s\": the answer does not decode",
		              ctrd_client_socket(c), name);
	const Containerd__Types__Descriptor *t = m->image ? m->image->target : NULL;
	if (!t || !sk_sha256_digest_ok(t->digest) || !t->media_type ||
	    strlen(t->media_type) >= sizeof(target->media_type) || t->size < 0) {
		containerd__services__images__v1__get_image_response__free_unpacked(m, NULL);
		return sk_err(err, -EPROTO,
		              "containerd %s: image \"%s\" has no usable target (a sha256 digest, a media "
		              "type, a size)",
		              ctrd_client_socket(c), name);
	}
	struct ctrd_desc d = { .size = t->size };
	memcpy(d.digest, t->digest, 72);
	memcpy(d.media_type, t->media_type, strlen(t->media_type) + 1);
	containerd__services__images__v1__get_image_response__free_unpacked(m, NULL);
	*target = d;
	return 0;
}

int ctrd_content_info(struct ctrd_client *c, const char *digest, int64_t *size, struct sk_error *err)
{
	Containerd__Services__Content__V1__InfoRequest req =
	    CONTAINERD__SERVICES__CONTENT__V1__INFO_REQUEST__INIT;
	_cleanup_free_ uint8_t *buf = NULL, *resp = NULL;
	size_t n, resp_len;
	int r;

	req.digest = (char *)(uintptr_t)digest;
	if ((r = pack(&req.base, &buf, &n, err)) < 0)
		return r;
	r = ctrd_call_unary(c, "/containerd.services.content.v1.Content/Info", buf, n, INFO_ANSWER_MAX, &resp,
	                    &resp_len, err);
	if (r == -ENOENT)
		return missing_blob(c, digest, err);
	if (r < 0)
		return r;
	Containerd__Services__Content__V1__InfoResponse *m =
	    containerd__services__content__v1__info_response__unpack(NULL, resp_len, resp);
	if (!m || !m->info || m->info->size < 0) {
		if (m)
			containerd__services__content__v1__info_response__free_unpacked(m, NULL);
		return sk_err(err, -EPROTO, "containerd %s: Content/Info %s: the answer does not decode",
		              ctrd_client_socket(c), digest);
	}
	*size = m->info->size;
	containerd__services__content__v1__info_response__free_unpacked(m, NULL);
	return 0;
}

/* A read in progress: where the next piece must start, how much is left. */
struct reading {
	struct ctrd_client *c;
	const char *digest;
	int64_t next, end;
	ctrd_sink_fn sink;
	void *ud;
	struct sk_error *err;
};

static int on_piece(void *p, const uint8_t *msg, size_t len)
{
	struct reading *rd = p;
	Containerd__Services__Content__V1__ReadContentResponse *m =
	    containerd__services__content__v1__read_content_response__unpack(NULL, len, msg);
	int r;

	if (!m)
		return sk_err(rd->err, -EPROTO, "containerd %s: Content/Read %s: a piece does not decode",
		              ctrd_client_socket(rd->c), rd->digest);
	if (m->offset != rd->next || (int64_t)m->data.len > rd->end - rd->next) {
		r = sk_err(rd->err, -EPROTO,
		           "containerd %s: Content/Read %s: a piece at offset %lld of %zu bytes, where %lld "
		           "(at most %lld bytes) was due",
		           ctrd_client_socket(rd->c), rd->digest, (long long)m->offset, m->data.len,
		           (long long)rd->next, (long long)(rd->end - rd->next));
	} else {
		rd->next += (int64_t)m->data.len;
		r = m->data.len ? rd->sink(rd->ud, m->data.data, m->data.len) : 0;
	}
	containerd__services__content__v1__read_content_response__free_unpacked(m, NULL);
	return r;
}

int ctrd_content_read(struct ctrd_client *c, const char *digest, int64_t offset, int64_t size,
                      ctrd_sink_fn sink, void *ud, struct sk_error *err)
{
	Containerd__Services__Content__V1__ReadContentRequest req =
	    CONTAINERD__SERVICES__CONTENT__V1__READ_CONTENT_REQUEST__INIT;
	struct reading rd = {
		.c = c, .digest = digest, .next = offset, .end = offset + size, .sink = sink, .ud = ud, .err = err,
	};
	_cleanup_free_ uint8_t *buf = NULL;
	size_t n;
	int r;

	if (offset < 0 || size <= 0 || size > INT64_MAX - offset)
		return sk_err(err, -EINVAL, "Content/Read %s: offset %lld and size %lld are out of range",
		              digest, (long long)offset, (long long)size);
	req.digest = (char *)(uintptr_t)digest;
	req.offset = offset;
	req.size = size;
	if ((r = pack(&req.base, &buf, &n, err)) < 0)
		return r;
	r = ctrd_call_stream(c, "/containerd.services.content.v1.Content/Read", buf, n, GRPC_MSG_MAX,
	                     on_piece, &rd, err);
	if (r == -ENOENT)
		return missing_blob(c, digest, err);
	if (r < 0)
		return r;
	if (rd.next != rd.end)
		return sk_err(err, -EPROTO,
		              "containerd %s: Content/Read %s: %lld bytes came, %lld were asked for",
		              ctrd_client_socket(c), digest, (long long)(rd.next - offset), (long long)size);
	return 0;
}
