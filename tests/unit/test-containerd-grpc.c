/* shim-bridge/shim/containerd/grpc-frame.c and the checks of grpc.c that
 * need no server: the 5-byte message framing fed in every split, the caps,
 * compressed and unknown flags, grpc-status and grpc-message (percent
 * decoding, truncation, bad values), content-type, gRPC codes as errno,
 * and the client's address and namespace rules and a socket nobody serves. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"
#include "shim-bridge/shim/containerd/grpc.h"
#include "tests/tap.h"

struct got {
	size_t n;
	size_t lens[8];
	char text[8][64];
	int fail_at; /* message number to answer -ECANCELED for, or -1 */
};

static int collect(void *ud, const uint8_t *msg, size_t len)
{
	struct got *g = ud;

	if ((int)g->n == g->fail_at)
		return -ECANCELED;
	if (g->n < 8) {
		g->lens[g->n] = len;
		(void)snprintf(g->text[g->n], sizeof(g->text[0]), "%.*s", (int)len, (const char *)msg);
	}
	g->n++;
	return 0;
}

/* Two messages "hello" and "" and "world!" framed back to back. */
static size_t frames(uint8_t *out)
{
	size_t n = 0;
	const char *parts[] = {"hello", "", "world!"};

	for (size_t i = 0; i < 3; i++) {
		grpc_prefix_encode(out + n, (uint32_t)strlen(parts[i]));
		n += GRPC_PREFIX_LEN;
		memcpy(out + n, parts[i], strlen(parts[i]));
		n += strlen(parts[i]);
	}
	return n;
}

static void test_framing(void)
{
	uint8_t buf[64], p[GRPC_PREFIX_LEN];
	size_t n = frames(buf);
	bool all_split_ok = true;

	grpc_prefix_encode(p, 0x01020304);
	ok(p[0] == 0 && p[1] == 1 && p[2] == 2 && p[3] == 3 && p[4] == 4,
	   "the prefix: flag 0, big-endian length");
	/* Every way of cutting the body in two gives the same three messages. */
	for (size_t cut = 0; cut <= n; cut++) {
		struct grpc_deframer d;
		struct got g = { .fail_at = -1 };
		grpc_deframer_init(&d, 64);
		int r = grpc_deframer_feed(&d, buf, cut, collect, &g, NULL);
		if (r == 0)
			r = grpc_deframer_feed(&d, buf + cut, n - cut, collect, &g, NULL);
		if (r != 0 || g.n != 3 || strcmp(g.text[0], "hello") != 0 || g.lens[1] != 0 ||
		    strcmp(g.text[2], "world!") != 0 || !grpc_deframer_idle(&d))
			all_split_ok = false;
		grpc_deframer_free(&d);
	}
	ok(all_split_ok, "three messages (one empty) come out whole however the body is cut");
	/* One byte at a time, and a body ending mid-message. */
	struct grpc_deframer d;
	struct got g = { .fail_at = -1 };
	grpc_deframer_init(&d, 64);
	for (size_t i = 0; i + 3 < n; i++)
		(void)grpc_deframer_feed(&d, buf + i, 1, collect, &g, NULL);
	is_int(g.n, 2, "byte by byte: two whole messages before the last one is complete");
	ok(!grpc_deframer_idle(&d), "... and the deframer knows the body stopped inside a message");
	grpc_deframer_free(&d);
}

static void test_framing_refusals(void)
{
	struct grpc_deframer d;
	struct got g = { .fail_at = -1 };
	struct sk_error err = { 0 };
	uint8_t big[GRPC_PREFIX_LEN], comp[] = {1, 0, 0, 0, 1, 'x'}, flag[] = {2, 0, 0, 0, 0};
	uint8_t buf[64];
	size_t n = frames(buf);

	grpc_deframer_init(&d, 16);
	grpc_prefix_encode(big, 17);
	is_int(grpc_deframer_feed(&d, big, sizeof(big), collect, &g, &err), -EMSGSIZE,
	       "a message over the cap is refused from its prefix");
	ok(strstr(err.message, "17 bytes is more than the 16"), "... saying both sizes: %s", err.message);
	grpc_deframer_free(&d);
	grpc_deframer_init(&d, 16);
	is_int(grpc_deframer_feed(&d, comp, sizeof(comp), collect, &g, &err), -EPROTO,
	       "a compressed message is refused");
	ok(strstr(err.message, "compressed"), "... saying so: %s", err.message);
	grpc_deframer_free(&d);
	grpc_deframer_init(&d, 16);
	is_int(grpc_deframer_feed(&d, flag, sizeof(flag), collect, &g, &err), -EPROTO,
	       "a flag byte other than 0 and 1 is refused");
	grpc_deframer_free(&d);
	grpc_deframer_init(&d, 1u << 30);
	is_int(d.msg.max, GRPC_MSG_MAX, "no deframer takes more than GRPC_MSG_MAX per message");
	grpc_deframer_free(&d);
	grpc_deframer_init(&d, 64);
	g = (struct got){ .fail_at = 1 };
	is_int(grpc_deframer_feed(&d, buf, n, collect, &g, NULL), -ECANCELED,
	       "the callback's error stops the feed and comes back");
	is_int(g.n, 1, "... after the first message only");
	grpc_deframer_free(&d);
}

static void test_status(void)
{
	struct grpc_status st = { 0 };
	char long_msg[3000] = "grpc-message: ";
	struct sk_error err = { 0 };

	is_int(grpc_status_header(&st, "HTTP/2 200 \r\n", strlen("HTTP/2 200 \r\n")), 0,
	       "the status line is ignored");
	ok(!st.have, "... and is no grpc-status");
	is_int(grpc_status_header(&st, "Grpc-Status: 5\r\n", strlen("Grpc-Status: 5\r\n")), 0,
	       "grpc-status in any case");
	ok(st.have && st.code == 5, "... code 5");
	is_int(grpc_status_header(&st, "grpc-message: image%20%22x%22:%20not%20found%0Atwo\r\n",
	                          strlen("grpc-message: image%20%22x%22:%20not%20found%0Atwo\r\n")),
	       0, "grpc-message");
	is_str(st.message, "image \"x\": not found\ntwo", "... percent-decoded");
	sk_err(&err, -ENOENT, "%s", st.message);
	ok(sk_is_one_line(err.message), "... and a decoded newline still makes a one-line error: %s",
	   err.message);
	is_int(grpc_status_header(&st, "grpc-message: 100%\r\n", strlen("grpc-message: 100%\r\n")), 0,
	       "a lone %% is kept as it is");
	is_str(st.message, "100%", "... as text");
	memset(long_msg + 14, 'a', 2900);
	long_msg[2914] = '\0';
	(void)grpc_status_header(&st, long_msg, strlen(long_msg));
	is_int(strlen(st.message), GRPC_MESSAGE_MAX - 1, "a long grpc-message is cut to the cap");
	is_int(grpc_status_header(&st, "grpc-status: 17\r\n", strlen("grpc-status: 17\r\n")), -EPROTO,
	       "grpc-status 17 is refused");
	is_int(grpc_status_header(&st, "grpc-status: x\r\n", strlen("grpc-status: x\r\n")), -EPROTO,
	       "a grpc-status that is no number is refused");
	is_int(grpc_status_header(&st, "grpc-status: \r\n", strlen("grpc-status: \r\n")), -EPROTO,
	       "an empty grpc-status is refused");
	is_int(grpc_status_header(&st, "grpc-status: 123\r\n", strlen("grpc-status: 123\r\n")), -EPROTO,
	       "a three-digit grpc-status is refused");
	is_int(st.code, 5, "... and none of them changed the code seen");
	(void)grpc_status_header(&st, "content-type: application/grpc\r\n",
	                         strlen("content-type: application/grpc\r\n"));
	ok(st.grpc_type, "content-type application/grpc");
	(void)grpc_status_header(&st, "content-type: application/grpcx\r\n",
	                         strlen("content-type: application/grpcx\r\n"));
	ok(!st.grpc_type, "... not application/grpcx");
	(void)grpc_status_header(&st, "Content-Type: application/grpc+proto\r\n",
	                         strlen("Content-Type: application/grpc+proto\r\n"));
	ok(st.grpc_type, "... application/grpc+proto");
	(void)grpc_status_header(&st, "content-type: text/html\r\n", strlen("content-type: text/html\r\n"));
	ok(!st.grpc_type, "... not text/html");
}

static void test_codes(void)
{
	is_int(grpc_code_errno(0), 0, "OK is 0");
	is_int(grpc_code_errno(5), -ENOENT, "NotFound is -ENOENT");
	is_int(grpc_code_errno(14), -ECONNREFUSED, "Unavailable is -ECONNREFUSED");
	is_int(grpc_code_errno(12), -ENOSYS, "Unimplemented is -ENOSYS");
	is_int(grpc_code_errno(13), -EIO, "Internal is -EIO");
	is_str(grpc_code_name(5), "NotFound", "code names");
	is_str(grpc_code_name(99), "Unknown", "... and Unknown out of range");
}

static void test_client(void)
{
	struct ctrd_client *c = NULL;
	struct sk_error err = { 0 };
	char path[200];
	uint8_t *resp = NULL;
	size_t len = 0;

	is_int(ctrd_client_new("tcp://127.0.0.1:1", "k8s.io", &c, &err), -EINVAL, "a TCP address is refused");
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	is_int(ctrd_client_new(path, "k8s.io", &c, &err), -ENAMETOOLONG,
	       "a path longer than a unix socket takes is refused");
	is_int(ctrd_client_new("/run/c.sock", "a b", &c, &err), -EINVAL,
	       "a namespace with a blank is refused");
	is_int(ctrd_client_new("/run/c.sock", "", &c, &err), -EINVAL, "an empty namespace is refused");
	is_int(ctrd_client_new("unix:///nonexistent/spinkube-test.sock", "k8s.io", &c, &err), 0,
	       "unix:///PATH is taken");
	if (!c)
		return;
	is_str(ctrd_client_socket(c), "/nonexistent/spinkube-test.sock", "... as PATH");
	is_int(ctrd_call_unary(c, "/containerd.services.images.v1.Images/Get", (const uint8_t *)"", 0, 1024,
	                       &resp, &len, &err),
	       -ECONNREFUSED, "a call to a socket nobody serves is -ECONNREFUSED");
	ok(strstr(err.message, "cannot connect") && strstr(err.message, "GRPC_ADDRESS") &&
	       sk_is_one_line(err.message),
	   "... with one line naming the fix: %s", err.message);
	ctrd_client_free(c);
	ctrd_client_free(NULL);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_framing();
	test_framing_refusals();
	test_status();
	test_codes();
	test_client();
	curl_global_cleanup();
	return tap_done();
}
