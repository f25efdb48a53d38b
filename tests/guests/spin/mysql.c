/* Outbound MySQL: fermyon:spin/mysql@2.0.0 (or, with ?v1, Spin 1.x's
 * fermyon:spin/mysql) over HTTP. POST the statement as the body; ?addr=URL
 * (percent-encoded) is the database; ?p=b:1,i8:N,i16:N,i32:N,i64:N,u8:N,
 * u16:N,u32:N,u64:N,f32:X,f64:X,s:TEXT,x:HEX,n the parameters (one of each
 * parameter-value case; n is db-null); ?big=N one more binary parameter of
 * N bytes (byte i is i % 251), ?bigs=N one more str of N bytes ('a' + i %
 * 26); ?exec runs execute instead of query; ?many=N opens N connections
 * more first (v2).
 *
 * 200 with "columns NAME:TYPE|..." (TYPE the db-data-type number) and one
 * "row V|V" line per row, each value "bool:1", "int8:N" ... "uint64:N",
 * "f32:X", "f64:X", "str:TEXT" (over 64 bytes "str:len=N,fnv=HEX"),
 * "binary:len=N,fnv=HEX", "null" or "unsupported"; for ?exec "ok". A
 * failed call: 500 with the error case and its message,
 * "query-failed: MESSAGE" (v1's cases are its own: other-error...). */
#include "http.h"

#define MY(name)  fermyon_spin_2_0_0_mysql_##name
#define RT(name)  fermyon_spin_2_0_0_rdbms_types_##name
#define RTC(name) FERMYON_SPIN_2_0_0_RDBMS_TYPES_##name
#define V1(name)  fermyon_spin_mysql_##name
#define MAX_BODY  (2 * 1024 * 1024)
#define MAX_P     64

/* v1's rdbms-types have the same cases in the same order as 2.0.0's, so
 * the guest builds and reads them as 2.0.0's. */
_Static_assert(sizeof(fermyon_spin_rdbms_types_parameter_value_t) == sizeof(RT(parameter_value_t)),
               "v1 and 2.0.0 parameter-value differ");
_Static_assert(sizeof(fermyon_spin_rdbms_types_row_set_t) == sizeof(RT(row_set_t)), "row-set differs");

static void fail_text(own_outparam_t out, const char *error_case, const guest_string_t *msg)
{
	char text[1200];

	snprintf(text, sizeof(text), "%s: %.*s\n", error_case, (int)msg->len, (const char *)msg->ptr);
	respond_text(out, 500, text);
}

static void fail(own_outparam_t out, MY(error_t) * err)
{
	static const char *const cases[] = {"connection-failed", "bad-parameter", "query-failed",
	                                    "value-conversion-failed", "other"};

	fail_text(out, err->tag < 5 ? cases[err->tag] : "?", &err->val.other);
	RT(error_free)(err);
}

static void fail1(own_outparam_t out, V1(mysql_error_t) * err)
{
	static const char *const cases[] = {"success", "connection-failed", "bad-parameter", "query-failed",
	                                    "value-conversion-failed", "other-error"};
	guest_string_t none = {0};

	fail_text(out, err->tag < 6 ? cases[err->tag] : "?", err->tag ? &err->val.other_error : &none);
	V1(mysql_error_free)(err);
}

static char *read_all(borrow_request_t req, size_t *len)
{
	struct body_in in;
	guest_list_u8_t chunk;
	char *buf = xmalloc(MAX_BODY + 1);
	int r;

	*len = 0;
	body_in_open(req, &in);
	while ((r = body_in_read(&in, CHUNK, &chunk)) > 0) {
		if (*len + chunk.len > MAX_BODY)
			die("body over %d bytes", MAX_BODY);
		memcpy(buf + *len, chunk.ptr, chunk.len);
		*len += chunk.len;
		guest_list_u8_free(&chunk);
	}
	body_in_finish(&in, NULL);
	buf[*len] = 0;
	return buf;
}

static size_t params(char *spec, RT(parameter_value_t) * p, uint8_t **bins)
{
	size_t n = 0;

	for (char *s = spec; s && *s && n < MAX_P;) {
		char *comma = strchr(s, ','), *v;
		if (comma)
			*comma = 0;
		v = strchr(s, ':');
		v = v ? v + 1 : s + strlen(s);
#define P(prefix) (!strncmp(s, prefix ":", sizeof(prefix)))
		if (P("b")) {
			p[n].tag = RTC(PARAMETER_VALUE_BOOLEAN);
			p[n].val.boolean = *v == '1';
		} else if (P("i8")) {
			p[n].tag = RTC(PARAMETER_VALUE_INT8);
			p[n].val.int8 = (int8_t)strtol(v, NULL, 10);
		} else if (P("i16")) {
			p[n].tag = RTC(PARAMETER_VALUE_INT16);
			p[n].val.int16 = (int16_t)strtol(v, NULL, 10);
		} else if (P("i32")) {
			p[n].tag = RTC(PARAMETER_VALUE_INT32);
			p[n].val.int32 = (int32_t)strtol(v, NULL, 10);
		} else if (P("i64")) {
			p[n].tag = RTC(PARAMETER_VALUE_INT64);
			p[n].val.int64 = strtoll(v, NULL, 10);
		} else if (P("u8")) {
			p[n].tag = RTC(PARAMETER_VALUE_UINT8);
			p[n].val.uint8 = (uint8_t)strtoul(v, NULL, 10);
		} else if (P("u16")) {
			p[n].tag = RTC(PARAMETER_VALUE_UINT16);
			p[n].val.uint16 = (uint16_t)strtoul(v, NULL, 10);
		} else if (P("u32")) {
			p[n].tag = RTC(PARAMETER_VALUE_UINT32);
			p[n].val.uint32 = (uint32_t)strtoul(v, NULL, 10);
		} else if (P("u64")) {
			p[n].tag = RTC(PARAMETER_VALUE_UINT64);
			p[n].val.uint64 = strtoull(v, NULL, 10);
		} else if (P("f32")) {
			p[n].tag = RTC(PARAMETER_VALUE_FLOATING32);
			p[n].val.floating32 = strtof(v, NULL);
		} else if (P("f64")) {
			p[n].tag = RTC(PARAMETER_VALUE_FLOATING64);
			p[n].val.floating64 = strtod(v, NULL);
		} else if (P("s")) {
			p[n].tag = RTC(PARAMETER_VALUE_STR);
			p[n].val.str = (guest_string_t){.ptr = (uint8_t *)v, .len = strlen(v)};
		} else if (P("x")) {
			size_t hl = strlen(v) / 2;
			bins[n] = xmalloc(hl + 1);
			for (size_t i = 0; i < hl; i++)
				bins[n][i] = (uint8_t)(hexval(v[2 * i]) << 4 | hexval(v[2 * i + 1]));
			p[n].tag = RTC(PARAMETER_VALUE_BINARY);
			p[n].val.binary = (guest_list_u8_t){.ptr = bins[n], .len = hl};
		} else {
			p[n].tag = RTC(PARAMETER_VALUE_DB_NULL);
		}
#undef P
		n++;
		s = comma ? comma + 1 : NULL;
	}
	return n;
}

static void print_value(struct body_out *b, const RT(db_value_t) * v)
{
	switch (v->tag) {
	case RTC(DB_VALUE_BOOLEAN):
		body_out_printf(b, "bool:%d", v->val.boolean);
		break;
	case RTC(DB_VALUE_INT8):
		body_out_printf(b, "int8:%d", v->val.int8);
		break;
	case RTC(DB_VALUE_INT16):
		body_out_printf(b, "int16:%d", v->val.int16);
		break;
	case RTC(DB_VALUE_INT32):
		body_out_printf(b, "int32:%d", (int)v->val.int32);
		break;
	case RTC(DB_VALUE_INT64):
		body_out_printf(b, "int64:%lld", (long long)v->val.int64);
		break;
	case RTC(DB_VALUE_UINT8):
		body_out_printf(b, "uint8:%u", v->val.uint8);
		break;
	case RTC(DB_VALUE_UINT16):
		body_out_printf(b, "uint16:%u", v->val.uint16);
		break;
	case RTC(DB_VALUE_UINT32):
		body_out_printf(b, "uint32:%lu", (unsigned long)v->val.uint32);
		break;
	case RTC(DB_VALUE_UINT64):
		body_out_printf(b, "uint64:%llu", (unsigned long long)v->val.uint64);
		break;
	case RTC(DB_VALUE_FLOATING32):
		body_out_printf(b, "f32:%g", (double)v->val.floating32);
		break;
	case RTC(DB_VALUE_FLOATING64):
		body_out_printf(b, "f64:%.17g", v->val.floating64);
		break;
	case RTC(DB_VALUE_STR):
		if (v->val.str.len > 64)
			body_out_printf(b, "str:len=%zu,fnv=%016llx", v->val.str.len,
			                (unsigned long long)fnv1a(FNV_INIT, v->val.str.ptr, v->val.str.len));
		else
			body_out_printf(b, "str:%.*s", (int)v->val.str.len, (const char *)v->val.str.ptr);
		break;
	case RTC(DB_VALUE_BINARY):
		body_out_printf(b, "binary:len=%zu,fnv=%016llx", v->val.binary.len,
		                (unsigned long long)fnv1a(FNV_INIT, v->val.binary.ptr, v->val.binary.len));
		break;
	case RTC(DB_VALUE_DB_NULL):
		body_out_printf(b, "null");
		break;
	default:
		body_out_printf(b, "unsupported");
	}
}

static void print_rows(own_outparam_t out, RT(row_set_t) * rs)
{
	struct body_out b;

	respond(out, 200, fields_of((const char *const[]){"content-type", "text/plain", NULL}), &b);
	body_out_printf(&b, "columns");
	for (size_t i = 0; i < rs->columns.len; i++)
		body_out_printf(&b, "%s%.*s:%d", i ? "|" : " ", (int)rs->columns.ptr[i].name.len,
		                (const char *)rs->columns.ptr[i].name.ptr, (int)rs->columns.ptr[i].data_type);
	body_out_printf(&b, "\n");
	for (size_t r = 0; r < rs->rows.len; r++) {
		body_out_printf(&b, "row ");
		for (size_t c = 0; c < rs->rows.ptr[r].len; c++) {
			if (c)
				body_out_printf(&b, "|");
			print_value(&b, &rs->rows.ptr[r].ptr[c]);
		}
		body_out_printf(&b, "\n");
	}
	body_out_finish(&b, NULL);
	RT(row_set_free)(rs);
}

/* Spin 1.x: the address on every call. */
static void run_v1(own_outparam_t out, guest_string_t *a, guest_string_t *stmt, MY(list_parameter_value_t) * pl,
                   bool exec)
{
	V1(list_parameter_value_t) *l1 = (V1(list_parameter_value_t) *)pl;
	V1(mysql_error_t) err;
	V1(row_set_t) rs;

	if (exec) {
		if (!V1(execute)(a, stmt, l1, &err))
			fail1(out, &err);
		else
			respond_text(out, 200, "ok\n");
	} else if (!V1(query)(a, stmt, l1, &rs, &err)) {
		fail1(out, &err);
	} else {
		print_rows(out, (RT(row_set_t) *)&rs);
	}
}

static void run_v2(own_outparam_t out, guest_string_t *a, guest_string_t *stmt, MY(list_parameter_value_t) * pl,
                   bool exec, size_t want)
{
	MY(own_connection_t) conn, more[32];
	MY(error_t) err;
	RT(row_set_t) rs;
	size_t got = 0;

	if (!MY(static_connection_open)(a, &conn, &err)) {
		fail(out, &err);
		return;
	}
	while (got < want && MY(static_connection_open)(a, &more[got], &err))
		got++;
	if (got < want)
		fail(out, &err);
	else if (exec && !MY(method_connection_execute)(MY(borrow_connection)(conn), stmt, pl, &err))
		fail(out, &err);
	else if (exec)
		respond_text(out, 200, "ok\n");
	else if (!MY(method_connection_query)(MY(borrow_connection)(conn), stmt, pl, &rs, &err))
		fail(out, &err);
	else
		print_rows(out, &rs);
	while (got > 0)
		MY(connection_drop_own)(more[--got]);
	MY(connection_drop_own)(conn);
}

void HANDLE(own_request_t request, own_outparam_t out)
{
	borrow_request_t req = HTTP(borrow_incoming_request)(request);
	char *path = request_path(req), *addr = query_param(path, "addr"), *spec = query_param(path, "p"),
	     *exec = query_param(path, "exec"), *many = query_param(path, "many"), *big = query_param(path, "big"),
	     *bigs = query_param(path, "bigs"), *v1 = query_param(path, "v1");
	static RT(parameter_value_t) p[MAX_P];
	static uint8_t *bins[MAX_P];
	guest_string_t a = {.ptr = (uint8_t *)(addr ? addr : ""), .len = addr ? strlen(addr) : 0};
	size_t len, np = params(spec, p, bins), want = many ? strtoul(many, NULL, 10) : 0;
	char *sql = read_all(req, &len);

	if (big && np < MAX_P) {
		size_t bn = strtoul(big, NULL, 10);
		bins[np] = xmalloc(bn + 1);
		for (size_t i = 0; i < bn; i++)
			bins[np][i] = (uint8_t)(i % 251);
		p[np].tag = RTC(PARAMETER_VALUE_BINARY);
		p[np].val.binary = (guest_list_u8_t){.ptr = bins[np], .len = bn};
		np++;
	}
	if (bigs && np < MAX_P) {
		size_t bn = strtoul(bigs, NULL, 10);
		bins[np] = xmalloc(bn + 1);
		for (size_t i = 0; i < bn; i++)
			bins[np][i] = (uint8_t)('a' + i % 26);
		p[np].tag = RTC(PARAMETER_VALUE_STR);
		p[np].val.str = (guest_string_t){.ptr = bins[np], .len = bn};
		np++;
	}
	guest_string_t stmt = {.ptr = (uint8_t *)sql, .len = len};
	MY(list_parameter_value_t) pl = {.ptr = p, .len = np};

	if (want > 32)
		want = 32;
	if (v1)
		run_v1(out, &a, &stmt, &pl, exec != NULL);
	else
		run_v2(out, &a, &stmt, &pl, exec != NULL, want);
	for (size_t i = 0; i < np; i++)
		free(bins[i]);
	free(sql);
	free(path);
	free(addr);
	free(spec);
	free(exec);
	free(many);
	free(big);
	free(bigs);
	free(v1);
	HTTP(incoming_request_drop_own)(request);
}
