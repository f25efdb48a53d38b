/* Outbound PostgreSQL: fermyon:spin/postgres@2.0.0 over HTTP. POST the
 * statement as the body; ?addr=URL (percent-encoded) is the database;
 * ?p=b:1,i16:N,i32:N,i64:N,f64:X,s:TEXT,x:HEX,n the parameters (boolean,
 * int16, int32, int64, floating64, str, binary in hex, db-null); ?big=N
 * one more binary parameter of N bytes (byte i is i % 251); ?exec runs
 * execute instead of query. ?many=N opens N connections more first.
 *
 * 200 with "columns NAME:TYPE|..." (TYPE the db-data-type number) and one
 * "row V|V" line per row, each value "bool:1", "int16:N", "int32:N",
 * "int64:N", "f64:X", "f32:X", "str:TEXT", "binary:len=N,fnv=HEX", "null" or
 * "unsupported"; for ?exec "rows N". A failed call: 500 with the error
 * case and its message, "query-failed: MESSAGE". */
#include "http.h"

#define PG(name)  fermyon_spin_2_0_0_postgres_##name
#define RT(name)  fermyon_spin_2_0_0_rdbms_types_##name
#define RTC(name) FERMYON_SPIN_2_0_0_RDBMS_TYPES_##name
#define MAX_BODY  (2 * 1024 * 1024)
#define MAX_P     64

static void fail(own_outparam_t out, PG(error_t) * err)
{
	static const char *const cases[] = {"connection-failed", "bad-parameter", "query-failed",
	                                    "value-conversion-failed", "other"};
	char text[1200];

	snprintf(text, sizeof(text), "%s: %.*s\n", err->tag < 5 ? cases[err->tag] : "?",
	         (int)err->val.other.len, (const char *)err->val.other.ptr);
	RT(error_free)(err);
	respond_text(out, 500, text);
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

static size_t params(char *spec, PG(parameter_value_t) * p, uint8_t **bins)
{
	size_t n = 0;

	for (char *s = spec; s && *s && n < MAX_P;) {
		char *comma = strchr(s, ','), *v;
		if (comma)
			*comma = 0;
		v = strchr(s, ':');
		v = v ? v + 1 : s + strlen(s);
		if (!strncmp(s, "b:", 2)) {
			p[n].tag = RTC(PARAMETER_VALUE_BOOLEAN);
			p[n].val.boolean = *v == '1';
		} else if (!strncmp(s, "i16:", 4)) {
			p[n].tag = RTC(PARAMETER_VALUE_INT16);
			p[n].val.int16 = (int16_t)strtol(v, NULL, 10);
		} else if (!strncmp(s, "i32:", 4)) {
			p[n].tag = RTC(PARAMETER_VALUE_INT32);
			p[n].val.int32 = (int32_t)strtol(v, NULL, 10);
		} else if (!strncmp(s, "i64:", 4)) {
			p[n].tag = RTC(PARAMETER_VALUE_INT64);
			p[n].val.int64 = strtoll(v, NULL, 10);
		} else if (!strncmp(s, "f64:", 4)) {
			p[n].tag = RTC(PARAMETER_VALUE_FLOATING64);
			p[n].val.floating64 = strtod(v, NULL);
		} else if (!strncmp(s, "s:", 2)) {
			p[n].tag = RTC(PARAMETER_VALUE_STR);
			p[n].val.str = (guest_string_t){.ptr = (uint8_t *)v, .len = strlen(v)};
		} else if (!strncmp(s, "x:", 2)) {
			size_t hl = strlen(v) / 2;
			bins[n] = xmalloc(hl + 1);
			for (size_t i = 0; i < hl; i++)
				bins[n][i] = (uint8_t)(hexval(v[2 * i]) << 4 | hexval(v[2 * i + 1]));
			p[n].tag = RTC(PARAMETER_VALUE_BINARY);
			p[n].val.binary = (guest_list_u8_t){.ptr = bins[n], .len = hl};
		} else {
			p[n].tag = RTC(PARAMETER_VALUE_DB_NULL);
		}
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
	case RTC(DB_VALUE_INT16):
		body_out_printf(b, "int16:%d", v->val.int16);
		break;
	case RTC(DB_VALUE_INT32):
		body_out_printf(b, "int32:%d", (int)v->val.int32);
		break;
	case RTC(DB_VALUE_INT64):
		body_out_printf(b, "int64:%lld", (long long)v->val.int64);
		break;
	case RTC(DB_VALUE_FLOATING32):
		body_out_printf(b, "f32:%g", (double)v->val.floating32);
		break;
	case RTC(DB_VALUE_FLOATING64):
		body_out_printf(b, "f64:%.17g", v->val.floating64);
		break;
	case RTC(DB_VALUE_STR):
		if (v->val.str.len > 64)
			body_out_printf(b, "str:len=%zu", v->val.str.len);
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

void HANDLE(own_request_t request, own_outparam_t out)
{
	borrow_request_t req = HTTP(borrow_incoming_request)(request);
	char *path = request_path(req), *addr = query_param(path, "addr"), *spec = query_param(path, "p"),
	     *exec = query_param(path, "exec"), *many = query_param(path, "many"), *big = query_param(path, "big");
	static PG(parameter_value_t) p[MAX_P];
	static uint8_t *bins[MAX_P];
	guest_string_t a = {.ptr = (uint8_t *)(addr ? addr : ""), .len = addr ? strlen(addr) : 0};
	PG(own_connection_t) conn, more[32];
	PG(error_t) err;
	size_t len, np = params(spec, p, bins), got = 0, want = many ? strtoul(many, NULL, 10) : 0;
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
	guest_string_t stmt = {.ptr = (uint8_t *)sql, .len = len};
	struct body_out b;

	PG(list_parameter_value_t) pl = {.ptr = p, .len = np};

	if (want > 32)
		want = 32;
	if (!PG(static_connection_open)(&a, &conn, &err)) {
		fail(out, &err);
	} else {
		while (got < want && PG(static_connection_open)(&a, &more[got], &err))
			got++;
		if (got < want) {
			fail(out, &err);
		} else if (exec) {
			uint64_t rows;
			char text[64];
			if (!PG(method_connection_execute)(PG(borrow_connection)(conn), &stmt, &pl, &rows, &err)) {
				fail(out, &err);
			} else {
				snprintf(text, sizeof(text), "rows %llu\n", (unsigned long long)rows);
				respond_text(out, 200, text);
			}
		} else {
			PG(row_set_t) rs;
			if (!PG(method_connection_query)(PG(borrow_connection)(conn), &stmt, &pl, &rs, &err)) {
				fail(out, &err);
			} else {
				respond(out, 200, fields_of((const char *const[]){"content-type", "text/plain", NULL}), &b);
				body_out_printf(&b, "columns");
				for (size_t i = 0; i < rs.columns.len; i++)
					body_out_printf(&b, "%s%.*s:%d", i ? "|" : " ", (int)rs.columns.ptr[i].name.len,
					                (const char *)rs.columns.ptr[i].name.ptr, (int)rs.columns.ptr[i].data_type);
				body_out_printf(&b, "\n");
				for (size_t r = 0; r < rs.rows.len; r++) {
					body_out_printf(&b, "row ");
					for (size_t c = 0; c < rs.rows.ptr[r].len; c++) {
						if (c)
							body_out_printf(&b, "|");
						print_value(&b, &rs.rows.ptr[r].ptr[c]);
					}
					body_out_printf(&b, "\n");
				}
				body_out_finish(&b, NULL);
				PG(row_set_free)(&rs);
			}
		}
		while (got > 0)
			PG(connection_drop_own)(more[--got]);
		PG(connection_drop_own)(conn);
	}
	for (size_t i = 0; i < np; i++)
		free(bins[i]);
	free(sql);
	free(path);
	free(addr);
	free(spec);
	free(exec);
	free(many);
	free(big);
	HTTP(incoming_request_drop_own)(request);
}
