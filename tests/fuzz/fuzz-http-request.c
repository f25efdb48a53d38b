/* libFuzzer target: HTTP/1.1 requests (possibly pipelined) cut into pieces
 * chosen by the input. Parsing the stream whole and in pieces must see the
 * same requests and the same rejection; nothing may pass the caps, and
 * every rejection carries a 4xx/5xx status and a one-line reason. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/http-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 16

struct outcome {
	uint64_t hash; /* over every complete request */
	int requests;
	int status; /* final rejection, 0 when none */
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return (h ^ n) * 1099511628211ull;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	if (!s)
		abort();
	return mix(h, s, strlen(s));
}

/* Check a complete request against the caps and fold it into the hash. */
static uint64_t account(const struct http_parser *p, uint64_t h)
{
	const struct http_parsed *r = &p->parsed;
	size_t blen;
	const char *body = http_parser_body(p, &blen);

	if (blen > p->limits.max_body || r->n_headers > p->limits.max_headers ||
	    r->n_trailers > p->limits.max_headers || (r->version_minor != 0 && r->version_minor != 1))
		abort();
	h = mix_str(mix_str(mix_str(mix_str(h, r->method), r->target), r->path), r->query);
	for (size_t i = 0; i < r->n_headers; i++)
		h = mix_str(mix_str(h, r->headers[i].name), r->headers[i].value);
	for (size_t i = 0; i < r->n_trailers; i++)
		h = mix_str(mix_str(h, r->trailers[i].name), r->trailers[i].value);
	h = mix(h, &r->keep_alive, sizeof(r->keep_alive));
	return mix(h, body, blen);
}

/* Parse data in pieces of 1..step bytes (step 0: all at once), re-feeding
 * leftovers after each request as the server does. */
static struct outcome run(const uint8_t *data, size_t size, unsigned step, uint32_t seed)
{
	struct http_limits lim = { .max_head = 2048, .max_headers = 16, .max_body = 4096 };
	struct outcome o = { 1469598103934665603ull, 0, 0 };
	struct http_parser p;
	uint8_t *pending = malloc(size + 1);
	size_t plen = 0, off = 0;

	http_parser_init(&p, &lim);
	while (o.requests < MAX_REQUESTS && (off < size || plen)) {
		size_t n = size - off;
		if (step) {
			seed = seed * 1103515245u + 12345u;
			size_t want = 1 + (seed >> 16) % step;
			n = n < want ? n : want;
		}
		memcpy(pending + plen, data + off, n);
		plen += n;
		off += n;
		for (;;) {
			size_t used;
			enum http_parse_event e = http_parser_feed(&p, (const char *)pending, plen, &used);
			if (used > plen)
				abort();
			memmove(pending, pending + used, plen - used);
			plen -= used;
			if (e == HTTP_PARSE_ERROR) {
				if (p.status < 400 || p.status > 505 || !p.reason || strchr(p.reason, '\n'))
					abort();
				o.status = p.status;
				goto out;
			}
			if (e == HTTP_PARSE_DONE) {
				o.hash = account(&p, o.hash);
				o.requests++;
				http_parser_reset(&p);
				if (o.requests == MAX_REQUESTS)
					goto out;
				continue;
			}
			if (e == HTTP_PARSE_HEAD && plen)
				continue;
			break;
		}
		if (off == size)
			break;
	}
out:
	if (p.head.len > lim.max_head || p.trailer.len > lim.max_head)
		abort();
	http_parser_free(&p);
	free(pending);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned step = data[0] % 32 + 1;
	uint32_t seed = data[1];
	struct outcome whole = run(data + 2, size - 2, 0, 0);
	struct outcome split = run(data + 2, size - 2, step, seed);

	if (whole.requests != split.requests || whole.hash != split.hash || whole.status != split.status)
		abort();
	return 0;
}
