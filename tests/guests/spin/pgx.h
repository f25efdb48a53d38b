/* The body of the pg3 and pg4 guests: spin:postgres/postgres@3.0.0 or
 * @4.0.0 (PGV 3 or 4, set by the including file) over HTTP. POST the
 * statement as the body; ?addr=URL (percent-encoded) is the database;
 * ?exec runs execute instead of query; ?p= the parameters, separated by
 * '|':
 *
 *   b:1  i8:N  i16:N  i32:N  i64:N  f32:X  f64:X  s:TEXT  x:HEX  n (db-null)
 *   d:Y-M-D  t:H:M:S[.FRACTION]  dt:Y-M-DTH:M:S[.FRACTION]  ts:UNIX-SECONDS
 *   @4 only: u:UUID  j:JSON  dec:DECIMAL  iv:MICROS,DAYS,MONTHS
 *            ri32:LO,HI  ri64:LO,HI  rdec:LO,HI (each bound iN inclusive,
 *            eN exclusive, or empty for none)
 *            ai32:A,B,...  ai64:...  adec:...  astr:... (n for a NULL)
 *
 * 200 with "columns NAME:TYPE|..." (TYPE the db-data-type case, other(NAME)
 * in @4) and one "row V|V" line per row, each value CASE:TEXT in the forms
 * above (datetime Y-M-DTH:M:S.NNNNNNNNN, time with nanoseconds, ranges
 * LO,HI with - for no bound; unsupported:len=N in @4), null for db-null;
 * for ?exec "rows N". A failed call: 500 with the error case and its
 * message; @4's query-failed as "query-failed: db-error code=C
 * severity=S message=M [detail=D] [EXTRA=V ...]" or "query-failed: text M". */
#include "http.h"

#if PGV == 3
#define PG(name)  spin_postgres_3_0_0_postgres_##name
#define PGC(name) SPIN_POSTGRES_3_0_0_POSTGRES_##name
#else
#define PG(name)  spin_postgres_4_0_0_postgres_##name
#define PGC(name) SPIN_POSTGRES_4_0_0_POSTGRES_##name
#endif
#define MAX_BODY (64 * 1024)
#define MAX_P    64

static const char *const type_names[] = {
    "boolean",     "int8",        "int16",       "int32",        "int64",         "floating32",
    "floating64",  "str",         "binary",      "date",         "time",          "datetime",
    "timestamp",
#if PGV == 4
    "uuid",        "jsonb",       "decimal",     "range-int32",  "range-int64",   "range-decimal",
    "array-int32", "array-int64", "array-decimal", "array-str",  "interval",
#endif
    "other",
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

static void fail(own_outparam_t out, PG(error_t) * err)
{
	static const char *const cases[] = {"connection-failed", "bad-parameter", "query-failed",
	                                    "value-conversion-failed", "other"};
	char text[4096];
	int n;

#if PGV == 4
	if (err->tag == PGC(ERROR_QUERY_FAILED)) {
		PG(query_error_t) *q = &err->val.query_failed;
		if (q->tag == PGC(QUERY_ERROR_TEXT)) {
			n = snprintf(text, sizeof(text), "query-failed: text %.*s", (int)q->val.text.len,
			             (const char *)q->val.text.ptr);
		} else {
			PG(db_error_t) *d = &q->val.db_error;
			n = snprintf(text, sizeof(text), "query-failed: db-error code=%.*s severity=%.*s message=%.*s",
			             (int)d->code.len, (const char *)d->code.ptr, (int)d->severity.len,
			             (const char *)d->severity.ptr, (int)d->message.len, (const char *)d->message.ptr);
			if (d->detail.is_some && n < (int)sizeof(text))
				n += snprintf(text + n, sizeof(text) - (size_t)n, " detail=%.*s", (int)d->detail.val.len,
				              (const char *)d->detail.val.ptr);
			for (size_t i = 0; i < d->extras.len && n < (int)sizeof(text); i++)
				n += snprintf(text + n, sizeof(text) - (size_t)n, " %.*s=%.*s",
				              (int)d->extras.ptr[i].f0.len, (const char *)d->extras.ptr[i].f0.ptr,
				              (int)d->extras.ptr[i].f1.len, (const char *)d->extras.ptr[i].f1.ptr);
		}
		if (n >= 0 && n < (int)sizeof(text) - 1)
			text[n] = '\n', text[n + 1] = 0;
		PG(error_free)(err);
		respond_text(out, 500, text);
		return;
	}
#endif
	(void)n;
	snprintf(text, sizeof(text), "%s: %.*s\n", err->tag < 5 ? cases[err->tag] : "?",
	         (int)err->val.other.len, (const char *)err->val.other.ptr);
	PG(error_free)(err);
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

static guest_string_t str_of(char *s)
{
	return (guest_string_t){.ptr = (uint8_t *)s, .len = strlen(s)};
}

/* H:M:S[.FRACTION] into a time tuple. */
static void parse_time(const char *v, guest_tuple4_u8_u8_u8_u32_t *t)
{
	unsigned h = 0, m = 0, s = 0, ns = 0, scale = 100000000;
	const char *dot;

	sscanf(v, "%u:%u:%u", &h, &m, &s);
	if ((dot = strchr(v, '.')))
		for (const char *q = dot + 1; *q >= '0' && *q <= '9' && scale; q++, scale /= 10)
			ns += (unsigned)(*q - '0') * scale;
	*t = (guest_tuple4_u8_u8_u8_u32_t){(uint8_t)h, (uint8_t)m, (uint8_t)s, ns};
}

#if PGV == 4
/* Split v at commas into at most max pieces (v is modified). */
static size_t split(char *v, char **parts, size_t max)
{
	size_t n = 0;

	if (!*v)
		return 0;
	for (char *s = v; s && n < max;) {
		char *c = strchr(s, ',');
		if (c)
			*c = 0;
		parts[n++] = s;
		s = c ? c + 1 : NULL;
	}
	return n;
}

/* A range bound "iN", "eN" or "" into is_some, the kind and the text of N. */
static bool bound(char *b, uint8_t *kind, char **val)
{
	if (!b || !*b)
		return false;
	*kind = *b == 'i' ? PGC(RANGE_BOUND_KIND_INCLUSIVE) : PGC(RANGE_BOUND_KIND_EXCLUSIVE);
	*val = b + 1;
	return true;
}
#endif

static size_t params(char *spec, PG(parameter_value_t) * p, uint8_t **bins)
{
	size_t n = 0;

	for (char *s = spec; s && *s && n < MAX_P;) {
		char *bar = strchr(s, '|'), *v;
		if (bar)
			*bar = 0;
		v = strchr(s, ':');
		v = v ? v + 1 : s + strlen(s);
#define TAG(t) (!strncmp(s, t ":", sizeof(t)))
		if (TAG("b")) {
			p[n].tag = PGC(PARAMETER_VALUE_BOOLEAN);
			p[n].val.boolean = *v == '1';
		} else if (TAG("i8")) {
			p[n].tag = PGC(PARAMETER_VALUE_INT8);
			p[n].val.int8 = (int8_t)strtol(v, NULL, 10);
		} else if (TAG("i16")) {
			p[n].tag = PGC(PARAMETER_VALUE_INT16);
			p[n].val.int16 = (int16_t)strtol(v, NULL, 10);
		} else if (TAG("i32")) {
			p[n].tag = PGC(PARAMETER_VALUE_INT32);
			p[n].val.int32 = (int32_t)strtol(v, NULL, 10);
		} else if (TAG("i64")) {
			p[n].tag = PGC(PARAMETER_VALUE_INT64);
			p[n].val.int64 = strtoll(v, NULL, 10);
		} else if (TAG("f32")) {
			p[n].tag = PGC(PARAMETER_VALUE_FLOATING32);
			p[n].val.floating32 = strtof(v, NULL);
		} else if (TAG("f64")) {
			p[n].tag = PGC(PARAMETER_VALUE_FLOATING64);
			p[n].val.floating64 = strtod(v, NULL);
		} else if (TAG("s")) {
			p[n].tag = PGC(PARAMETER_VALUE_STR);
			p[n].val.str = str_of(v);
		} else if (TAG("x")) {
			size_t hl = strlen(v) / 2;
			bins[n] = xmalloc(hl + 1);
			for (size_t i = 0; i < hl; i++)
				bins[n][i] = (uint8_t)(hexval(v[2 * i]) << 4 | hexval(v[2 * i + 1]));
			p[n].tag = PGC(PARAMETER_VALUE_BINARY);
			p[n].val.binary = (guest_list_u8_t){.ptr = bins[n], .len = hl};
		} else if (TAG("d")) {
			int y = 0;
			unsigned mo = 0, d = 0;
			sscanf(v, "%d-%u-%u", &y, &mo, &d);
			p[n].tag = PGC(PARAMETER_VALUE_DATE);
			p[n].val.date = (guest_tuple3_s32_u8_u8_t){y, (uint8_t)mo, (uint8_t)d};
		} else if (TAG("t")) {
			p[n].tag = PGC(PARAMETER_VALUE_TIME);
			parse_time(v, &p[n].val.time);
		} else if (TAG("dt")) {
			int y = 0;
			unsigned mo = 0, d = 0;
			guest_tuple4_u8_u8_u8_u32_t t = {0};
			char *T = strchr(v, 'T');
			sscanf(v, "%d-%u-%u", &y, &mo, &d);
			if (T)
				parse_time(T + 1, &t);
			p[n].tag = PGC(PARAMETER_VALUE_DATETIME);
			p[n].val.datetime = (guest_tuple7_s32_u8_u8_u8_u8_u8_u32_t){y, (uint8_t)mo, (uint8_t)d, t.f0,
			                                                            t.f1, t.f2, t.f3};
		} else if (TAG("ts")) {
			p[n].tag = PGC(PARAMETER_VALUE_TIMESTAMP);
			p[n].val.timestamp = strtoll(v, NULL, 10);
#if PGV == 4
		} else if (TAG("u")) {
			p[n].tag = PGC(PARAMETER_VALUE_UUID);
			p[n].val.uuid = str_of(v);
		} else if (TAG("j")) {
			p[n].tag = PGC(PARAMETER_VALUE_JSONB);
			p[n].val.jsonb = (guest_list_u8_t){.ptr = (uint8_t *)v, .len = strlen(v)};
		} else if (TAG("dec")) {
			p[n].tag = PGC(PARAMETER_VALUE_DECIMAL);
			p[n].val.decimal = str_of(v);
		} else if (TAG("iv")) {
			long long us = 0;
			int days = 0, months = 0;
			sscanf(v, "%lld,%d,%d", &us, &days, &months);
			p[n].tag = PGC(PARAMETER_VALUE_INTERVAL);
			p[n].val.interval = (PG(interval_t)){us, days, months};
		} else if (TAG("ri32") || TAG("ri64") || TAG("rdec")) {
			char *b[2] = {NULL, NULL}, *val[2] = {NULL, NULL}, *c = strchr(v, ',');
			uint8_t kind[2] = {0, 0};
			bool some[2];
			b[0] = v;
			if (c)
				*c = 0, b[1] = c + 1;
			some[0] = bound(b[0], &kind[0], &val[0]);
			some[1] = bound(b[1], &kind[1], &val[1]);
			if (s[1] == 'd') {
				p[n].tag = PGC(PARAMETER_VALUE_RANGE_DECIMAL);
				p[n].val.range_decimal.f0.is_some = some[0];
				p[n].val.range_decimal.f1.is_some = some[1];
				if (some[0])
					p[n].val.range_decimal.f0.val = (typeof(p[n].val.range_decimal.f0.val)){str_of(val[0]), kind[0]};
				if (some[1])
					p[n].val.range_decimal.f1.val = (typeof(p[n].val.range_decimal.f1.val)){str_of(val[1]), kind[1]};
			} else if (s[2] == '3') {
				p[n].tag = PGC(PARAMETER_VALUE_RANGE_INT32);
				p[n].val.range_int32.f0.is_some = some[0];
				p[n].val.range_int32.f1.is_some = some[1];
				if (some[0])
					p[n].val.range_int32.f0.val = (typeof(p[n].val.range_int32.f0.val)){(int32_t)strtol(val[0], NULL, 10), kind[0]};
				if (some[1])
					p[n].val.range_int32.f1.val = (typeof(p[n].val.range_int32.f1.val)){(int32_t)strtol(val[1], NULL, 10), kind[1]};
			} else {
				p[n].tag = PGC(PARAMETER_VALUE_RANGE_INT64);
				p[n].val.range_int64.f0.is_some = some[0];
				p[n].val.range_int64.f1.is_some = some[1];
				if (some[0])
					p[n].val.range_int64.f0.val = (typeof(p[n].val.range_int64.f0.val)){strtoll(val[0], NULL, 10), kind[0]};
				if (some[1])
					p[n].val.range_int64.f1.val = (typeof(p[n].val.range_int64.f1.val)){strtoll(val[1], NULL, 10), kind[1]};
			}
		} else if (TAG("ai32") || TAG("ai64") || TAG("adec") || TAG("astr")) {
			char *parts[64];
			size_t k = split(v, parts, 64);
			if (s[1] == 'i' && s[2] == '3') {
				guest_option_s32_t *a = xmalloc(sizeof(*a) * (k + 1));
				for (size_t i = 0; i < k; i++)
					a[i] = (guest_option_s32_t){strcmp(parts[i], "n") != 0, (int32_t)strtol(parts[i], NULL, 10)};
				p[n].tag = PGC(PARAMETER_VALUE_ARRAY_INT32);
				p[n].val.array_int32 = (guest_list_option_s32_t){a, k};
			} else if (s[1] == 'i') {
				guest_option_s64_t *a = xmalloc(sizeof(*a) * (k + 1));
				for (size_t i = 0; i < k; i++)
					a[i] = (guest_option_s64_t){strcmp(parts[i], "n") != 0, strtoll(parts[i], NULL, 10)};
				p[n].tag = PGC(PARAMETER_VALUE_ARRAY_INT64);
				p[n].val.array_int64 = (guest_list_option_s64_t){a, k};
			} else {
				guest_option_string_t *a = xmalloc(sizeof(*a) * (k + 1));
				for (size_t i = 0; i < k; i++)
					a[i] = (guest_option_string_t){strcmp(parts[i], "n") != 0, str_of(parts[i])};
				p[n].tag = s[1] == 'd' ? PGC(PARAMETER_VALUE_ARRAY_DECIMAL) : PGC(PARAMETER_VALUE_ARRAY_STR);
				p[n].val.array_str = (guest_list_option_string_t){a, k};
			}
#endif
		} else {
			p[n].tag = PGC(PARAMETER_VALUE_DB_NULL);
		}
#undef TAG
		n++;
		s = bar ? bar + 1 : NULL;
	}
	return n;
}

static void print_time(struct body_out *b, unsigned h, unsigned m, unsigned s, unsigned ns)
{
	body_out_printf(b, "%02u:%02u:%02u.%09u", h, m, s, ns);
}

#if PGV == 4
static void print_bound(struct body_out *b, bool some, uint8_t kind, const char *fmt, long long v,
                        const guest_string_t *str)
{
	if (!some) {
		body_out_printf(b, "-");
		return;
	}
	body_out_printf(b, "%c", kind == PGC(RANGE_BOUND_KIND_INCLUSIVE) ? 'i' : 'e');
	if (str)
		body_out_printf(b, "%.*s", (int)str->len, (const char *)str->ptr);
	else
		body_out_printf(b, fmt, v);
}
#endif

static void print_value(struct body_out *b, const PG(db_value_t) * v)
{
	switch (v->tag) {
	case PGC(DB_VALUE_BOOLEAN):
		body_out_printf(b, "bool:%d", v->val.boolean);
		break;
	case PGC(DB_VALUE_INT8):
		body_out_printf(b, "int8:%d", v->val.int8);
		break;
	case PGC(DB_VALUE_INT16):
		body_out_printf(b, "int16:%d", v->val.int16);
		break;
	case PGC(DB_VALUE_INT32):
		body_out_printf(b, "int32:%d", (int)v->val.int32);
		break;
	case PGC(DB_VALUE_INT64):
		body_out_printf(b, "int64:%lld", (long long)v->val.int64);
		break;
	case PGC(DB_VALUE_FLOATING32):
		body_out_printf(b, "f32:%g", (double)v->val.floating32);
		break;
	case PGC(DB_VALUE_FLOATING64):
		body_out_printf(b, "f64:%.17g", v->val.floating64);
		break;
	case PGC(DB_VALUE_STR):
		body_out_printf(b, "str:%.*s", (int)v->val.str.len, (const char *)v->val.str.ptr);
		break;
	case PGC(DB_VALUE_BINARY):
		body_out_printf(b, "binary:len=%zu,fnv=%016llx", v->val.binary.len,
		                (unsigned long long)fnv1a(FNV_INIT, v->val.binary.ptr, v->val.binary.len));
		break;
	case PGC(DB_VALUE_DATE):
		body_out_printf(b, "date:%d-%02u-%02u", (int)v->val.date.f0, v->val.date.f1, v->val.date.f2);
		break;
	case PGC(DB_VALUE_TIME):
		body_out_printf(b, "time:");
		print_time(b, v->val.time.f0, v->val.time.f1, v->val.time.f2, v->val.time.f3);
		break;
	case PGC(DB_VALUE_DATETIME):
		body_out_printf(b, "datetime:%d-%02u-%02uT", (int)v->val.datetime.f0, v->val.datetime.f1,
		                v->val.datetime.f2);
		print_time(b, v->val.datetime.f3, v->val.datetime.f4, v->val.datetime.f5, v->val.datetime.f6);
		break;
	case PGC(DB_VALUE_TIMESTAMP):
		body_out_printf(b, "timestamp:%lld", (long long)v->val.timestamp);
		break;
#if PGV == 4
	case PGC(DB_VALUE_UUID):
		body_out_printf(b, "uuid:%.*s", (int)v->val.uuid.len, (const char *)v->val.uuid.ptr);
		break;
	case PGC(DB_VALUE_JSONB):
		body_out_printf(b, "jsonb:%.*s", (int)v->val.jsonb.len, (const char *)v->val.jsonb.ptr);
		break;
	case PGC(DB_VALUE_DECIMAL):
		body_out_printf(b, "decimal:%.*s", (int)v->val.decimal.len, (const char *)v->val.decimal.ptr);
		break;
	case PGC(DB_VALUE_RANGE_INT32):
		body_out_printf(b, "range-int32:");
		print_bound(b, v->val.range_int32.f0.is_some, v->val.range_int32.f0.val.f1, "%lld",
		            v->val.range_int32.f0.val.f0, NULL);
		body_out_printf(b, ",");
		print_bound(b, v->val.range_int32.f1.is_some, v->val.range_int32.f1.val.f1, "%lld",
		            v->val.range_int32.f1.val.f0, NULL);
		break;
	case PGC(DB_VALUE_RANGE_INT64):
		body_out_printf(b, "range-int64:");
		print_bound(b, v->val.range_int64.f0.is_some, v->val.range_int64.f0.val.f1, "%lld",
		            (long long)v->val.range_int64.f0.val.f0, NULL);
		body_out_printf(b, ",");
		print_bound(b, v->val.range_int64.f1.is_some, v->val.range_int64.f1.val.f1, "%lld",
		            (long long)v->val.range_int64.f1.val.f0, NULL);
		break;
	case PGC(DB_VALUE_RANGE_DECIMAL):
		body_out_printf(b, "range-decimal:");
		print_bound(b, v->val.range_decimal.f0.is_some, v->val.range_decimal.f0.val.f1, NULL, 0,
		            &v->val.range_decimal.f0.val.f0);
		body_out_printf(b, ",");
		print_bound(b, v->val.range_decimal.f1.is_some, v->val.range_decimal.f1.val.f1, NULL, 0,
		            &v->val.range_decimal.f1.val.f0);
		break;
	case PGC(DB_VALUE_ARRAY_INT32):
		body_out_printf(b, "array-int32:");
		for (size_t i = 0; i < v->val.array_int32.len; i++)
			if (v->val.array_int32.ptr[i].is_some)
				body_out_printf(b, "%s%d", i ? "," : "", (int)v->val.array_int32.ptr[i].val);
			else
				body_out_printf(b, "%sn", i ? "," : "");
		break;
	case PGC(DB_VALUE_ARRAY_INT64):
		body_out_printf(b, "array-int64:");
		for (size_t i = 0; i < v->val.array_int64.len; i++)
			if (v->val.array_int64.ptr[i].is_some)
				body_out_printf(b, "%s%lld", i ? "," : "", (long long)v->val.array_int64.ptr[i].val);
			else
				body_out_printf(b, "%sn", i ? "," : "");
		break;
	case PGC(DB_VALUE_ARRAY_DECIMAL):
	case PGC(DB_VALUE_ARRAY_STR):
		body_out_printf(b, v->tag == PGC(DB_VALUE_ARRAY_STR) ? "array-str:" : "array-decimal:");
		for (size_t i = 0; i < v->val.array_str.len; i++)
			if (v->val.array_str.ptr[i].is_some)
				body_out_printf(b, "%s%.*s", i ? "," : "", (int)v->val.array_str.ptr[i].val.len,
				                (const char *)v->val.array_str.ptr[i].val.ptr);
			else
				body_out_printf(b, "%sn", i ? "," : "");
		break;
	case PGC(DB_VALUE_INTERVAL):
		body_out_printf(b, "interval:%lld,%d,%d", (long long)v->val.interval.micros, (int)v->val.interval.days,
		                (int)v->val.interval.months);
		break;
	case PGC(DB_VALUE_UNSUPPORTED):
		body_out_printf(b, "unsupported:len=%zu", v->val.unsupported.len);
		break;
#endif
	case PGC(DB_VALUE_DB_NULL):
		body_out_printf(b, "null");
		break;
	default:
		body_out_printf(b, "unsupported");
	}
}

static void print_type(struct body_out *b, const PG(column_t) * c)
{
#if PGV == 4
	unsigned t = c->data_type.tag;
	if (t == PGC(DB_DATA_TYPE_OTHER)) {
		body_out_printf(b, "other(%.*s)", (int)c->data_type.val.other.len,
		                (const char *)c->data_type.val.other.ptr);
		return;
	}
#else
	unsigned t = c->data_type;
#endif
	body_out_printf(b, "%s", t < N_TYPES ? type_names[t] : "?");
}

void HANDLE(own_request_t request, own_outparam_t out)
{
	borrow_request_t req = HTTP(borrow_incoming_request)(request);
	char *path = request_path(req), *addr = query_param(path, "addr"), *spec = query_param(path, "p"),
	     *exec = query_param(path, "exec");
	static PG(parameter_value_t) p[MAX_P];
	static uint8_t *bins[MAX_P];
	guest_string_t a = {.ptr = (uint8_t *)(addr ? addr : ""), .len = addr ? strlen(addr) : 0};
	PG(own_connection_t) conn;
	PG(error_t) err;
	size_t len, np = params(spec, p, bins);
	char *sql = read_all(req, &len);
	guest_string_t stmt = {.ptr = (uint8_t *)sql, .len = len};
	PG(list_parameter_value_t) pl = {.ptr = p, .len = np};
	struct body_out b;

	if (!PG(static_connection_open)(&a, &conn, &err)) {
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
		PG(connection_drop_own)(conn);
	} else {
		PG(row_set_t) rs;
		if (!PG(method_connection_query)(PG(borrow_connection)(conn), &stmt, &pl, &rs, &err)) {
			fail(out, &err);
		} else {
			respond(out, 200, fields_of((const char *const[]){"content-type", "text/plain", NULL}), &b);
			body_out_printf(&b, "columns");
			for (size_t i = 0; i < rs.columns.len; i++) {
				body_out_printf(&b, "%s%.*s:", i ? "|" : " ", (int)rs.columns.ptr[i].name.len,
				                (const char *)rs.columns.ptr[i].name.ptr);
				print_type(&b, &rs.columns.ptr[i]);
			}
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
		PG(connection_drop_own)(conn);
	}
	for (size_t i = 0; i < np; i++)
		free(bins[i]);
	free(sql);
	free(path);
	free(addr);
	free(spec);
	free(exec);
	HTTP(incoming_request_drop_own)(request);
}
