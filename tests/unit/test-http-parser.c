/* HTTP/1.1 request parsing: any split of the input gives the same requests,
 * pipelining, chunked bodies with trailers, every rejection status, and
 * bodies streamed into small buffers or discarded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http-parser.h"
#include "tests/tap.h"

/* Summarise a parsed request as one line, for comparisons. */
static void summarise(const struct http_parser *p, char *out, size_t n)
{
	const struct http_parsed *r = &p->parsed;
	size_t blen, off;
	const char *body = http_parser_body(p, &blen);

	off = (size_t)snprintf(out, n, "%s %s [%s] [%s%s] 1.%d ka=%d h=%zu body=%.*s", r->method, r->target, r->path,
			       r->has_query ? "?" : "", r->query, r->version_minor, r->keep_alive, r->n_headers,
			       (int)blen, body);
	for (size_t i = 0; i < r->n_trailers && off < n; i++)
		off += (size_t)snprintf(out + off, n - off, " T:%s=%s", r->trailers[i].name, r->trailers[i].value);
}

/* Parse stream, cut into pieces at the offsets in cuts (ascending, < len),
 * collecting every request summary joined by '|' in out. Returns the
 * rejection status, or 0. Pipelined leftovers are re-fed after reset, as
 * the server does. */
static int parse_stream(const char *s, size_t len, const size_t *cuts, size_t n_cuts, char *out, size_t out_n,
			const struct http_limits *lim)
{
	struct http_parser p;
	char pending[65536];
	size_t plen = 0, start = 0, ci = 0;
	int status = 0;

	out[0] = '\0';
	http_parser_init(&p, lim);
	while (start < len || plen > 0) {
		size_t end = ci < n_cuts ? cuts[ci++] : len;
		if (end < start)
			end = start;
		memcpy(pending + plen, s + start, end - start);
		plen += end - start;
		start = end;
		for (;;) {
			size_t used;
			enum http_parse_event e = http_parser_feed(&p, pending, plen, &used);
			memmove(pending, pending + used, plen - used);
			plen -= used;
			if (e == HTTP_PARSE_ERROR) {
				status = p.status;
				goto out;
			}
			if (e == HTTP_PARSE_DONE) {
				char one[1024];
				summarise(&p, one, sizeof(one));
				if (out[0])
					strncat(out, "|", out_n - strlen(out) - 1);
				strncat(out, one, out_n - strlen(out) - 1);
				http_parser_reset(&p);
				continue;
			}
			if (e == HTTP_PARSE_HEAD && plen)
				continue;
			break;
		}
		if (start >= len && plen > 0)
			break; /* incomplete trailing request */
	}
out:
	http_parser_free(&p);
	return status;
}

static int parse_one(const char *s, char *out, size_t n)
{
	return parse_stream(s, strlen(s), NULL, 0, out, n, NULL);
}

static int status_of(const char *s)
{
	char out[4096];
	return parse_one(s, out, sizeof(out));
}

static const char pipeline[] =
	"GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: h\r\nUser-Agent:  t  \r\n\r\n"
	"POST /post HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
	"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Sum: abc\r\nX-Two:2\r\n\r\n"
	"GET /last HTTP/1.0\n\n";

static const char pipeline_want[] =
	"GET /a/b?x=1&y=%20 [/a/b] [?x=1&y=%20] 1.1 ka=1 h=2 body=|"
	"POST /post [/post] [] 1.1 ka=1 h=2 body=hello|"
	"PUT /c [/c] [] 1.1 ka=1 h=2 body=Wikipedia T:X-Sum=abc T:X-Two=2|"
	"GET /last [/last] [] 1.0 ka=0 h=0 body=";

static void test_splits(void)
{
	char out[8192];
	size_t len = strlen(pipeline);
	int all = 1;

	is_int(parse_stream(pipeline, len, NULL, 0, out, sizeof(out), NULL), 0, "a pipelined stream parses");
	is_str(out, pipeline_want, "four pipelined requests, in order, with bodies and trailers");
	for (size_t cut = 1; cut < len; cut++) {
		size_t cuts[1] = { cut };
		if (parse_stream(pipeline, len, cuts, 1, out, sizeof(out), NULL) || strcmp(out, pipeline_want)) {
			all = 0;
			printf("# cut at %zu: %s\n", cut, out);
			break;
		}
	}
	ok(all, "the stream cut in two at every byte gives the same requests");
	{
		size_t *cuts = malloc(len * sizeof(*cuts));
		for (size_t i = 0; i < len; i++)
			cuts[i] = i + 1;
		parse_stream(pipeline, len, cuts, len, out, sizeof(out), NULL);
		is_str(out, pipeline_want, "fed one byte at a time");
		free(cuts);
	}
}

static void test_pipelining_consumed(void)
{
	struct http_parser p;
	const char *two = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t used;

	http_parser_init(&p, NULL);
	is_int(http_parser_feed(&p, two, strlen(two), &used), HTTP_PARSE_DONE, "first of two is complete");
	is_int((int)used, (int)(strlen(two) / 2), "consumed stops at the end of the first request");
	is_int(http_parser_feed(&p, two + used, strlen(two) - used, &used), HTTP_PARSE_DONE,
	       "feeding again before reset repeats DONE");
	is_int((int)used, 0, "and consumes nothing");
	http_parser_reset(&p);
	is_int(http_parser_feed(&p, two + strlen(two) / 2, strlen(two) / 2, &used), HTTP_PARSE_DONE,
	       "after reset the leftover is the second request");
	is_str(p.parsed.path, "/2", "with its own path");
	http_parser_free(&p);
}

static void test_fields(void)
{
	struct http_parser p;
	const char *req = "\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\nX-A: \t a b \t\r\nx-a: 2\r\nEmpty:\r\n\r\n";
	size_t used;

	http_parser_init(&p, NULL);
	is_int(http_parser_feed(&p, req, strlen(req), &used), HTTP_PARSE_DONE,
	       "leading CRLF ignored, OPTIONS * accepted");
	is_str(p.parsed.path, "*", "asterisk-form path");
	const struct http_header *h = http_header_find(p.parsed.headers, p.parsed.n_headers, "x-a");
	ok(h && strcmp(h->value, "a b") == 0 && h->value_len == 3, "OWS trimmed on both sides, inner kept");
	h = http_header_find(p.parsed.headers, p.parsed.n_headers, "empty");
	ok(h && h->value[0] == '\0', "an empty value is kept");
	is_int((int)p.parsed.n_headers, 4, "repeated names are kept as separate fields");
	http_parser_free(&p);

	char out[1024];
	is_int(parse_one("GET http://Example.com:8080/p/q?z=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", out,
			 sizeof(out)), 0, "absolute-form accepted");
	ok(strstr(out, "[/p/q] [?z=1]") != NULL, "absolute-form path and query split from the authority");
	parse_one("GET https://h HTTP/1.1\r\nHost: h\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "[/] []") != NULL, "absolute-form without path means /");
	parse_one("GET /x? HTTP/1.1\r\nHost: h\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "[/x] [?]") != NULL, "an empty query is distinguished from none");
}

static void test_keep_alive(void)
{
	char out[1024];

	parse_one("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "ka=0"), "1.1 with Connection: close does not keep alive");
	parse_one("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "ka=0"), "close found in a Connection list, any case");
	parse_one("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "ka=1"), "1.0 with Connection: keep-alive keeps alive");
	parse_one("GET / HTTP/1.0\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "ka=0"), "1.0 closes by default");
	parse_one("GET / HTTP/1.1\r\nHost: h\r\n\r\n", out, sizeof(out));
	ok(strstr(out, "ka=1"), "1.1 keeps alive by default");
}

static void test_expect(void)
{
	struct http_parser p;
	const char *head = "PUT /u HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
	size_t used;

	http_parser_init(&p, NULL);
	is_int(http_parser_feed(&p, head, strlen(head), &used), HTTP_PARSE_HEAD, "HEAD event before a body");
	ok(p.parsed.expect_continue, "Expect: 100-continue is reported");
	ok(http_parser_in_body(&p), "the parser waits for the body");
	is_int(http_parser_feed(&p, "abcdef", 6, &used), HTTP_PARSE_DONE, "body completes the request");
	is_int((int)used, 3, "only Content-Length bytes are consumed");
	http_parser_free(&p);
	is_int(status_of("PUT /u HTTP/1.1\r\nHost: h\r\nExpect: later\r\nContent-Length: 1\r\n\r\nx"), 417,
	       "another Expect value is 417");
	char out[1024];
	is_int(parse_one("GET /u HTTP/1.0\r\nExpect: later\r\n\r\n", out, sizeof(out)), 0,
	       "Expect is ignored in HTTP/1.0");
}

static void test_limits(void)
{
	struct http_limits lim;
	char out[4096], big[8192];

	http_limits_default(&lim);
	lim.max_head = 256;
	lim.max_headers = 3;
	lim.max_body = 10;
	snprintf(big, sizeof(big), "GET /%0300d HTTP/1.1\r\nHost: h\r\n\r\n", 0);
	is_int(parse_stream(big, strlen(big), NULL, 0, out, sizeof(out), &lim), 414,
	       "a request line past the head cap is 414");
	snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: h\r\nX: %0300d\r\n\r\n", 0);
	is_int(parse_stream(big, strlen(big), NULL, 0, out, sizeof(out), &lim), 431,
	       "a header section past the head cap is 431");
	const char *many = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	is_int(parse_stream(many, strlen(many), NULL, 0, out, sizeof(out), &lim), 431,
	       "more header fields than the cap is 431");
	const char *cl = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n";
	is_int(parse_stream(cl, strlen(cl), NULL, 0, out, sizeof(out), &lim), 413,
	       "Content-Length over the body cap is 413 before any body byte");
	const char *ch = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n";
	is_int(parse_stream(ch, strlen(ch), NULL, 0, out, sizeof(out), &lim), 413,
	       "chunks adding up past the body cap are 413");
	const char *huge = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n";
	is_int(parse_stream(huge, strlen(huge), NULL, 0, out, sizeof(out), &lim), 413,
	       "a chunk size that overflows is 413");
	const char *ok10 = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
	is_int(parse_stream(ok10, strlen(ok10), NULL, 0, out, sizeof(out), &lim), 0, "a body at the cap is accepted");
	static char longchunk[8192];
	memset(longchunk, 0, sizeof(longchunk));
	snprintf(longchunk, sizeof(longchunk), "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;");
	memset(longchunk + strlen(longchunk), 'e', 5000);
	is_int(status_of(longchunk), 400, "a chunk-size line past its cap is 400");
}

static void test_rejections(void)
{
	static const struct {
		const char *req;
		int status;
		const char *name;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold" },
		{ "GET / HTTP/1.1\r\nHost: h\r\nX : a\r\n\r\n", 400, "space before colon" },
		{ "GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n", 400, "empty field name" },
		{ "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400, "line without colon" },
		{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400, "control character in value" },
		{ "GET / HTTP/1.1\r\nHost: h\r\nX: a\rz\r\n\r\n", 400, "bare CR in value" },
		{ "GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host" },
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host fields" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
		  "Content-Length and Transfer-Encoding" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", 400, "Content-Length with a sign" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n", 400, "Content-Length list" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
		  "Content-Length fields disagree" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400,
		  "Content-Length too long" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "unknown transfer coding" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
		  "coding list with chunked" },
		{ "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "HTTP/2.0" },
		{ "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400, "trailing space after version" },
		{ "GET / FOO\r\nHost: h\r\n\r\n", 400, "garbage version" },
		{ "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "two spaces after method" },
		{ "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "method not a token" },
		{ "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 501, "CONNECT" },
		{ "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400, "asterisk-form with GET" },
		{ "GET h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "authority-form with GET" },
		{ "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "absolute-form with another scheme" },
		{ "GET http:/// HTTP/1.1\r\nHost: h\r\n\r\n", 400, "absolute-form without authority" },
		{ "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400, "DEL in target" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "chunk-size not hex" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\n", 400,
		  "junk after chunk-size" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 400,
		  "chunk data without CRLF" },
		{ "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: x\r\n\r\n", 400,
		  "malformed trailer" },
		{ "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400,
		  "too many leading empty lines" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_parser p;
		size_t used;
		http_parser_init(&p, NULL);
		enum http_parse_event e = http_parser_feed(&p, cases[i].req, strlen(cases[i].req), &used);
		if (e == HTTP_PARSE_HEAD)
			e = http_parser_feed(&p, cases[i].req + used, strlen(cases[i].req) - used, &used);
		ok(e == HTTP_PARSE_ERROR && p.status == cases[i].status && p.reason && !strchr(p.reason, '\n'),
		   "%s: %d (%s)", cases[i].name, cases[i].status, p.reason ? p.reason : "accepted");
		http_parser_free(&p);
	}
}

static void test_chunked_details(void)
{
	char out[1024];

	is_int(parse_one("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
			 "A ; name=\"v\"\n0123456789\n0\n\n", out, sizeof(out)), 0,
	       "chunked with BWS, quoted extension and bare LF line ends");
	ok(strstr(out, "body=0123456789") != NULL, "the decoded body is the chunk data");
	is_int(parse_one("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", out,
			 sizeof(out)), 0, "repeated Content-Length that agree are accepted");
	is_int(parse_one("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", out, sizeof(out)), 0,
	       "Content-Length: 0 completes at once");
}


/* Parse the head of raw, then stream its body through http_parser_feed_body
 * in input pieces of in_step bytes and output buffers of out_cap bytes,
 * collecting the body in out. Returns the last event; *left says how much
 * input was not consumed, *calls how many calls produced bytes. */
static enum http_parse_event stream_body(struct http_parser *p, const char *raw, size_t in_step, size_t out_cap,
					 char *out, size_t out_n, size_t *out_len, size_t *left)
{
	size_t len = strlen(raw), off = 0, used, got;
	enum http_parse_event e = http_parser_feed(p, raw, len, &used);
	char sink[64];

	*out_len = 0;
	off = used;
	if (e != HTTP_PARSE_HEAD) {
		*left = len - off;
		return e;
	}
	e = HTTP_PARSE_AGAIN;
	while (e == HTTP_PARSE_AGAIN && off < len) {
		size_t piece = len - off < in_step ? len - off : in_step;
		size_t poff = 0;
		do {
			e = http_parser_feed_body(p, raw + off + poff, piece - poff, &used, sink, out_cap, &got);
			poff += used;
			if (got > out_cap || *out_len + got > out_n)
				return HTTP_PARSE_ERROR; /* the sink overflowed: fail the check */
			memcpy(out + *out_len, sink, got);
			*out_len += got;
		} while (e == HTTP_PARSE_AGAIN && poff < piece && got > 0);
		off += poff;
		if (e == HTTP_PARSE_AGAIN && poff < piece)
			return HTTP_PARSE_ERROR; /* stuck: no progress */
	}
	*left = len - off;
	return e;
}

static void test_streaming(void)
{
	static const char chunked[] = "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "4;ext=1\r\nWiki\r\n5\r\npedia\r\n10\r\n in\r\n\r\n chunks!!\r\n0\r\n"
				      "X-Sum: abc\r\nX-Two:2\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char want[] = "Wikipedia in\r\n\r\n chunks!!";
	const size_t next_len = strlen("GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	int all = 1;

	for (size_t in_step = 1; in_step <= sizeof(chunked); in_step += in_step < 8 ? 1 : 13) {
		for (size_t cap = 1; cap <= 9; cap += 4) {
			struct http_parser p;
			char out[128];
			size_t out_len, left, blen;
			http_parser_init(&p, NULL);
			enum http_parse_event e = stream_body(&p, chunked, in_step, cap, out, sizeof(out), &out_len, &left);
			(void)http_parser_body(&p, &blen);
			if (e != HTTP_PARSE_DONE || out_len != strlen(want) || memcmp(out, want, out_len) != 0 ||
			    left != next_len || p.parsed.n_trailers != 2 || strcmp(p.parsed.trailers[1].value, "2") != 0 ||
			    blen != 0 || http_parser_body_total(&p) != strlen(want)) {
				printf("# in_step %zu cap %zu: event %d, %zu bytes, %zu left, %zu trailers\n", in_step, cap,
				       (int)e, out_len, left, p.parsed.n_trailers);
				all = 0;
			}
			http_parser_free(&p);
		}
	}
	ok(all, "a chunked body streams whole through 1..9-byte buffers at any input split, trailers after it, "
		"the pipelined request left over, nothing buffered");

	struct http_parser p;
	char out[64];
	size_t out_len, left;
	http_parser_init(&p, NULL);
	enum http_parse_event e = stream_body(&p, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /",
					      3, 2, out, sizeof(out), &out_len, &left);
	ok(e == HTTP_PARSE_DONE && out_len == 5 && memcmp(out, "hello", 5) == 0 && left == 5,
	   "a Content-Length body streams and ends at its length");
	http_parser_reset(&p);
	size_t used, got;
	e = http_parser_feed_body(&p, "x", 1, &used, out, sizeof(out), &got);
	ok(e == HTTP_PARSE_ERROR && p.status == 500, "streaming before the head is a (server) error, not a crash");
	http_parser_free(&p);

	struct http_limits lim;
	http_limits_default(&lim);
	lim.max_body = 10;
	http_parser_init(&p, &lim);
	e = stream_body(&p, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n",
			4, 4, out, sizeof(out), &out_len, &left);
	ok(e == HTTP_PARSE_ERROR && p.status == 413 && out_len == 6,
	   "streamed chunks past max_body are 413 (after the 6 bytes under the cap)");
	http_parser_free(&p);
	http_parser_init(&p, NULL);
	e = stream_body(&p, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 64, 64, out,
			sizeof(out), &out_len, &left);
	ok(e == HTTP_PARSE_ERROR && p.status == 400, "malformed framing while streaming is 400");
	http_parser_free(&p);
}

static void test_discard(void)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET /";
	struct http_parser p;
	char out[16];
	size_t used, got, blen, off;

	http_parser_init(&p, NULL);
	enum http_parse_event e = http_parser_feed(&p, req, strlen(req), &used);
	off = used;
	e = http_parser_feed_body(&p, req + off, 9, &used, out, 3, &got);
	off += used;
	ok(e == HTTP_PARSE_AGAIN && got == 3 && memcmp(out, "hel", 3) == 0, "a handler reads 3 bytes");
	http_parser_discard_body(&p, 8);
	ok(http_parser_discarding(&p), "then the rest is discarded");
	e = http_parser_feed(&p, req + off, strlen(req) - off, &used);
	(void)http_parser_body(&p, &blen);
	ok(e == HTTP_PARSE_DONE && strlen(req) - off - used == 5 && blen == 0 && http_parser_body_total(&p) == 11,
	   "discarding runs to the end of the body, stores nothing, leaves the next request");
	http_parser_free(&p);

	http_parser_init(&p, NULL);
	e = http_parser_feed(&p, req, strlen(req), &used);
	http_parser_discard_body(&p, 10);
	e = http_parser_feed(&p, req + used, strlen(req) - used, &used);
	ok(e == HTTP_PARSE_ERROR && p.status == 413, "more than the discard budget is 413");
	http_parser_reset(&p);
	ok(!http_parser_discarding(&p), "reset ends discard mode");
	http_parser_free(&p);
}

int main(void)
{
	test_splits();
	test_pipelining_consumed();
	test_fields();
	test_keep_alive();
	test_expect();
	test_limits();
	test_rejections();
	test_chunked_details();
	test_streaming();
	test_discard();
	return tap_done();
}
