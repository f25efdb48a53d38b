/* MySQL and MariaDB servers through libmariadb, for fermyon:spin/mysql
 * (outbound-mysql.c): the address a guest opens, one connection, and a
 * statement run with the rdbms-types parameters into a row set.
 *
 * Addresses are db-url.h's mysql://[user[:password]@]host[:port][/db]
 * (port 3306), with Spin's way of asking for TLS: a query parameter
 * ssl-mode (or sslmode; the name without case) whose value is anything but
 * DISABLED turns TLS on, with the server's certificate verified against the
 * component's CA bundle (wh_outbound_ca_file: its pod's in the shim's
 * shared mode, else the PEM file in SPIN_OUTBOUND_CA_FILE, else the
 * system's, as for outbound HTTPS) and its name checked against the host. Spin's mysql
 * client takes every other value as "TLS on, verified", so REQUIRED and
 * VERIFY_CA do so here too. The pool and keep-alive settings Spin's client
 * reads are accepted and ignored (each open here is one connection); any
 * other parameter (socket among them) is refused.
 *
 * A connection speaks TCP only (never the local socket "localhost" means
 * to libmariadb), in utf8mb4, with LOAD DATA LOCAL refused, no option
 * files, and only the password authentication plugins (no cleartext
 * password, no PAM dialog). Timeouts: WH_MYSQL_CONNECT_TIMEOUT_S to connect
 * and greet; each statement WH_MYSQL_STATEMENT_TIMEOUT_S on the server
 * (MariaDB's max_statement_time, else MySQL's max_execution_time for
 * SELECTs) and WH_MYSQL_IO_TIMEOUT_S on any read or write. Not
 * thread-safe per connection; any number of connections at once. */
#ifndef SPIN_BRIDGE_WASI_MYSQL_CONN_H
#define SPIN_BRIDGE_WASI_MYSQL_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "shim-bridge/wasi/db-url.h"
#include "shim-bridge/wasi/rdbms.h"

#define WH_MYSQL_PORT                3306
#define WH_MYSQL_CONNECT_TIMEOUT_S   5
#define WH_MYSQL_STATEMENT_TIMEOUT_S 30
#define WH_MYSQL_IO_TIMEOUT_S        35
/* Largest packet libmariadb accepts from the server: a row over this is
 * refused before it is buffered. */
#define WH_MYSQL_PACKET_MAX ((unsigned long)40 << 20)

struct wh_mysql_url {
	struct wh_db_url u; /* host, port, user, password, database (owned) */
	bool tls;
};

/* Parse a guest's address url[0..n) into *out (clear with
 * wh_mysql_url_clear). 0, -EINVAL (err says why, never quoting the user
 * or password) or -ENOMEM. */
int wh_mysql_url_parse(const char *url, size_t n, struct wh_mysql_url *out, struct sk_error *err);
void wh_mysql_url_clear(struct wh_mysql_url *u);

/* The db-data-type of a result column of libmariadb type type (enum
 * enum_field_types), flags (UNSIGNED_FLAG...) and character set charsetnr
 * (63: binary): TINY, SHORT, INT24/LONG, LONGLONG as int8..int64 or
 * uint8..uint64; FLOAT and DOUBLE as floating32/64; the string and blob
 * types as binary in the binary character set, else str; anything else
 * (DECIMAL, dates and times, BIT, JSON, geometry...) other, whose values
 * are unsupported. */
enum wh_db_kind wh_mysql_column_type(int type, unsigned flags, unsigned charsetnr);

struct wh_mysql;

/* Connect to u (nothing checks u against an allow-list here: the caller
 * does), TLS verified against ca_file (NULL: the system's bundle), and set
 * the statement timeout. *out new (close with wh_mysql_close); on failure
 * connection-failed, the message starting with mysql://host:port. */
int wh_mysql_connect(const struct wh_mysql_url *u, const char *ca_file, struct wh_mysql **out,
                     struct wh_db_fail *f);
void wh_mysql_close(struct wh_mysql *c);

/* Run sql[0..n) as a prepared statement with the parameters p. With
 * rowset set (query), the first result set becomes *rowset (a row-set
 * value; no columns and no rows when the statement returns none); else
 * (execute) results are read and dropped. Rows are fetched one at a time,
 * each checked against rdbms.h's caps before the next is read. Failures:
 * the server's errors as query-failed ("ERRNO (SQLSTATE): message"), a
 * lost connection as connection-failed, a parameter count other than the
 * statement's placeholders as bad-parameter, caps as rdbms.h says. */
int wh_mysql_run(struct wh_mysql *c, const char *sql, size_t n, const struct wh_db_params *p,
                 wasmtime_component_val_t *rowset, struct wh_db_fail *f);

#endif
