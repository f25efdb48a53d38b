/* Database URLs as guests pass them to open (fermyon:spin/mysql's
 * mysql://...): one parser with one set of caps for the outbound database
 * interfaces that read URLs themselves. Pure: no I/O, no state.
 *
 *   scheme://[user[:password]@]host[:port][/database][?key=value&...]
 *
 * host is a DNS name or an IPv4 address (letters, digits, '.', '-', '_'),
 * or an IPv6 address in brackets (no zone); port 1-65535, else the
 * caller's default; user, password, database and the query's keys and
 * values are percent-decoded ('+' is a plus sign, not a space) and may not
 * hold NUL. The password ends at the last '@' before the path, so an
 * unencoded '@' in it still works. No fragment, no unix sockets.
 * Messages never quote the user or the password. (PostgreSQL's
 * addresses are libpq's own syntax and go through libpq's parser, in
 * outbound-pg.c.) */
#ifndef SPIN_BRIDGE_WASI_DB_URL_H
#define SPIN_BRIDGE_WASI_DB_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define WH_DB_URL_MAX        4096 /* bytes of a URL */
#define WH_DB_URL_HOST_MAX   253  /* bytes of the host */
#define WH_DB_URL_PART_MAX   512  /* bytes of the user, password, database, a key or a value, decoded */
#define WH_DB_URL_PARAMS_MAX 16   /* key=value pairs in the query */

struct wh_db_url_param {
	char *key;
	char *value; /* "" for a key with no '=' */
};

/* Every string is owned by the struct (wh_db_url_clear frees it). */
struct wh_db_url {
	char *host; /* IPv6 without brackets */
	unsigned port;
	char *user;     /* NULL: none */
	char *password; /* NULL: none ("user:@h" gives "") */
	char *database; /* NULL: none (nothing or "/" after the host) */
	struct wh_db_url_param params[WH_DB_URL_PARAMS_MAX];
	size_t n_params;
};

/* Parse url[0..n) whose scheme must be scheme (compared without case) into
 * *out (new; clear with wh_db_url_clear), default_port when it names none.
 * 0, -EINVAL (malformed, over a cap; err says which part and the fix,
 * without the user or password) or -ENOMEM. */
int wh_db_url_parse(const char *url, size_t n, const char *scheme, unsigned default_port,
                    struct wh_db_url *out, struct sk_error *err);

/* Free what u holds (the password wiped first) and leave it empty. NULL
 * is fine. */
void wh_db_url_clear(struct wh_db_url *u);

#endif
