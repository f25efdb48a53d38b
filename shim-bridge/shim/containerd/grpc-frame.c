/* gRPC message framing, the status fields and gRPC codes as errno values
 * (see grpc-frame.h). */
#include "shim-bridge/shim/containerd/grpc-frame.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/hex.h"

void grpc_prefix_encode(uint8_t out[GRPC_PREFIX_LEN], uint32_t len)
{
	out[0] = 0;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
}

void grpc_deframer_init(struct grpc_deframer *d, size_t max)
{
	*d = (struct grpc_deframer){ .msg = sk_buf_make(max < GRPC_MSG_MAX ? max : GRPC_MSG_MAX) };
}

void grpc_deframer_free(struct grpc_deframer *d)
{
	sk_buf_free(&d->msg);
	d->prefix_len = 0;
}

bool grpc_deframer_idle(const struct grpc_deframer *d)
{
	return d->prefix_len == 0;
}

/* The prefix is complete: check it and learn the length. */
static int prefix_done(struct grpc_deframer *d, struct sk_error *err)
{
	if (d->prefix[0] == 1)
		return sk_err(err, -EPROTO,
		              "gRPC: the server sent a compressed message, which was not asked for");
	if (d->prefix[0] != 0)
		return sk_err(err, -EPROTO, "gRPC: message flag byte is %u, not 0 or 1", d->prefix[0]);
	d->want = (uint32_t)d->prefix[1] << 24 | (uint32_t)d->prefix[2] << 16 | (uint32_t)d->prefix[3] << 8 |
	          (uint32_t)d->prefix[4];
	if (d->want > d->msg.max)
		return sk_err(err, -EMSGSIZE,
		              "gRPC: a message of %u bytes is more than the %zu this call takes", d->want,
		              d->msg.max);
	return 0;
}

/* One message is whole (in msg, or in the caller's bytes): hand it on and
 * start the next. */
static int deliver(struct grpc_deframer *d, const uint8_t *msg, grpc_msg_fn fn, void *ud)
{
	int r = fn(ud, msg ? msg : (const uint8_t *)"", d->want);

	sk_buf_reset(&d->msg);
	d->prefix_len = 0;
	d->messages++;
	return r < 0 ? r : 0;
}

int grpc_deframer_feed(struct grpc_deframer *d, const uint8_t *data, size_t len, grpc_msg_fn fn, void *ud,
                       struct sk_error *err)
{
	int r;

	while (len > 0) {
		if (d->prefix_len < GRPC_PREFIX_LEN) {
			size_t n = GRPC_PREFIX_LEN - d->prefix_len;
			if (n > len)
				n = len;
			memcpy(d->prefix + d->prefix_len, data, n);
			d->prefix_len += n;
			data += n;
			len -= n;
			if (d->prefix_len < GRPC_PREFIX_LEN)
				return 0;
			if ((r = prefix_done(d, err)) < 0)
				return r;
			if (d->want == 0) {
				if ((r = deliver(d, NULL, fn, ud)) < 0)
					return r;
				continue;
			}
		}
		size_t need = d->want - d->msg.len;
		if (d->msg.len == 0 && len >= need) {
			/* The whole message is here: no copy. */
			const uint8_t *m = data;
			data += need;
			len -= need;
			if ((r = deliver(d, m, fn, ud)) < 0)
				return r;
			continue;
		}
		size_t n = len < need ? len : need;
		if ((r = sk_buf_append(&d->msg, data, n)) < 0)
			return sk_err(err, r, "gRPC: out of memory for a message of %u bytes", d->want);
		data += n;
		len -= n;
		if (d->msg.len == d->want && (r = deliver(d, (const uint8_t *)d->msg.data, fn, ud)) < 0)
			return r;
	}
	return 0;
}

/* Percent-decode grpc-message (gRPC's own encoding: %XX for bytes outside
 * printable ASCII) into dst, truncating to what fits. */
static void message_decode(char *dst, size_t size, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < size; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len && (hi = sk_hexval(s[i + 1])) >= 0 &&
		    (lo = sk_hexval(s[i + 2])) >= 0) {
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			dst[o++] = s[i];
		}
	}
	dst[o] = '\0';
}

/* Does line start with the field name (any case) and a colon? Then *value
 * and *vlen name the value, trimmed of blanks and the line end. */
static bool field(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	const char *v = line + n + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*value = v;
	*vlen = (size_t)(end - v);
	return true;
}

int grpc_status_header(struct grpc_status *st, const char *line, size_t len)
{
	const char *v;
	size_t vlen;

	if (len > GRPC_HEADER_LINE_MAX)
		len = GRPC_HEADER_LINE_MAX;
	if (field(line, len, "grpc-status", &v, &vlen)) {
		int code = 0;
		if (vlen == 0 || vlen > 2)
			return -EPROTO;
		for (size_t i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -EPROTO;
			code = code * 10 + (v[i] - '0');
		}
		if (code > 16)
			return -EPROTO;
		st->have = true;
		st->code = code;
	} else if (field(line, len, "grpc-message", &v, &vlen)) {
		message_decode(st->message, sizeof(st->message), v, vlen);
	} else if (field(line, len, "content-type", &v, &vlen)) {
		st->grpc_type = (vlen == 16 && strncasecmp(v, "application/grpc", 16) == 0) ||
		                (vlen > 16 && strncasecmp(v, "application/grpc", 16) == 0 &&
		                 (v[16] == '+' || v[16] == ';'));
	}
	return 0;
}

static const char *const code_names[] = {
	"OK", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
	"PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
	"Internal", "Unavailable", "DataLoss", "Unauthenticated",
};

const char *grpc_code_name(int code)
{
	if (code < 0 || code >= (int)(sizeof(code_names) / sizeof(code_names[0])))
		return "Unknown";
	return code_names[code];
}

int grpc_code_errno(int code)
{
	switch (code) {
	case 0:
		return 0;
	case 1:
	case 10:
		return -ECANCELED;
	case 3:
	case 11:
		return -EINVAL;
	case 4:
		return -ETIMEDOUT;
	case 5:
		return -ENOENT;
	case 6:
		return -EEXIST;
	case 7:
	case 16:
		return -EACCES;
	case 8:
		return -ENOSPC;
	case 9:
		return -EPERM;
	case 12:
		return -ENOSYS;
	case 14:
		return -ECONNREFUSED;
	default:
		return -EIO;
	}
}
