/* What the inbound-http test guests share: a growable byte buffer and one
 * call that fills in the response. Everything a handler returns must be on the
 * heap: the bindings' post-return function frees it after the host has read
 * it. Header-only so that each guest stays one file. */
#ifndef GUESTS_GUEST_H
#define GUESTS_GUEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inbound_http_guest.h"

/* tests/guests/build puts the component type in with wasm-tools component
 * embed rather than linking the object file wit-bindgen can write; the
 * bindings still name the symbol that object defines, to force it in. */
__attribute__((weak)) void __component_type_object_force_link_inbound_http_guest(void)
{
}

typedef exports_fermyon_spin_inbound_http_request_t request_t;
typedef exports_fermyon_spin_inbound_http_response_t response_t;

struct buf {
	uint8_t *p;
	size_t len, cap;
};

/* A guest has no way to report running out of memory but to trap. */
static inline void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		__builtin_trap();
	return p;
}

static inline void buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

__attribute__((format(printf, 2, 3))) static inline void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		__builtin_trap();
	buf_add(b, NULL, 0);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = b->len + (size_t)n + 1;
		b->p = xrealloc(b->p, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* respond fills RET: STATUS, the headers given as NAME, VALUE, ..., NULL
 * (no headers at all, i.e. none, when HEADERS is NULL), and BODY, whose bytes
 * it takes over (none when BODY is NULL). */
static inline void respond(response_t *ret, uint16_t status, const char *const *headers, struct buf *body)
{
	memset(ret, 0, sizeof(*ret));
	ret->status = status;
	if (headers) {
		size_t n = 0;
		while (headers[2 * n])
			n++;
		ret->headers.is_some = true;
		ret->headers.val.len = n;
		ret->headers.val.ptr = xrealloc(NULL, n * sizeof(*ret->headers.val.ptr));
		for (size_t i = 0; i < n; i++) {
			inbound_http_guest_string_dup(&ret->headers.val.ptr[i].f0, headers[2 * i]);
			inbound_http_guest_string_dup(&ret->headers.val.ptr[i].f1, headers[2 * i + 1]);
		}
	}
	if (body) {
		ret->body.is_some = true;
		ret->body.val.ptr = body->p ? body->p : xrealloc(NULL, 1);
		ret->body.val.len = body->len;
		*body = (struct buf){0};
	}
}

#endif
