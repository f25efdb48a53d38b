/* wasi:http trailers: reads the request body (hashing it), then its
 * trailers (incoming-body.finish and the future-trailers it returns), and
 * answers 200 text/plain:
 *
 *   body-bytes N
 *   body-fnv1a64 HEX
 *   trailer NAME: VALUE     for each request trailer, in the order given
 *   trailers none           instead, when the request had none
 *   trailers-error CASE     instead, when the runtime could not read them
 *
 * then ends its own body with the trailer "x-checksum: HEX", FNV-1a 64 of
 * the response body, announced in the header "trailer: x-checksum". */
#include "http.h"

/* A growable text; the report is a few lines, capped at 64 KiB. */
struct text {
	char p[64 * 1024];
	size_t len;
};

__attribute__((format(printf, 2, 3))) static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->p + t->len, sizeof(t->p) - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->p) - t->len)
		die("trailers: report over %zu bytes", sizeof(t->p));
	t->len += (size_t)n;
}

/* add_trailers waits for the request's trailers and reports them. */
static void add_trailers(struct text *t, HTTP(own_future_trailers_t) future)
{
	HTTP(borrow_future_trailers_t) fb = HTTP(borrow_future_trailers)(future);
	HTTP(own_pollable_t) ready = HTTP(method_future_trailers_subscribe)(fb);
	HTTP(result_result_option_own_trailers_error_code_void_t) got;

	POLL(method_pollable_block)(POLL(borrow_pollable)(ready));
	POLL(pollable_drop_own)(ready);
	if (!HTTP(method_future_trailers_get)(fb, &got) || got.is_err)
		die("future-trailers.get: not ready after its pollable was, or read twice");
	if (got.val.ok.is_err) {
		add(t, "trailers-error %s\n", error_code_name(&got.val.ok.val.err));
		HTTP(error_code_free)(&got.val.ok.val.err);
	} else if (!got.val.ok.val.ok.is_some) {
		add(t, "trailers none\n");
	} else {
		own_fields_t tr = got.val.ok.val.ok.val;
		HTTP(list_tuple2_field_name_field_value_t) all;
		HTTP(method_fields_entries)(HTTP(borrow_fields)(tr), &all);
		for (size_t i = 0; i < all.len; i++)
			add(t, "trailer %.*s: %.*s\n", (int)all.ptr[i].f0.len,
			    (const char *)all.ptr[i].f0.ptr, (int)all.ptr[i].f1.len,
			    (const char *)all.ptr[i].f1.ptr);
		HTTP(list_tuple2_field_name_field_value_free)(&all);
		HTTP(fields_drop_own)(tr);
	}
	HTTP(future_trailers_drop_own)(future);
}

static struct text report;

void HANDLE(own_request_t request, own_outparam_t out)
{
	static const char *const headers[] = {"content-type", "text/plain", "trailer", "x-checksum", NULL};
	HTTP(own_future_trailers_t) future;
	struct body_in in;
	struct body_out b;
	guest_list_u8_t chunk;
	uint64_t hash = FNV_INIT, len = 0;
	char sum[17];
	int r;

	body_in_open(HTTP(borrow_incoming_request)(request), &in);
	while ((r = body_in_read(&in, CHUNK, &chunk)) > 0) {
		hash = fnv1a(hash, chunk.ptr, chunk.len);
		len += chunk.len;
		guest_list_u8_free(&chunk);
	}
	body_in_finish(&in, &future);
	HTTP(incoming_request_drop_own)(request);
	if (r < 0) {
		HTTP(future_trailers_drop_own)(future);
		respond_text(out, 400, "the request body broke off\n");
		return;
	}
	add(&report, "body-bytes %llu\nbody-fnv1a64 %016llx\n", (unsigned long long)len,
	    (unsigned long long)hash);
	add_trailers(&report, future);

	respond(out, 200, fields_of(headers), &b);
	if (body_out_write(&b, report.p, report.len) < 0) {
		body_out_abandon(&b);
		return;
	}
	snprintf(sum, sizeof(sum), "%016llx",
	         (unsigned long long)fnv1a(FNV_INIT, (const uint8_t *)report.p, report.len));
	own_fields_t trailers = fields_of((const char *const[]){"x-checksum", sum, NULL});
	body_out_finish(&b, &trailers);
}
