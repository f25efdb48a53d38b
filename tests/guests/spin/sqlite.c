/* Spin SQLite over HTTP: the request body is one SQL statement, run on the
 * database ?db=LABEL (default "default") through the interface ?api=N:
 *
 *   1   fermyon:spin/sqlite (Spin 1.x: open, execute, close on u32 handles)
 *   2   fermyon:spin/sqlite@2.0.0 (resource connection; the default)
 *   3   spin:sqlite/sqlite@3.0.0 (also last-insert-rowid and changes)
 *
 * ?p=LIST gives the parameters, comma-separated: i:INTEGER, r:REAL, t:HEX
 * (text, its UTF-8 bytes in hex), b:HEX (blob), n (null). ?big=N appends a
 * blob of N bytes (byte k is k % 251), ?bigtext=N a text of N 'x'.
 * ?closed (api 1) closes the connection before executing on it.
 *
 * 200 text/plain, one line each:
 *   columns NAME|NAME...   ("columns" alone when there are none)
 *   row TYPE:VALUE|...   integer:42 real:1.5 text:TEXT blob:HEX null; a
 *                        blob or text over 64 bytes as TYPE:len=N,fnv=HEX
 *   rowid N, changes N   (api 3)
 * A failed call: 500 with the error case ("access-denied",
 * "no-such-database", "invalid-connection", "database-full") or
 * "io: MESSAGE". A parameter list it cannot read: 400. */
#include "http.h"

/* The three interfaces' value, error and query-result types are the same
 * WIT types, so the bindings lay them out alike; this guest builds and reads
 * them as the 2.0.0 ones. */
#define V2(name) fermyon_spin_2_0_0_sqlite_##name
#define V3(name) spin_sqlite_sqlite_##name
#define V1(name) fermyon_spin_sqlite_##name
typedef V2(value_t) value_t;
typedef V2(list_value_t) list_value_t;
typedef V2(query_result_t) query_result_t;
typedef V2(error_t) error_t;
_Static_assert(sizeof(V1(value_t)) == sizeof(value_t) && sizeof(V3(value_t)) == sizeof(value_t), "value");
_Static_assert(sizeof(V1(query_result_t)) == sizeof(query_result_t) &&
                   sizeof(V3(query_result_t)) == sizeof(query_result_t),
               "query-result");
_Static_assert(sizeof(V1(error_t)) == sizeof(error_t) && sizeof(V3(error_t)) == sizeof(error_t), "error");

#define MAX_STATEMENT (2 * 1024 * 1024)
#define MAX_BIG       (8 * 1024 * 1024)

static const char *const error_cases[] = {"no-such-database", "access-denied", "invalid-connection",
                                          "database-full"};

/* fail answers 500 with the case of ERR, which it frees. */
static void fail(own_outparam_t out, error_t *err)
{
	char text[1200];

	if (err->tag == FERMYON_SPIN_2_0_0_SQLITE_ERROR_IO)
		snprintf(text, sizeof(text), "io: %.*s\n", (int)err->val.io.len,
		         (const char *)err->val.io.ptr);
	else
		snprintf(text, sizeof(text), "%s\n", err->tag < 4 ? error_cases[err->tag] : "?");
	V2(error_free)(err);
	respond_text(out, 500, text);
}

/* read_all reads REQ's body (at most MAX_STATEMENT bytes) as a string. */
static int read_all(borrow_request_t req, guest_string_t *s)
{
	struct body_in in;
	guest_list_u8_t chunk;
	size_t cap = 0;
	int r;

	*s = (guest_string_t){0};
	body_in_open(req, &in);
	while ((r = body_in_read(&in, CHUNK, &chunk)) > 0) {
		if (s->len + chunk.len > MAX_STATEMENT) {
			guest_list_u8_free(&chunk);
			r = -1;
			break;
		}
		if (s->len + chunk.len > cap) {
			cap = s->len + chunk.len + CHUNK;
			s->ptr = realloc(s->ptr, cap);
			if (!s->ptr)
				die("out of memory (%zu bytes)", cap);
		}
		memcpy(s->ptr + s->len, chunk.ptr, chunk.len);
		s->len += chunk.len;
		guest_list_u8_free(&chunk);
	}
	body_in_finish(&in, NULL);
	return r;
}

/* unhex decodes HEX into a new buffer of *n bytes; NULL when it is not hex. */
static uint8_t *unhex(const char *hex, size_t len, size_t *n)
{
	uint8_t *p;

	if (len % 2)
		return NULL;
	p = xmalloc(len / 2);
	for (size_t i = 0; i < len; i += 2) {
		int a = hexval(hex[i]), b = hexval(hex[i + 1]);
		if (a < 0 || b < 0) {
			free(p);
			return NULL;
		}
		p[i / 2] = (uint8_t)(a * 16 + b);
	}
	*n = len / 2;
	return p;
}

/* params parses LIST (may be NULL) plus the ?big= and ?bigtext= values into
 * *OUT (values own their bytes; free with params_free). -1 on a bad list. */
static int params(const char *list, const char *big, const char *bigtext, list_value_t *out)
{
	size_t cap = 4;
	uint64_t n;

	out->ptr = xmalloc(cap * sizeof(value_t));
	out->len = 0;
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ','), *v = p + 2;
		size_t len = end ? (size_t)(end - p) : strlen(p), vl = len >= 2 ? len - 2 : 0;
		value_t *x;
		char tmp[64];

		if (out->len + 2 >= cap)
			out->ptr = realloc(out->ptr, (cap *= 2) * sizeof(value_t));
		if (!out->ptr)
			die("out of memory");
		x = &out->ptr[out->len++];
		*x = (value_t){.tag = FERMYON_SPIN_2_0_0_SQLITE_VALUE_NULL};
		if (len == 1 && p[0] == 'n') {
			/* null */
		} else if (len < 2 || p[1] != ':' || vl >= sizeof(tmp) * 1024) {
			return -1;
		} else if (p[0] == 'i' || p[0] == 'r') {
			char *e;
			if (vl == 0 || vl >= sizeof(tmp))
				return -1;
			memcpy(tmp, v, vl);
			tmp[vl] = '\0';
			if (p[0] == 'i') {
				x->tag = FERMYON_SPIN_2_0_0_SQLITE_VALUE_INTEGER;
				x->val.integer = strtoll(tmp, &e, 10);
			} else {
				x->tag = FERMYON_SPIN_2_0_0_SQLITE_VALUE_REAL;
				x->val.real = strtod(tmp, &e);
			}
			if (*e)
				return -1;
		} else if (p[0] == 't' || p[0] == 'b') {
			size_t bn = 0;
			uint8_t *b = unhex(v, vl, &bn);
			if (!b)
				return -1;
			x->tag = p[0] == 't' ? FERMYON_SPIN_2_0_0_SQLITE_VALUE_TEXT
			                     : FERMYON_SPIN_2_0_0_SQLITE_VALUE_BLOB;
			x->val.blob = (guest_list_u8_t){.ptr = b, .len = bn};
		} else {
			return -1;
		}
		p = end ? end + 1 : p + len;
	}
	if (big) {
		if (parse_u64(big, MAX_BIG, &n) < 0)
			return -1;
		uint8_t *b = xmalloc(n);
		for (size_t k = 0; k < n; k++)
			b[k] = (uint8_t)(k % 251);
		out->ptr[out->len++] =
		    (value_t){.tag = FERMYON_SPIN_2_0_0_SQLITE_VALUE_BLOB, .val.blob = {.ptr = b, .len = n}};
	}
	if (bigtext) {
		if (parse_u64(bigtext, MAX_BIG, &n) < 0)
			return -1;
		uint8_t *b = xmalloc(n);
		memset(b, 'x', n);
		out->ptr[out->len++] =
		    (value_t){.tag = FERMYON_SPIN_2_0_0_SQLITE_VALUE_TEXT, .val.text = {.ptr = b, .len = n}};
	}
	return 0;
}

static void params_free(list_value_t *l)
{
	for (size_t i = 0; i < l->len; i++)
		if (l->ptr[i].tag == FERMYON_SPIN_2_0_0_SQLITE_VALUE_TEXT ||
		    l->ptr[i].tag == FERMYON_SPIN_2_0_0_SQLITE_VALUE_BLOB)
			free(l->ptr[i].val.blob.ptr);
	free(l->ptr);
}

/* print_value writes one value as TYPE:VALUE. */
static void print_value(struct body_out *b, const value_t *v)
{
	const guest_list_u8_t *bytes = &v->val.blob;
	const char *type = v->tag == FERMYON_SPIN_2_0_0_SQLITE_VALUE_TEXT ? "text" : "blob";

	switch (v->tag) {
	case FERMYON_SPIN_2_0_0_SQLITE_VALUE_INTEGER:
		body_out_printf(b, "integer:%lld", (long long)v->val.integer);
		return;
	case FERMYON_SPIN_2_0_0_SQLITE_VALUE_REAL:
		body_out_printf(b, "real:%.17g", v->val.real);
		return;
	case FERMYON_SPIN_2_0_0_SQLITE_VALUE_NULL:
		body_out_printf(b, "null");
		return;
	}
	if (bytes->len > 64) {
		body_out_printf(b, "%s:len=%zu,fnv=%016llx", type, bytes->len,
		                (unsigned long long)fnv1a(FNV_INIT, bytes->ptr, bytes->len));
	} else if (v->tag == FERMYON_SPIN_2_0_0_SQLITE_VALUE_TEXT) {
		body_out_printf(b, "text:%.*s", (int)bytes->len, (const char *)bytes->ptr);
	} else {
		body_out_printf(b, "blob:");
		for (size_t i = 0; i < bytes->len; i++)
			body_out_printf(b, "%02x", bytes->ptr[i]);
	}
}

/* answer writes the result (and, for api 3, rowid and changes) as 200. */
static void answer(own_outparam_t out, query_result_t *q, bool v3, int64_t rowid, uint64_t changes)
{
	struct body_out b;

	respond(out, 200, fields_of((const char *const[]){"content-type", "text/plain", NULL}), &b);
	body_out_printf(&b, "columns");
	for (size_t i = 0; i < q->columns.len; i++)
		body_out_printf(&b, "%s%.*s", i ? "|" : " ", (int)q->columns.ptr[i].len,
		                (const char *)q->columns.ptr[i].ptr);
	body_out_printf(&b, "\n");
	for (size_t r = 0; r < q->rows.len; r++) {
		body_out_printf(&b, "row ");
		for (size_t i = 0; i < q->rows.ptr[r].values.len; i++) {
			if (i)
				body_out_printf(&b, "|");
			print_value(&b, &q->rows.ptr[r].values.ptr[i]);
		}
		body_out_printf(&b, "\n");
	}
	if (v3)
		body_out_printf(&b, "rowid %lld\nchanges %llu\n", (long long)rowid,
		                (unsigned long long)changes);
	body_out_finish(&b, NULL);
}

/* run opens DB through interface API and executes STMT with PARAMS. */
static void run(own_outparam_t out, int api, guest_string_t *db, guest_string_t *stmt, list_value_t *params,
                bool closed)
{
	query_result_t q;
	error_t err;
	bool ok;

	if (api == 1) {
		V1(connection_t) c;
		if (!V1(open)(db, &c, (V1(error_t) *)&err)) {
			fail(out, &err);
			return;
		}
		if (closed)
			V1(close)(c);
		ok = V1(execute)(c, stmt, (V1(list_value_t) *)params, (V1(query_result_t) *)&q,
		                 (V1(error_t) *)&err);
		if (ok)
			answer(out, &q, false, 0, 0);
		if (!closed)
			V1(close)(c);
	} else if (api == 3) {
		V3(own_connection_t) c;
		if (!V3(static_connection_open)(db, &c, (V3(error_t) *)&err)) {
			fail(out, &err);
			return;
		}
		V3(borrow_connection_t) bc = V3(borrow_connection)(c);
		ok = V3(method_connection_execute)(bc, stmt, (V3(list_value_t) *)params,
		                                   (V3(query_result_t) *)&q, (V3(error_t) *)&err);
		if (ok)
			answer(out, &q, true, V3(method_connection_last_insert_rowid)(bc),
			       V3(method_connection_changes)(bc));
		V3(connection_drop_own)(c);
	} else {
		V2(own_connection_t) c;
		if (!V2(static_connection_open)(db, &c, &err)) {
			fail(out, &err);
			return;
		}
		ok = V2(method_connection_execute)(V2(borrow_connection)(c), stmt, params, &q, &err);
		if (ok)
			answer(out, &q, false, 0, 0);
		V2(connection_drop_own)(c);
	}
	if (ok)
		V2(query_result_free)(&q);
	else
		fail(out, &err);
}

void HANDLE(own_request_t request, own_outparam_t out)
{
	borrow_request_t req = HTTP(borrow_incoming_request)(request);
	char *path = request_path(req), *api_s = query_param(path, "api"), *label = query_param(path, "db"),
	     *plist = query_param(path, "p"), *big = query_param(path, "big"),
	     *bigtext = query_param(path, "bigtext"), *closed = query_param(path, "closed");
	guest_string_t db = {.ptr = (uint8_t *)(label ? label : "default"),
	                     .len = strlen(label ? label : "default")};
	guest_string_t stmt = {0};
	list_value_t ps = {0};
	uint64_t api = 2;

	if (api_s && parse_u64(api_s, 3, &api) < 0)
		respond_text(out, 400, "api is 1, 2 or 3\n");
	else if (read_all(req, &stmt) < 0)
		respond_text(out, 413, "the statement is over 2 MiB or broke off\n");
	else if (params(plist, big, bigtext, &ps) < 0)
		respond_text(out, 400,
		             "usage: body = SQL; ?api=1|2|3&db=LABEL&p=i:1,r:1.5,t:HEX,b:HEX,n&big=N\n");
	else
		run(out, (int)api, &db, &stmt, &ps, closed != NULL);
	params_free(&ps);
	free(stmt.ptr);
	free(path);
	free(api_s);
	free(label);
	free(plist);
	free(big);
	free(bigtext);
	free(closed);
	HTTP(incoming_request_drop_own)(request);
}
