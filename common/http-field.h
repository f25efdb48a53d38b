/* HTTP field (header) rules, one home for every side that reads or writes
 * them: spin-bridge's request parser and response writer, the wasi:http
 * fields resource, the inbound-http handler and the outbound client.
 *
 * Names are tokens (RFC 9110 section 5.6.2) of at most SK_HTTP_NAME_MAX
 * bytes; values hold no CR, LF or NUL (RFC 9110 section 5.5). Callers keep
 * their own caps on the number of fields and their total size.
 *
 * The server-owned table says which fields a guest never sets, by class:
 * hop-by-hop fields (connection management, RFC 9110 section 7.6.1, plus
 * HTTP/2's settings), message framing (the server computes the length and
 * the transfer coding), and request-side expectations. */
#ifndef SPINKUBE_COMMON_HTTP_FIELD_H
#define SPINKUBE_COMMON_HTTP_FIELD_H

#include <stdbool.h>
#include <stddef.h>

#define SK_HTTP_NAME_MAX 1024

/* Is c a tchar? */
bool sk_http_tchar(unsigned char c);

/* Is s[0..n) a field name: 1..SK_HTTP_NAME_MAX tchars? */
bool sk_http_token(const char *s, size_t n);

/* May v[0..n) be a field value: no CR, LF or NUL? (What a guest may put
 * in a field; the line framing is what must be protected.) */
bool sk_http_value_ok(const void *v, size_t n);

/* Is v[0..n) a field value as RFC 9110 writes it: visible characters,
 * spaces, tabs and obs-text, no other control character and no DEL? (What
 * we accept from the wire and from WAGI output.) */
bool sk_http_value_strict(const void *v, size_t n);

enum {
	SK_HTTP_HOP_BY_HOP = 1 << 0, /* connection, keep-alive, proxy-connection, te, transfer-encoding, upgrade, http2-settings */
	SK_HTTP_FRAMING = 1 << 1,    /* content-length, transfer-encoding */
	SK_HTTP_EXPECT = 1 << 2,     /* expect: the client side sends the body when it will */
};

/* The classes of the server-owned table name[0..n) belongs to (any case),
 * 0 when the name is not in it. */
unsigned sk_http_owned(const char *name, size_t n);

#endif
