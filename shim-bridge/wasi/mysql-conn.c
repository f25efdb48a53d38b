/* MySQL connections through libmariadb (see mysql-conn.h). */
#include "shim-bridge/wasi/mysql-conn.h"

#include <errmsg.h>
#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- addresses -------------------------------------------------------------------------- */

void wh_mysql_url_clear(struct wh_mysql_url *u)
{
	if (!u)
		return;
	wh_db_url_clear(&u->u);
	*u = (struct wh_mysql_url){0};
}

/* URL parameters of Spin's mysql client that only tune its pool or
 * sockets: they mean nothing for one connection of ours. */
static bool ignored_param(const char *k)
{
	static const char *const names[] = {
	    "pool_min",     "pool_max",    "inactive_connection_ttl", "ttl_check_interval", "conn_ttl",
	    "abs_conn_ttl", "tcp_nodelay", "tcp_keepalive",           "stmt_cache_size",    "prefer_socket",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(k, names[i]) == 0)
			return true;
	return false;
}

int wh_mysql_url_parse(const char *url, size_t n, struct wh_mysql_url *out, struct sk_error *err)
{
	struct wh_mysql_url m = {0};
	int r;

	if ((r = wh_db_url_parse(url, n, "mysql", WH_MYSQL_PORT, &m.u, err)) < 0)
		return r;
	for (size_t i = 0; i < m.u.n_params; i++) {
		const struct wh_db_url_param *q = &m.u.params[i];
		if (strcasecmp(q->key, "ssl-mode") == 0 || strcasecmp(q->key, "sslmode") == 0) {
			m.tls = strcasecmp(q->value, "disabled") != 0;
		} else if (!ignored_param(q->key)) {
			(void)sk_err(
			    err, -EINVAL,
			    "the address sets %.64s, which spin-bridge does not read: the parameters are "
			    "ssl-mode (DISABLED, or anything else for TLS) and Spin's pool settings",
			    q->key);
			wh_mysql_url_clear(&m);
			return -EINVAL;
		}
	}
	*out = m;
	return 0;
}

enum wh_db_kind wh_mysql_column_type(int type, unsigned flags, unsigned charsetnr)
{
	bool un = flags & UNSIGNED_FLAG;

	switch (type) {
	case MYSQL_TYPE_TINY:
		return un ? WH_DB_UINT8 : WH_DB_INT8;
	case MYSQL_TYPE_SHORT:
		return un ? WH_DB_UINT16 : WH_DB_INT16;
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
		return un ? WH_DB_UINT32 : WH_DB_INT32;
	case MYSQL_TYPE_LONGLONG:
		return un ? WH_DB_UINT64 : WH_DB_INT64;
	case MYSQL_TYPE_FLOAT:
		return WH_DB_FLOAT32;
	case MYSQL_TYPE_DOUBLE:
		return WH_DB_FLOAT64;
	case MYSQL_TYPE_STRING:
	case MYSQL_TYPE_VAR_STRING:
	case MYSQL_TYPE_VARCHAR:
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_BLOB:
		return charsetnr == 63 ? WH_DB_BINARY : WH_DB_STR;
	default:
		return WH_DB_OTHER;
	}
}

/* --- connections ------------------------------------------------------------------------ */

struct wh_mysql {
	MYSQL *m;
	char what[300]; /* mysql://host:port, for messages */
};

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_rc;

/* libmariadb's global set-up is not thread-safe: once, before any
 * mysql_init (which would otherwise do it on the first call). */
static void library_init(void)
{
	library_rc = mysql_library_init(0, NULL, NULL);
}

void wh_mysql_close(struct wh_mysql *c)
{
	if (!c)
		return;
	if (c->m)
		mysql_close(c->m);
	free(c);
}

/* Is err one of libmariadb's "the connection is gone" codes? */
static bool conn_lost(unsigned e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
	       e == CR_CONN_HOST_ERROR || e == CR_SERVER_LOST_EXTENDED;
}

/* The options every connection gets (see mysql-conn.h). */
static int set_options(MYSQL *m, const struct wh_mysql_url *u, const char *ca_file)
{
	unsigned connect_s = WH_MYSQL_CONNECT_TIMEOUT_S, io_s = WH_MYSQL_IO_TIMEOUT_S;
	unsigned proto = MYSQL_PROTOCOL_TCP, no = 0;
	unsigned long packet = WH_MYSQL_PACKET_MAX;
	my_bool yes = 1;
	int r = 0;

	r |= mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
	r |= mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io_s);
	r |= mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io_s);
	r |= mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &proto);
	r |= mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &no);
	r |= mysql_optionsv(m, MYSQL_OPT_MAX_ALLOWED_PACKET, &packet);
	r |= mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	r |= mysql_optionsv(m, MARIADB_OPT_RESTRICTED_AUTH,
	                    "mysql_native_password,client_ed25519,caching_sha2_password,sha256_password");
	if (u->tls) {
		r |= mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &yes);
		r |= mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
		if (ca_file)
			r |= mysql_optionsv(m, MYSQL_OPT_SSL_CA, ca_file);
	}
	return r ? -EINVAL : 0;
}

/* The statement timeout on the server: MariaDB's variable, else MySQL's
 * (SELECT only); a server with neither runs without (the I/O timeout
 * still bounds each statement). */
static void set_statement_timeout(MYSQL *m)
{
	char q[80];

	(void)snprintf(q, sizeof(q), "SET SESSION max_statement_time=%d", WH_MYSQL_STATEMENT_TIMEOUT_S);
	if (mysql_query(m, q) == 0)
		return;
	(void)snprintf(q, sizeof(q), "SET SESSION max_execution_time=%d",
	               WH_MYSQL_STATEMENT_TIMEOUT_S * 1000);
	(void)mysql_query(m, q);
}

int wh_mysql_connect(const struct wh_mysql_url *u, const char *ca_file, struct wh_mysql **out,
                     struct wh_db_fail *f)
{
	struct wh_mysql *c;
	const bool v6 = strchr(u->u.host, ':') != NULL;

	pthread_once(&library_once, library_init);
	if (library_rc)
		return wh_db_failf(f, "connection-failed", "libmariadb did not initialise");
	if (!(c = calloc(1, sizeof(*c))))
		return wh_db_failf(f, "other", "out of memory");
	(void)snprintf(c->what, sizeof(c->what), "mysql://%s%s%s:%u", v6 ? "[" : "", u->u.host, v6 ? "]" : "",
	               u->u.port);
	if (!(c->m = mysql_init(NULL))) {
		free(c);
		return wh_db_failf(f, "other", "out of memory");
	}
	if (set_options(c->m, u, ca_file) < 0) {
		wh_db_failf(f, "connection-failed", "%s: libmariadb refused an option", c->what);
		wh_mysql_close(c);
		return -1;
	}
	if (!mysql_real_connect(c->m, u->u.host, u->u.user ? u->u.user : "", u->u.password, u->u.database,
	                        u->u.port, NULL, 0)) {
		wh_db_failf(f, "connection-failed", "%s: %s", c->what, mysql_error(c->m));
		wh_mysql_close(c);
		return -1;
	}
	set_statement_timeout(c->m);
	*out = c;
	return 0;
}

/* --- statements ------------------------------------------------------------------------- */

/* f from the statement's error: connection-failed when the server is gone. */
static int stmt_fail(struct wh_mysql *c, MYSQL_STMT *st, struct wh_db_fail *f)
{
	unsigned e = mysql_stmt_errno(st);

	if (conn_lost(e))
		return wh_db_failf(f, "connection-failed", "%s: %s", c->what, mysql_stmt_error(st));
	return wh_db_failf(f, "query-failed", "%u (%s): %s", e, mysql_stmt_sqlstate(st),
	                   mysql_stmt_error(st));
}

_Static_assert(sizeof(bool) == 1, "a bool is bound as a TINY");

/* Bind the parameters; b has p->n slots and borrows p's values. Integers
 * go as LONGLONG (signed or not), as Spin's client sends them, and
 * booleans as the integers 0 and 1 (a TINY). */
static void bind_params(const struct wh_db_params *p, MYSQL_BIND *b)
{
	for (size_t i = 0; i < p->n; i++) {
		struct wh_db_value *v = &p->v[i];
		switch (v->kind) {
		case WH_DB_BOOLEAN:
			b[i].buffer_type = MYSQL_TYPE_TINY;
			b[i].buffer = &v->v.b;
			break;
		case WH_DB_INT8:
		case WH_DB_INT16:
		case WH_DB_INT32:
		case WH_DB_INT64:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &v->v.i;
			break;
		case WH_DB_UINT8:
		case WH_DB_UINT16:
		case WH_DB_UINT32:
		case WH_DB_UINT64:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &v->v.u;
			b[i].is_unsigned = 1;
			break;
		case WH_DB_FLOAT32:
			b[i].buffer_type = MYSQL_TYPE_FLOAT;
			b[i].buffer = &v->v.f32;
			break;
		case WH_DB_FLOAT64:
			b[i].buffer_type = MYSQL_TYPE_DOUBLE;
			b[i].buffer = &v->v.f64;
			break;
		case WH_DB_STR:
		case WH_DB_BINARY:
			b[i].buffer_type = v->kind == WH_DB_STR ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
			b[i].buffer = p->owned[i]; /* never NULL for str and binary */
			b[i].buffer_length = v->v.bytes.n;
			break;
		default:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		}
	}
}

/* What one result column is bound to while rows are fetched. */
struct col {
	enum wh_db_kind type;
	union {
		int64_t i;
		uint64_t u;
		float f32;
		double f64;
	} num;
	char small[256]; /* the bound buffer of str, binary and other columns */
	char *buf;       /* values longer than small: grown to the longest seen */
	size_t cap;
	unsigned long length;
	my_bool is_null, error;
};

static void cols_free(struct col *cols, size_t n)
{
	for (size_t i = 0; cols && i < n; i++)
		free(cols[i].buf);
	free(cols);
}

/* Bind column i for fetching: integers as LONGLONG, floats as themselves,
 * strings and blobs into small (a longer value is read again whole with
 * mysql_stmt_fetch_column once its length is known), other types likewise
 * (only whether they are NULL is used). */
static void bind_col(struct col *c, MYSQL_BIND *b)
{
	memset(b, 0, sizeof(*b));
	b->is_null = &c->is_null;
	b->error = &c->error;
	b->length = &c->length;
	switch (c->type) {
	case WH_DB_INT8:
	case WH_DB_INT16:
	case WH_DB_INT32:
	case WH_DB_INT64:
		b->buffer_type = MYSQL_TYPE_LONGLONG;
		b->buffer = &c->num.i;
		break;
	case WH_DB_UINT8:
	case WH_DB_UINT16:
	case WH_DB_UINT32:
	case WH_DB_UINT64:
		b->buffer_type = MYSQL_TYPE_LONGLONG;
		b->buffer = &c->num.u;
		b->is_unsigned = 1;
		break;
	case WH_DB_FLOAT32:
		b->buffer_type = MYSQL_TYPE_FLOAT;
		b->buffer = &c->num.f32;
		break;
	case WH_DB_FLOAT64:
		b->buffer_type = MYSQL_TYPE_DOUBLE;
		b->buffer = &c->num.f64;
		break;
	default:
		b->buffer_type = MYSQL_TYPE_BLOB;
		b->buffer = c->small;
		b->buffer_length = sizeof(c->small);
		break;
	}
}

/* Column i of the row just fetched as a db-value (borrowing c->buf). */
static int col_value(MYSQL_STMT *st, unsigned i, struct col *c, const char *name, struct wh_db_value *v,
                     struct wh_db_fail *f)
{
	MYSQL_BIND b;

	if (c->is_null) {
		v->kind = WH_DB_NULL;
		return 0;
	}
	v->kind = c->type;
	switch (c->type) {
	case WH_DB_INT8:
	case WH_DB_INT16:
	case WH_DB_INT32:
	case WH_DB_INT64:
	case WH_DB_UINT8:
	case WH_DB_UINT16:
	case WH_DB_UINT32:
	case WH_DB_UINT64:
		if (!wh_db_int_fits(c->type, c->type <= WH_DB_INT64, c->num.i, c->num.u))
			return wh_db_failf(f, "value-conversion-failed",
			                   "column %.100s: a value out of %s's range", name,
			                   wh_db_kind_name(c->type));
		v->v.u = c->num.u; /* the same bits as num.i */
		return 0;
	case WH_DB_FLOAT32:
		v->v.f32 = c->num.f32;
		return 0;
	case WH_DB_FLOAT64:
		v->v.f64 = c->num.f64;
		return 0;
	case WH_DB_STR:
	case WH_DB_BINARY:
		if (c->length > WH_DB_VALUE_MAX)
			return wh_db_failf(
			    f, "value-conversion-failed", "a %s of %lu bytes is over %zu (column %.100s)",
			    c->type == WH_DB_STR ? "text" : "binary value", c->length, WH_DB_VALUE_MAX, name);
		v->v.bytes.p = c->small;
		v->v.bytes.n = c->length;
		if (c->length <= sizeof(c->small))
			return 0;
		if (c->length > c->cap) {
			char *nb = realloc(c->buf, c->length);
			if (!nb)
				return wh_db_failf(f, "other", "out of memory");
			c->buf = nb;
			c->cap = c->length;
		}
		memset(&b, 0, sizeof(b));
		b.buffer_type = MYSQL_TYPE_BLOB;
		b.buffer = c->buf;
		b.buffer_length = c->length;
		if (mysql_stmt_fetch_column(st, &b, i, 0))
			return wh_db_failf(f, "other", "column %.100s: %s", name, mysql_stmt_error(st));
		v->v.bytes.p = c->buf;
		v->v.bytes.n = c->length;
		return 0;
	default:
		v->kind = WH_DB_UNSUPPORTED;
		return 0;
	}
}

/* Fetch the current result's rows into rs (cols bound already). */
static int fetch_rows(struct wh_mysql *c, MYSQL_STMT *st, struct col *cols, const struct wh_db_column *dc,
                      struct wh_db_value *vals, struct wh_db_rowset *rs, struct wh_db_fail *f)
{
	for (;;) {
		int r = mysql_stmt_fetch(st);
		if (r == MYSQL_NO_DATA)
			return 0;
		if (r == 1)
			return stmt_fail(c, st, f);
		/* 0 or MYSQL_DATA_TRUNCATED: strings are read by col_value */
		for (unsigned i = 0; i < rs->ncols; i++)
			if (col_value(st, i, &cols[i], dc[i].name, &vals[i], f) < 0)
				return -1;
		if (wh_db_rowset_add(rs, vals, dc, f) < 0)
			return -1;
	}
}

/* The first result set of st as a row-set value in *out. */
static int read_result(struct wh_mysql *c, MYSQL_STMT *st, wasmtime_component_val_t *out,
                       struct wh_db_fail *f)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	unsigned n = meta ? mysql_num_fields(meta) : 0;
	MYSQL_FIELD *fields = meta ? mysql_fetch_fields(meta) : NULL;
	struct col *cols = calloc(n + 1, sizeof(*cols));
	struct wh_db_column *dc = calloc(n + 1, sizeof(*dc));
	struct wh_db_value *vals = calloc(n + 1, sizeof(*vals));
	MYSQL_BIND *binds = calloc(n + 1, sizeof(*binds));
	struct wh_db_rowset rs;
	int r = 0;

	wh_db_rowset_init(&rs, n);
	if (!cols || !dc || !vals || !binds) {
		r = wh_db_failf(f, "other", "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		cols[i].type = wh_mysql_column_type(fields[i].type, fields[i].flags, fields[i].charsetnr);
		dc[i].name = fields[i].name;
		dc[i].type = cols[i].type;
		bind_col(&cols[i], &binds[i]);
	}
	if (n && mysql_stmt_bind_result(st, binds)) {
		r = stmt_fail(c, st, f);
		goto out;
	}
	if (n)
		r = fetch_rows(c, st, cols, dc, vals, &rs, f);
	if (r == 0)
		wh_db_rowset_finish(&rs, dc, out);
out:
	wh_db_rowset_clear(&rs);
	/* names in dc are the metadata's: free it last */
	cols_free(cols, n);
	free(dc);
	free(vals);
	free(binds);
	if (meta)
		mysql_free_result(meta);
	return r;
}

/* Read and drop what the statement has left: the rest of a result, and
 * further results (a CALL's), at most 64. */
static void drain(MYSQL_STMT *st)
{
	(void)mysql_stmt_free_result(st);
	for (int i = 0; i < 64 && mysql_stmt_more_results(st); i++) {
		if (mysql_stmt_next_result(st) != 0)
			break;
		(void)mysql_stmt_free_result(st);
	}
}

int wh_mysql_run(struct wh_mysql *c, const char *sql, size_t n, const struct wh_db_params *p,
                 wasmtime_component_val_t *rowset, struct wh_db_fail *f)
{
	MYSQL_STMT *st = mysql_stmt_init(c->m);
	MYSQL_BIND *b = NULL;
	unsigned long want;
	int r = -1;

	if (!st)
		return wh_db_failf(f, "other", "out of memory");
	if (mysql_stmt_prepare(st, sql, n)) {
		r = stmt_fail(c, st, f);
		goto out;
	}
	want = mysql_stmt_param_count(st);
	if (want != p->n) {
		r = wh_db_failf(f, "bad-parameter",
		                "the statement has %lu placeholders and %zu parameters were given", want,
		                p->n);
		goto out;
	}
	if (p->n) {
		if (!(b = calloc(p->n, sizeof(*b)))) {
			r = wh_db_failf(f, "other", "out of memory");
			goto out;
		}
		bind_params(p, b);
		if (mysql_stmt_bind_param(st, b)) {
			r = stmt_fail(c, st, f);
			goto out;
		}
	}
	if (mysql_stmt_execute(st)) {
		r = stmt_fail(c, st, f);
		goto out;
	}
	r = rowset ? read_result(c, st, rowset, f) : 0;
	drain(st);
out:
	mysql_stmt_close(st);
	free(b);
	return r;
}
