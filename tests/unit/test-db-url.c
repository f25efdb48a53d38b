/* Database URLs (shim-bridge/wasi/db-url.c) and what fermyon:spin/mysql
 * reads from them (mysql-conn.c: ssl-mode, Spin's pool settings, the
 * column types): what is accepted, and what is refused with which words. */
#include <errno.h>
#include <mysql.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/wasi/db-url.h"
#include "shim-bridge/wasi/mysql-conn.h"
#include "tap.h"

static bool same(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

static void good(const char *url, const char *host, unsigned port, const char *user, const char *pass,
                 const char *db)
{
	struct wh_db_url u = {0};
	struct sk_error err = {0};
	int r = wh_db_url_parse(url, strlen(url), "mysql", 3306, &u, &err);

	ok(r == 0 && same(u.host, host) && u.port == port && same(u.user, user) && same(u.password, pass) &&
	       same(u.database, db),
	   "%s: host %s port %u user %s password %s db %s (%s)", url, u.host ? u.host : "-", u.port,
	   u.user ? u.user : "none", u.password ? u.password : "none", u.database ? u.database : "none",
	   err.message);
	wh_db_url_clear(&u);
}

static void bad(const char *url, const char *want)
{
	struct wh_db_url u = {0};
	struct sk_error err = {0};
	int r = wh_db_url_parse(url, strlen(url), "mysql", 3306, &u, &err);

	ok(r == -EINVAL && strstr(err.message, want) && !strstr(err.message, "hunter2") && u.host == NULL,
	   "%.60s: %d, %s", url, r, err.message);
	wh_db_url_clear(&u);
}

static void tls(const char *url, int want_r, bool want_tls, const char *want)
{
	struct wh_mysql_url m = {0};
	struct sk_error err = {0};
	int r = wh_mysql_url_parse(url, strlen(url), &m, &err);

	ok(r == want_r && (r < 0 || m.tls == want_tls) && (!want || strstr(err.message, want)),
	   "%s: %d tls %d (%s)", url, r, m.tls, err.message);
	wh_mysql_url_clear(&m);
}

int main(void)
{
	char *big;

	good("mysql://127.0.0.1", "127.0.0.1", 3306, NULL, NULL, NULL);
	good("MySQL://h/", "h", 3306, NULL, NULL, NULL);
	good("mysql://db.internal:3307/app", "db.internal", 3307, NULL, NULL, "app");
	good("mysql://root@h/db", "h", 3306, "root", NULL, "db");
	good("mysql://root:hunter2@h:1/db", "h", 1, "root", "hunter2", "db");
	good("mysql://root:@h", "h", 3306, "root", "", NULL);
	good("mysql://:hunter2@h", "h", 3306, NULL, "hunter2", NULL);
	good("mysql://al%40ce:p%3Aw%2F@h/my%20db", "h", 3306, "al@ce", "p:w/", "my db");
	good("mysql://u:p@ss@h", "h", 3306, "u", "p@ss", NULL); /* the last @ ends the password */
	good("mysql://u:a+b@h", "h", 3306, "u", "a+b", NULL);   /* '+' is a plus */
	good("mysql://[::1]:7000/d", "::1", 7000, NULL, NULL, "d");
	good("mysql://[fd00::1.2.3.4]", "fd00::1.2.3.4", 3306, NULL, NULL, NULL);
	good("mysql://h:65535/d?", "h", 65535, NULL, NULL, "d");

	bad("postgres://h", "must start with mysql://");
	bad("mysql:/h", "must start with mysql://");
	bad("mysql://", "names no host");
	bad("mysql://:3306", "names no host");
	bad("mysql://root:hunter2@/db", "names no host");
	bad("mysql://h:0", "port must be a number from 1 to 65535");
	bad("mysql://h:65536", "port must be a number from 1 to 65535");
	bad("mysql://h:", "port must be");
	bad("mysql://h:33060000", "port must be");
	bad("mysql://root:hunter2@h:x/db", "port must be");
	bad("mysql://root:hunter2@h:1:2", "port must be");
	bad("mysql://h/db#x", "fragment");
	bad("mysql://[::1", "closing ']'");
	bad("mysql://[fe80::1%25eth0]", "no zone");
	bad("mysql://[]", "no IPv6 address");
	bad("mysql://[h]", "holds 0x68");
	bad("mysql://root:hunter2@h%20x", "unexpected character 0x25");
	bad("mysql://ro%zzt:hunter2@h", "bad %-escape");
	bad("mysql://root:hunter2%@h", "bad %-escape");
	bad("mysql://root:hunter2%4@h", "bad %-escape");
	bad("mysql://root:hun%00ter2@h", "a NUL");
	bad("mysql://h/d%2", "database name has a bad %-escape");
	bad("mysql://h/d?=v", "has no name");
	bad("mysql://h/d?k=%zz", "value of a query parameter has a bad");
	bad("mysql://h/d?a&b&c&d&e&f&g&h&i&j&k&l&m&n&o&p&q", "more than 16 parameters");

	/* caps: the URL, the host, a part */
	big = malloc(WH_DB_URL_MAX + 64);
	memcpy(big, "mysql://", 8);
	memset(big + 8, 'h', WH_DB_URL_HOST_MAX);
	big[8 + WH_DB_URL_HOST_MAX] = '\0';
	good(big, big + 8, 3306, NULL, NULL, NULL);
	big[8 + WH_DB_URL_HOST_MAX] = 'h';
	big[9 + WH_DB_URL_HOST_MAX] = '\0';
	bad(big, "host is longer than 253 bytes");
	memcpy(big, "mysql://h/", 10);
	memset(big + 10, 'd', WH_DB_URL_PART_MAX);
	big[10 + WH_DB_URL_PART_MAX] = '\0';
	{
		struct wh_db_url u = {0};
		ok(wh_db_url_parse(big, strlen(big), "mysql", 3306, &u, NULL) == 0 && u.database &&
		       strlen(u.database) == WH_DB_URL_PART_MAX,
		   "a database name of %d bytes (the cap)", WH_DB_URL_PART_MAX);
		wh_db_url_clear(&u);
	}
	big[10 + WH_DB_URL_PART_MAX] = 'd';
	big[11 + WH_DB_URL_PART_MAX] = '\0';
	bad(big, "database name has a bad %-escape, a NUL or is longer than 512 bytes");
	memset(big + 10, 'd', WH_DB_URL_MAX - 10);
	big[WH_DB_URL_MAX] = '\0';
	{
		struct wh_db_url u = {0};
		struct sk_error err = {0};
		ok(wh_db_url_parse(big, WH_DB_URL_MAX, "mysql", 3306, &u, &err) == -EINVAL &&
		       strstr(err.message, "database name"),
		   "a URL of %d bytes reaches the part caps (%s)", WH_DB_URL_MAX, err.message);
		wh_db_url_clear(&u);
	}
	big[WH_DB_URL_MAX] = 'd';
	big[WH_DB_URL_MAX + 1] = '\0';
	bad(big, "longer than 4096 bytes");
	free(big);
	{
		struct wh_db_url u = {0};
		ok(wh_db_url_parse("mysql://h\0x", 11, "mysql", 3306, &u, NULL) == -EINVAL && !u.host,
		   "a NUL inside the given length is refused");
	}

	/* the query */
	{
		struct wh_db_url u = {0};
		const char *url = "mysql://h/d?a=1&&b&c=x%26y=z";
		int r = wh_db_url_parse(url, strlen(url), "mysql", 3306, &u, NULL);
		ok(r == 0 && u.n_params == 3 && same(u.params[0].key, "a") && same(u.params[0].value, "1") &&
		       same(u.params[1].key, "b") && same(u.params[1].value, "") &&
		       same(u.params[2].key, "c") && same(u.params[2].value, "x&y=z"),
		   "query pairs decoded, empty ones skipped, a bare key has an empty value");
		wh_db_url_clear(&u);
	}

	/* what fermyon:spin/mysql reads: TLS as Spin's client asks for it */
	tls("mysql://h/d", 0, false, NULL);
	tls("mysql://h/d?ssl-mode=REQUIRED", 0, true, NULL);
	tls("mysql://h/d?sslMode=VERIFY_CA", 0, true, NULL);
	tls("mysql://h/d?SsLmOdE=verify_identity&pool_max=10", 0, true, NULL);
	tls("mysql://h/d?ssl-mode=DISABLED", 0, false, NULL);
	tls("mysql://h/d?sslmode=disabled", 0, false, NULL);
	tls("mysql://h/d?ssl-mode=PREFERRED", 0, true, NULL);
	tls("mysql://h/d?pool_min=1&conn_ttl=5&tcp_keepalive=1000&prefer_socket=true", 0, false, NULL);
	tls("mysql://h/d?socket=/run/mysqld/mysqld.sock", -EINVAL, false, "the address sets socket");
	tls("mysql://h/d?require_ssl=true", -EINVAL, false,
	    "sets require_ssl, which spin-bridge does not read");
	tls("redis://h", -EINVAL, false, "must start with mysql://");

	/* result column types */
	is_int(wh_mysql_column_type(MYSQL_TYPE_TINY, 0, 63), WH_DB_INT8, "TINYINT: int8");
	is_int(wh_mysql_column_type(MYSQL_TYPE_TINY, UNSIGNED_FLAG, 63), WH_DB_UINT8,
	       "TINYINT UNSIGNED: uint8");
	is_int(wh_mysql_column_type(MYSQL_TYPE_SHORT, 0, 63), WH_DB_INT16, "SMALLINT: int16");
	is_int(wh_mysql_column_type(MYSQL_TYPE_SHORT, UNSIGNED_FLAG, 63), WH_DB_UINT16,
	       "... UNSIGNED: uint16");
	is_int(wh_mysql_column_type(MYSQL_TYPE_INT24, 0, 63), WH_DB_INT32, "MEDIUMINT: int32");
	is_int(wh_mysql_column_type(MYSQL_TYPE_LONG, UNSIGNED_FLAG, 63), WH_DB_UINT32,
	       "INT UNSIGNED: uint32");
	is_int(wh_mysql_column_type(MYSQL_TYPE_LONGLONG, 0, 63), WH_DB_INT64, "BIGINT: int64");
	is_int(wh_mysql_column_type(MYSQL_TYPE_LONGLONG, UNSIGNED_FLAG, 63), WH_DB_UINT64,
	       "... UNSIGNED: uint64");
	is_int(wh_mysql_column_type(MYSQL_TYPE_FLOAT, 0, 63), WH_DB_FLOAT32, "FLOAT: floating32");
	is_int(wh_mysql_column_type(MYSQL_TYPE_DOUBLE, 0, 63), WH_DB_FLOAT64, "DOUBLE: floating64");
	is_int(wh_mysql_column_type(MYSQL_TYPE_VAR_STRING, 0, 45), WH_DB_STR, "VARCHAR in utf8mb4: str");
	is_int(wh_mysql_column_type(MYSQL_TYPE_VAR_STRING, BINARY_FLAG, 46), WH_DB_STR,
	       "VARCHAR with a _bin collation: still str");
	is_int(wh_mysql_column_type(MYSQL_TYPE_VAR_STRING, BINARY_FLAG, 63), WH_DB_BINARY,
	       "VARBINARY: binary");
	is_int(wh_mysql_column_type(MYSQL_TYPE_STRING, 0, 63), WH_DB_BINARY, "BINARY: binary");
	is_int(wh_mysql_column_type(MYSQL_TYPE_BLOB, 0, 45), WH_DB_STR, "TEXT: str");
	is_int(wh_mysql_column_type(MYSQL_TYPE_BLOB, BLOB_FLAG | BINARY_FLAG, 63), WH_DB_BINARY,
	       "BLOB: binary");
	is_int(wh_mysql_column_type(MYSQL_TYPE_LONG_BLOB, 0, 45), WH_DB_STR, "LONGTEXT: str");
	is_int(wh_mysql_column_type(MYSQL_TYPE_NEWDECIMAL, 0, 63), WH_DB_OTHER, "DECIMAL: other");
	is_int(wh_mysql_column_type(MYSQL_TYPE_DATE, 0, 63), WH_DB_OTHER, "DATE: other");
	is_int(wh_mysql_column_type(MYSQL_TYPE_DATETIME, 0, 63), WH_DB_OTHER, "DATETIME: other");
	is_int(wh_mysql_column_type(MYSQL_TYPE_BIT, 0, 63), WH_DB_OTHER, "BIT: other");
	is_int(wh_mysql_column_type(MYSQL_TYPE_NULL, 0, 63), WH_DB_OTHER, "NULL: other");
	return tap_done();
}
