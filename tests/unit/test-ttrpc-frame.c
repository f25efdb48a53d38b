/* shim-bridge/shim/ttrpc/frame.c and message.c: the 10-byte header both
 * ways, a frame cut at every byte boundary (the parser waits, the socket
 * reader says where the peer went away), oversized frames, unknown types
 * and flags, stream 0, and the Request envelope's checks (protobuf garbage,
 * bad names, too much metadata). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim-bridge/shim/ttrpc/frame.h"
#include "shim-bridge/shim/ttrpc/message.h"
#include "tests/tap.h"

static void header_round_trip(void)
{
	struct sk_ttrpc_header h = { .length = 0x00102030, .stream = 0x01020305, .type = SK_TTRPC_REQUEST, .flags = 0 };
	uint8_t b[SK_TTRPC_HEADER_LEN];
	sk_ttrpc_header_encode(b, &h);
	static const uint8_t want[] = { 0x00, 0x10, 0x20, 0x30, 0x01, 0x02, 0x03, 0x05, 0x01, 0x00 };
	ok(memcmp(b, want, sizeof(want)) == 0, "header: big-endian length and stream, then type and flags");
	struct sk_ttrpc_header d;
	h.length = 100;
	sk_ttrpc_header_encode(b, &h);
	is_int(sk_ttrpc_header_decode(b, SK_TTRPC_MAX_PAYLOAD, &d, NULL), 0, "header: decodes");
	ok(d.length == 100 && d.stream == h.stream && d.type == 1 && d.flags == 0, "header: same fields back");
}

/* decode_err HEADER-FIELDS: the errno and message sk_ttrpc_header_decode gives. */
static int decode_err(uint32_t length, uint32_t stream, uint8_t type, uint8_t flags, size_t max, struct sk_error *e)
{
	struct sk_ttrpc_header h = { .length = length, .stream = stream, .type = type, .flags = flags }, d;
	uint8_t b[SK_TTRPC_HEADER_LEN];
	sk_ttrpc_header_encode(b, &h);
	sk_err_clear(e);
	return sk_ttrpc_header_decode(b, max, &d, e);
}

static void header_checks(void)
{
	struct sk_error e;
	is_int(decode_err(SK_TTRPC_MAX_PAYLOAD, 1, 1, 0, SK_TTRPC_MAX_PAYLOAD, &e), 0, "4 MiB of data: accepted");
	is_int(decode_err(SK_TTRPC_MAX_PAYLOAD + 1, 1, 1, 0, SK_TTRPC_MAX_PAYLOAD, &e), -EMSGSIZE,
		"4 MiB + 1: refused (%s)", e.message);
	is_int(decode_err(0xffffffffu, 1, 1, 0, 0xffffffffu, &e), -EMSGSIZE,
		"a cap over ttrpc's is clamped to 4 MiB");
	is_int(decode_err(200, 1, 1, 0, 100, &e), -EMSGSIZE, "a smaller cap is kept");
	is_int(decode_err(0, 1, 0, 0, SK_TTRPC_MAX_PAYLOAD, &e), -EPROTO, "type 0: refused (%s)", e.message);
	is_int(decode_err(0, 1, 4, 0, SK_TTRPC_MAX_PAYLOAD, &e), -EPROTO, "type 4: refused");
	is_int(decode_err(0, 1, 255, 0, SK_TTRPC_MAX_PAYLOAD, &e), -EPROTO, "type 255: refused");
	is_int(decode_err(0, 0, 1, 0, SK_TTRPC_MAX_PAYLOAD, &e), -EPROTO, "stream 0: refused (%s)", e.message);
	static const struct {
		uint8_t type, flags;
		int want;
	} flags[] = {
		{ 1, 0x01, 0 }, { 1, 0x02, 0 }, { 1, 0x03, -EPROTO }, { 1, 0x04, -EPROTO }, { 1, 0x80, -EPROTO },
		{ 2, 0x00, 0 }, { 2, 0x01, -EPROTO }, { 2, 0x04, -EPROTO },
		{ 3, 0x00, 0 }, { 3, 0x01, 0 }, { 3, 0x04, 0 }, { 3, 0x05, 0 }, { 3, 0x02, -EPROTO }, { 3, 0x08, -EPROTO },
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		is_int(decode_err(0, 1, flags[i].type, flags[i].flags, SK_TTRPC_MAX_PAYLOAD, &e), flags[i].want,
			"type %u flags 0x%02x: %s", flags[i].type, flags[i].flags, flags[i].want ? "refused" : "accepted");
}

/* A request frame for test.Svc/Method with a 5-byte payload into *out. */
static size_t sample_frame(uint8_t **out)
{
	uint8_t *req = NULL;
	size_t n = 0;
	if (sk_ttrpc_request_encode("test.Svc", "Method", NULL, (const uint8_t *)"hello", 5, 0, &req, &n, NULL) < 0)
		abort();
	uint8_t *f = malloc(SK_TTRPC_HEADER_LEN + n);
	struct sk_ttrpc_header h = { .length = (uint32_t)n, .stream = 3, .type = SK_TTRPC_REQUEST };
	sk_ttrpc_header_encode(f, &h);
	memcpy(f + SK_TTRPC_HEADER_LEN, req, n);
	free(req);
	*out = f;
	return SK_TTRPC_HEADER_LEN + n;
}

static void parse_every_cut(void)
{
	uint8_t *f;
	size_t len = sample_frame(&f);
	int waits = 1;
	for (size_t cut = 0; cut < len; cut++) {
		struct sk_ttrpc_header h;
		const uint8_t *p;
		size_t used = 99;
		if (sk_ttrpc_frame_parse(f, cut, SK_TTRPC_MAX_PAYLOAD, &h, &p, &used, NULL) != 0 || used != 99)
			waits = 0;
	}
	ok(waits, "parse: each of the %zu cuts before the end asks for more bytes", len);
	struct sk_ttrpc_header h;
	const uint8_t *p = NULL;
	size_t used = 0;
	is_int(sk_ttrpc_frame_parse(f, len, SK_TTRPC_MAX_PAYLOAD, &h, &p, &used, NULL), 1, "parse: whole frame found");
	ok(used == len && p == f + SK_TTRPC_HEADER_LEN && h.stream == 3, "parse: used %zu bytes, payload in place", used);
	/* Two frames back to back: the first one only. */
	uint8_t *two = malloc(2 * len);
	memcpy(two, f, len);
	memcpy(two + len, f, len);
	is_int(sk_ttrpc_frame_parse(two, 2 * len, SK_TTRPC_MAX_PAYLOAD, &h, &p, &used, NULL), 1, "parse: first of two");
	is_int(used, len, "parse: stops at the end of the first frame");
	free(two);

	Ttrpc__Request *req = NULL;
	is_int(sk_ttrpc_request_decode(f + SK_TTRPC_HEADER_LEN, len - SK_TTRPC_HEADER_LEN, &req, NULL), 0,
		"the payload is a ttrpc.Request");
	ok(req && strcmp(req->service, "test.Svc") == 0 && strcmp(req->method, "Method") == 0 &&
		req->payload.len == 5 && memcmp(req->payload.data, "hello", 5) == 0, "with its service, method, payload");
	if (req)
		ttrpc__request__free_unpacked(req, NULL);
	free(f);
}

/* Feed the first cut bytes of the frame through a socket, then close:
 * what sk_ttrpc_frame_read makes of it. */
static int read_cut(const uint8_t *f, size_t cut, struct sk_ttrpc_header *h, uint8_t **data, struct sk_error *e)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	if (cut && write(sv[0], f, cut) != (ssize_t)cut)
		abort();
	close(sv[0]);
	int r = sk_ttrpc_frame_read(sv[1], SK_TTRPC_MAX_PAYLOAD, h, data, e);
	close(sv[1]);
	return r;
}

static void read_every_cut(void)
{
	uint8_t *f;
	size_t len = sample_frame(&f);
	struct sk_ttrpc_header h;
	uint8_t *data = NULL;
	struct sk_error e = { 0 };
	is_int(read_cut(f, 0, &h, &data, &e), 1, "read: a close between frames is the end");
	int resets = 1;
	for (size_t cut = 1; cut < len; cut++) {
		data = NULL;
		if (read_cut(f, cut, &h, &data, &e) != -ECONNRESET || data)
			resets = 0;
	}
	ok(resets, "read: each of the %zu cuts inside the frame is -ECONNRESET (%s)", len - 1, e.message);
	is_int(read_cut(f, len, &h, &data, &e), 0, "read: the whole frame");
	ok(data && h.length == len - SK_TTRPC_HEADER_LEN && memcmp(data, f + SK_TTRPC_HEADER_LEN, h.length) == 0,
		"read: its data");
	free(data);

	/* An oversized header: refused before any data is read or allocated. */
	struct sk_ttrpc_header big = { .length = SK_TTRPC_MAX_PAYLOAD + 1, .stream = 1, .type = 1 };
	uint8_t b[SK_TTRPC_HEADER_LEN];
	sk_ttrpc_header_encode(b, &big);
	data = NULL;
	is_int(read_cut(b, sizeof(b), &h, &data, &e), -EMSGSIZE, "read: oversized header refused (%s)", e.message);
	ok(data == NULL, "read: nothing allocated for it");
	free(f);
}

static void write_read(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	struct sk_ttrpc_header h = { .length = 3, .stream = 7, .type = SK_TTRPC_DATA, .flags = SK_TTRPC_FLAG_REMOTE_CLOSED };
	is_int(sk_ttrpc_frame_write(sv[0], &h, "abc", NULL), 0, "write: a data frame");
	struct sk_ttrpc_header empty = { .length = 0, .stream = 9, .type = SK_TTRPC_RESPONSE };
	is_int(sk_ttrpc_frame_write(sv[0], &empty, NULL, NULL), 0, "write: an empty response");
	struct sk_ttrpc_header over = { .length = SK_TTRPC_MAX_PAYLOAD + 1, .stream = 11, .type = SK_TTRPC_RESPONSE };
	is_int(sk_ttrpc_frame_write(sv[0], &over, "", NULL), -EMSGSIZE, "write: over the cap refused");
	struct sk_ttrpc_header got;
	uint8_t *data = NULL;
	is_int(sk_ttrpc_frame_read(sv[1], SK_TTRPC_MAX_PAYLOAD, &got, &data, NULL), 0, "read back: the data frame");
	ok(got.stream == 7 && got.type == 3 && got.flags == 1 && data && memcmp(data, "abc", 3) == 0, "read back: fields");
	free(data);
	static uint8_t sentinel[1];
	data = sentinel;
	is_int(sk_ttrpc_frame_read(sv[1], SK_TTRPC_MAX_PAYLOAD, &got, &data, NULL), 0, "read back: the empty response");
	ok(got.length == 0 && data == NULL, "read back: no data, NULL");
	close(sv[0]);
	close(sv[1]);
	sv[0] = -1;
	is_int(sk_ttrpc_frame_write(-1, &empty, NULL, NULL), -EBADF, "write to a closed descriptor: -EBADF");
}

static void request_checks(void)
{
	struct sk_error e = { 0 };
	Ttrpc__Request *req = NULL;
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
	is_int(sk_ttrpc_request_decode(garbage, sizeof(garbage), &req, &e), -EBADMSG, "garbage: -EBADMSG (%s)",
		e.message);
	/* field 1 (service) claims 100 bytes, 2 follow */
	static const uint8_t short_str[] = { 0x0a, 0x64, 'a', 'b' };
	is_int(sk_ttrpc_request_decode(short_str, sizeof(short_str), &req, &e), -EBADMSG, "truncated string: -EBADMSG");
	is_int(sk_ttrpc_request_decode(NULL, 0, &req, &e), -EINVAL, "empty message: no service (%s)", e.message);

	char long_name[SK_TTRPC_NAME_MAX + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	static const struct {
		const char *label, *service, *method;
		int want;
	} names[] = {
		{ "s/m", "s", "m", 0 }, { "empty service", "", "m", -EINVAL }, { "empty method", "s", "", -EINVAL },
		{ "a space", "a b", "m", -EINVAL }, { "a newline", "s", "m\n", -EINVAL }, { "DEL", "s\x7f", "m", -EINVAL },
		{ "UTF-8", "s", "\xc3\xa9", -EINVAL },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t *b = NULL;
		size_t n = 0;
		if (sk_ttrpc_request_encode(names[i].service, names[i].method, NULL, NULL, 0, 0, &b, &n, NULL) < 0)
			abort();
		req = NULL;
		is_int(sk_ttrpc_request_decode(b, n, &req, &e), names[i].want, "names, %s: %s", names[i].label,
			names[i].want ? e.message : "accepted");
		if (req)
			ttrpc__request__free_unpacked(req, NULL);
		free(b);
	}
	uint8_t *b = NULL;
	size_t n = 0;
	sk_ttrpc_request_encode(long_name, "m", NULL, NULL, 0, 0, &b, &n, NULL);
	is_int(sk_ttrpc_request_decode(b, n, &req, &e), -EINVAL, "service of %d bytes refused", SK_TTRPC_NAME_MAX + 1);
	free(b);
	sk_ttrpc_request_encode("s", "m", NULL, NULL, 0, -1, &b, &n, NULL);
	is_int(sk_ttrpc_request_decode(b, n, &req, &e), -EINVAL, "negative timeout refused (%s)", e.message);
	free(b);

	const char *md[2 * (SK_TTRPC_METADATA_MAX + 1) + 1];
	for (int i = 0; i < 2 * (SK_TTRPC_METADATA_MAX + 1); i++)
		md[i] = "k";
	md[2 * (SK_TTRPC_METADATA_MAX + 1)] = NULL;
	is_int(sk_ttrpc_request_encode("s", "m", md, NULL, 0, 0, &b, &n, &e), -E2BIG, "encode: too much metadata refused");
	md[2 * SK_TTRPC_METADATA_MAX] = NULL;
	is_int(sk_ttrpc_request_encode("s", "m", md, NULL, 0, 0, &b, &n, &e), 0, "encode: %d metadata pairs",
		SK_TTRPC_METADATA_MAX);
	req = NULL;
	is_int(sk_ttrpc_request_decode(b, n, &req, &e), 0, "decode: %d metadata pairs accepted", SK_TTRPC_METADATA_MAX);
	ok(req && req->n_metadata == SK_TTRPC_METADATA_MAX, "with all of them");
	if (req)
		ttrpc__request__free_unpacked(req, NULL);
	free(b);
	/* 65 pairs written by hand: field 5, each an empty KeyValue. */
	uint8_t many[6 + 2 * (SK_TTRPC_METADATA_MAX + 1)] = { 0x0a, 0x01, 's', 0x12, 0x01, 'm' };
	for (int i = 0; i <= SK_TTRPC_METADATA_MAX; i++) {
		many[6 + 2 * i] = 0x2a;
		many[7 + 2 * i] = 0x00;
	}
	is_int(sk_ttrpc_request_decode(many, sizeof(many), &req, &e), -EINVAL, "decode: %d pairs refused (%s)",
		SK_TTRPC_METADATA_MAX + 1, e.message);
}

static void response_codec(void)
{
	uint8_t *b = NULL;
	size_t n = 0;
	Ttrpc__Response *resp = NULL;
	is_int(sk_ttrpc_response_encode(SK_RPC_OK, NULL, (const uint8_t *)"xy", 2, &b, &n, NULL), 0, "response: OK");
	is_int(sk_ttrpc_response_decode(b, n, &resp, NULL), 0, "response: decodes");
	ok(resp && !resp->status && resp->payload.len == 2, "response: no status on OK, payload kept");
	ttrpc__response__free_unpacked(resp, NULL);
	free(b);
	is_int(sk_ttrpc_response_encode(SK_RPC_UNIMPLEMENTED, "nope", NULL, 0, &b, &n, NULL), 0, "response: error");
	is_int(sk_ttrpc_response_decode(b, n, &resp, NULL), 0, "response: decodes");
	ok(resp && resp->status && resp->status->code == 12 && strcmp(resp->status->message, "nope") == 0,
		"response: Status code 12 and its message");
	ttrpc__response__free_unpacked(resp, NULL);
	free(b);
	is_str(sk_rpc_code_name(SK_RPC_INVALID_ARGUMENT), "InvalidArgument", "code 3 is InvalidArgument");
	is_str(sk_rpc_code_name(SK_RPC_UNIMPLEMENTED), "Unimplemented", "code 12 is Unimplemented");
	is_str(sk_rpc_code_name(99), "unknown code", "code 99 is unknown");
	static const uint8_t garbage[] = { 0x12, 0x05, 0x01 };
	is_int(sk_ttrpc_response_decode(garbage, sizeof(garbage), &resp, NULL), -EBADMSG, "response garbage: -EBADMSG");
}

int main(void)
{
	header_round_trip();
	header_checks();
	parse_every_cut();
	read_every_cut();
	write_read();
	request_checks();
	response_codec();
	return tap_done();
}
