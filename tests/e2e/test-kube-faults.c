/* Watch faults the real apiserver cannot produce on demand, made by
 * tests/tools/faultproxy.py between our client and a real apiserver: a stream
 * cut in the middle of an event line, a stream that stalls with the
 * connection open, and an event line far over the watch's line cap.
 *
 * For each fault a kube_watch on ConfigMaps runs through the proxy while a
 * second client, straight to the apiserver, writes sequence numbers
 * (data.seq) into a few ConfigMaps; the fault is switched on, writes go on,
 * it is switched off. Then every sequence number must have reached the
 * handlers (as an event, or superseded in a relist where a relist is the
 * right recovery), none out of order or twice per object, no event half
 * read, the watch must have failed during the fault and recovered after it,
 * with an error message that says what happened, and the oversize line must
 * not have grown the process.
 *
 * Usage: e2e-kube-faults PROXY_KUBECONFIG CONTROL_URL
 *   PROXY_KUBECONFIG  bearer-token kubeconfig whose server is the proxy
 *   CONTROL_URL       the proxy's control endpoint, http://127.0.0.1:PORT
 * Environment: SPINKUBE_TOKEN_KUBECONFIG (the same user, straight to the
 * apiserver). Run through tests/e2e/kube-faults.sh. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "controller/kube/api.h"
#include "common/cleanup.h"
#include "controller/kube/client.h"
#include "controller/kube/config.h"
#include "common/json.h"
#include "tests/tap.h"
#include "controller/kube/watch.h"

#define NS             "faults-test"
#define NOBJ           3 /* ConfigMaps per phase; seq s goes to object (s - 1) % NOBJ */
#define MAXSEQ         2048
#define MAX_MSGS       8
#define WRITE_EVERY_MS 100
#ifndef LINE_CAP
#define LINE_CAP (1u << 20) /* the oversize phase's max_line */
#endif

struct ctx {
	struct kube_client *proxied; /* through faultproxy: the watches */
	struct kube_client *direct;  /* straight to the apiserver: the writes */
	const char *control;
};

/* What one phase wrote and what its watch handed over. */
struct phase {
	const char *name;
	bool strict; /* every seq must arrive as an event (no relist expected) */
	struct kube_watch *w;
	int64_t written; /* highest seq written */
	unsigned write_failures;
	int64_t last[NOBJ]; /* highest seq known per object, from events or lists */
	uint8_t by_event[MAXSEQ + 1];
	uint8_t by_list[MAXSEQ + 1]; /* superseded: a later list showed a higher or equal seq */
	unsigned order_errors, garbled, deleted;
	char problem[256]; /* the first ordering or garbling problem */
	unsigned errors;
	int64_t first_error_ms;
	int codes[MAX_MSGS];
	char msgs[MAX_MSGS][SK_ERR_MESSAGE_MAX];
};

static void bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static void problem(struct phase *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct phase *p, const char *fmt, ...)
{
	va_list ap;

	if (p->problem[0])
		return;
	va_start(ap, fmt);
	vsnprintf(p->problem, sizeof(p->problem), fmt, ap);
	va_end(ap);
}

/* --- the proxy's control endpoint ---------------------------------------------- */

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
	struct sk_buf *b = ud;
	return sk_buf_append(b, data, size * n) < 0 ? 0 : size * n;
}

/* GET CONTROL/what; the answer is the proxy's counters (caller puts). */
static json_object *control(struct ctx *x, const char *what)
{
	_cleanup_free_ char *url = NULL;
	struct sk_buf body = sk_buf_make(64 << 10);
	json_object *out = NULL;
	long status = 0;
	CURL *e = curl_easy_init();

	if (!e || asprintf(&url, "%s/%s", x->control, what) < 0)
		bail("out of memory");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	CURLcode cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	if (cc != CURLE_OK || status != 200 || sk_json_parse(body.data, body.len, &out, NULL) < 0)
		bail("faultproxy control %s: %s (HTTP %ld) %s", url, curl_easy_strerror(cc), status,
		     body.data ? body.data : "");
	sk_buf_free(&body);
	return out;
}

static int64_t proxy_count(struct ctx *x, const char *key)
{
	_cleanup_json_ json_object *st = control(x, "stats");
	int64_t v = 0;
	(void)sk_json_int64(st, key, &v);
	return v;
}

static void fault(struct ctx *x, const char *query)
{
	_cleanup_free_ char *what = NULL;
	if (asprintf(&what, "fault?%s", query) < 0)
		bail("out of memory");
	json_object_put(control(x, what));
}

/* --- what the watch hands over ------------------------------------------------------ */

/* Which of this phase's objects a name is ("<phase>-<i>"), or -1. */
static int object_index(const struct phase *p, const char *name)
{
	size_t n = strlen(p->name);
	char *end;

	if (!name || strncmp(name, p->name, n) != 0 || name[n] != '-')
		return -1;
	long i = strtol(name + n + 1, &end, 10);
	return (*end || end == name + n + 1 || i < 0 || i >= NOBJ) ? -1 : (int)i;
}

/* Check that an object is one of ours, whole, and read its seq. Returns the
 * object index or -1 (and counts it as garbled). */
static int read_object(struct phase *p, json_object *obj, const char *how, int64_t *seq)
{
	const char *name = sk_json_str(obj, "metadata.name"), *ns = sk_json_str(obj, "metadata.namespace");
	const char *rv = sk_json_str(obj, "metadata.resourceVersion"), *s = sk_json_str(obj, "data.seq");
	const char *kind = sk_json_str(obj, "kind");
	int i = object_index(p, name);
	char *end = NULL;

	/* LIST items carry no kind; events do. */
	if (i < 0 || !ns || strcmp(ns, NS) != 0 || !rv || !*rv || !s ||
	    (kind && strcmp(kind, "ConfigMap") != 0) || (strcmp(how, "event") == 0 && !kind)) {
		p->garbled++;
		problem(p, "%s of an unexpected or incomplete object: %.160s", how,
		        json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		return -1;
	}
	*seq = strtoll(s, &end, 10);
	if (*end || end == s || *seq < 0 || *seq > p->written) {
		p->garbled++;
		problem(p, "%s of %s with data.seq \"%s\" (written so far: %" PRId64 ")", how, name, s,
		        p->written);
		return -1;
	}
	return i;
}

static void on_list_item(json_object *item, void *ud)
{
	struct phase *p = ud;
	int64_t seq;
	int i = read_object(p, item, "list item", &seq);

	if (i < 0)
		return;
	if (seq < p->last[i]) {
		p->order_errors++;
		problem(p, "a list showed %s-%d at seq %" PRId64 " after seq %" PRId64, p->name, i, seq,
		        p->last[i]);
	}
	p->last[i] = seq;
	for (int64_t s = seq; s > 0; s -= NOBJ)
		p->by_list[s] = 1;
}

static void on_event(enum kube_event_type t, json_object *obj, void *ud)
{
	struct phase *p = ud;
	int64_t seq;
	int i;

	if (t == KUBE_EVENT_BOOKMARK) {
		if (!sk_json_str(obj, "metadata.resourceVersion")) {
			p->garbled++;
			problem(p, "a bookmark without a resourceVersion");
		}
		return;
	}
	if (t == KUBE_EVENT_DELETED)
		p->deleted++;
	i = read_object(p, obj, "event", &seq);
	if (i < 0)
		return;
	if (seq <= p->last[i]) {
		p->order_errors++;
		problem(p, "an event brought %s-%d seq %" PRId64 " after seq %" PRId64, p->name, i, seq,
		        p->last[i]);
	}
	p->last[i] = seq;
	if (seq > 0)
		p->by_event[seq] = 1;
}

static void on_error(const struct sk_error *err, long retry_ms, void *ud)
{
	struct phase *p = ud;

	if (p->errors < MAX_MSGS) {
		p->codes[p->errors] = err->code;
		snprintf(p->msgs[p->errors], sizeof(p->msgs[0]), "%s", err->message);
	}
	if (p->errors == 0)
		p->first_error_ms = kube_now_ms();
	p->errors++;
	printf("# %s: watch error %d (retry in %ld ms): %s\n", p->name, err->code, retry_ms, err->message);
}

static const struct kube_watch_handlers handlers = {
	.list_item = on_list_item,
	.event = on_event,
	.error = on_error,
};

/* --- driving ------------------------------------------------------------------------ */

static void pump(struct ctx *x, long ms)
{
	int64_t until = kube_now_ms() + ms;
	int64_t left;

	while ((left = until - kube_now_ms()) > 0)
		if (kube_client_run(x->proxied, (int)(left < 50 ? left : 50)) < 0)
			bail("the proxied client's loop failed");
}

/* Write the next sequence number into its object, straight to the apiserver. */
static void write_next(struct ctx *x, struct phase *p)
{
	char name[64], patch[64];
	struct sk_error err = { 0 };
	_cleanup_json_ json_object *out = NULL;

	if (p->written >= MAXSEQ)
		bail("%s: more than %d writes", p->name, MAXSEQ);
	int64_t seq = ++p->written;
	snprintf(name, sizeof(name), "%s-%d", p->name, (int)((seq - 1) % NOBJ));
	snprintf(patch, sizeof(patch), "{\"data\":{\"seq\":\"%" PRId64 "\"}}", seq);
	if (kube_patch(x->direct, &KUBE_CONFIGMAPS, NS, name, NULL, KUBE_PATCH_MERGE, patch, NULL, false,
	               &out, &err) < 0) {
		p->write_failures++;
		printf("# %s: write %" PRId64 " failed: %s\n", p->name, seq, err.message);
	}
}

static bool seen(const struct phase *p, int64_t seq)
{
	return p->by_event[seq] || (!p->strict && p->by_list[seq]);
}

static int64_t missing(const struct phase *p, int64_t upto, int64_t *first)
{
	int64_t n = 0;
	for (int64_t s = upto; s >= 1; s--)
		if (!seen(p, s)) {
			n++;
			*first = s;
		}
	return n;
}

typedef bool (*cond_fn)(struct ctx *x, struct phase *p);

/* Write every WRITE_EVERY_MS and run the watch until cond holds or ms pass. */
static bool drive(struct ctx *x, struct phase *p, long ms, cond_fn cond)
{
	int64_t deadline = kube_now_ms() + ms;

	while (kube_now_ms() < deadline) {
		write_next(x, p);
		pump(x, WRITE_EVERY_MS);
		if (cond(x, p))
			return true;
	}
	return cond(x, p);
}

static bool warm(struct ctx *x, struct phase *p)
{
	int64_t first;
	return p->written >= 5 && missing(p, p->written - 1, &first) == 0;
}

/* Run the watch without writing until every seq arrived or ms pass. */
static bool settle(struct ctx *x, struct phase *p, long ms)
{
	int64_t deadline = kube_now_ms() + ms, first;

	while (missing(p, p->written, &first) > 0 && kube_now_ms() < deadline)
		pump(x, 20);
	return missing(p, p->written, &first) == 0;
}

static struct kube_watch_stats stats(const struct phase *p)
{
	struct kube_watch_stats s;
	kube_watch_get_stats(p->w, &s);
	return s;
}

static long vm_hwm_kib(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &v) == 1)
			break;
	return v;
}

static bool any_msg(const struct phase *p, const char *const *words)
{
	for (unsigned i = 0; i < p->errors && i < MAX_MSGS; i++)
		for (const char *const *w = words; *w; w++)
			if (strstr(p->msgs[i], *w))
				return true;
	return false;
}

/* There were errors and each one (of those kept) has this code. */
static bool all_codes(const struct phase *p, int code)
{
	for (unsigned i = 0; i < p->errors && i < MAX_MSGS; i++)
		if (p->codes[i] != code)
			return false;
	return p->errors > 0;
}

static void show_errors(const struct phase *p)
{
	for (unsigned i = 0; i < p->errors && i < MAX_MSGS; i++)
		printf("#   %d %s\n", p->codes[i], p->msgs[i]);
}

/* One fault from start to end. */
struct spec {
	const char *name;
	const char *fault;   /* control query */
	const char *counter; /* proxy counter that shows the fault was applied */
	long stall_ms;
	size_t max_line;
	bool strict;
	cond_fn enough; /* the fault did what we wanted; switch it off */
};

struct result {
	struct kube_watch_stats before, during, after;
	int64_t applied;
	int64_t on_ms; /* fault switched on */
	bool warmed, recovered;
	int64_t recovery_ms;
};

static void create_objects(struct ctx *x, const char *phase)
{
	for (int i = 0; i < NOBJ; i++) {
		char buf[512];
		_cleanup_json_ json_object *obj = NULL;
		struct sk_error err = { 0 };
		snprintf(buf, sizeof(buf),
		         "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s-%d\","
		         "\"labels\":{\"faults-phase\":\"%s\"}},\"data\":{\"seq\":\"0\"}}",
		         phase, i, phase);
		if (sk_json_parse(buf, strlen(buf), &obj, NULL) < 0 ||
		    kube_create(x->direct, &KUBE_CONFIGMAPS, NS, obj, NULL, &err) < 0)
			bail("create ConfigMap %s-%d: %s", phase, i, err.message);
	}
}

static void run_phase(struct ctx *x, const struct spec *sp, struct phase *p, struct result *r)
{
	char selector[96];
	struct sk_error err = { 0 };
	int64_t first = 0;

	memset(p, 0, sizeof(*p));
	memset(r, 0, sizeof(*r));
	p->name = sp->name;
	p->strict = sp->strict;
	create_objects(x, sp->name);
	snprintf(selector, sizeof(selector), "faults-phase=%s", sp->name);
	struct kube_watch_opts o = { .res = &KUBE_CONFIGMAPS, .ns = NS, .label_selector = selector,
				     .stall_ms = sp->stall_ms, .max_line = sp->max_line,
				     .backoff_base_ms = 100, .backoff_cap_ms = 1000 };
	if (kube_watch_start(x->proxied, &o, &handlers, p, &p->w, &err) < 0)
		bail("%s: kube_watch_start: %s", sp->name, err.message);

	/* Writes start after the first list, so that each one must come as an
	 * event. */
	for (int64_t deadline = kube_now_ms() + 15000; stats(p).streams == 0 && kube_now_ms() < deadline;)
		pump(x, 20);
	r->warmed = drive(x, p, 15000, warm);
	r->before = stats(p);
	int64_t applied0 = proxy_count(x, sp->counter);

	fault(x, sp->fault);
	r->on_ms = kube_now_ms();
	(void)drive(x, p, 25000, sp->enough);
	fault(x, "mode=none");
	r->during = stats(p);
	r->applied = proxy_count(x, sp->counter) - applied0;

	/* Recovery: writes after the fault arrive, then nothing is missing. */
	int64_t off_ms = kube_now_ms();
	for (int i = 0; i < 5; i++) {
		write_next(x, p);
		pump(x, WRITE_EVERY_MS);
	}
	r->recovered = settle(x, p, 20000);
	r->recovery_ms = kube_now_ms() - off_ms;
	r->after = stats(p);
	if (!r->recovered)
		printf("# %s: %" PRId64 " of %" PRId64 " writes never arrived, the first is %" PRId64 "\n",
		       p->name, missing(p, p->written, &first), p->written, first);
	printf("# %s: lists %" PRIu64 " streams %" PRIu64 " events %" PRIu64 " errors %" PRIu64
	       " bytes %" PRIu64 "; %" PRId64 " writes; fault applied %" PRId64
	       " times; recovered in %" PRId64 " ms\n",
	       p->name, r->after.lists, r->after.streams, r->after.events, r->after.errors, r->after.bytes,
	       p->written, r->applied, r->recovery_ms);
	kube_watch_stop(p->w);
	p->w = NULL;
}

/* The checks every fault shares. */
static void common_checks(const struct spec *sp, const struct phase *p, const struct result *r)
{
	int64_t first = 0, n;

	ok(r->warmed, "%s: before the fault, writes arrive through the proxy as events", sp->name);
	is_int(r->before.errors, 0, "%s: no watch error before the fault", sp->name);
	ok(r->applied > 0, "%s: the proxy applied the fault (%" PRId64 " times)", sp->name, r->applied);
	ok(r->during.errors > r->before.errors,
	   "%s: the watch failed while the fault was on (%" PRIu64 " errors)", sp->name,
	   r->during.errors - r->before.errors);
	ok(r->after.streams > r->before.streams, "%s: the watch reconnected (%" PRIu64 " streams)", sp->name,
	   r->after.streams);
	ok(r->recovered, "%s: after the fault every write arrived (recovered in %" PRId64 " ms)", sp->name,
	   r->recovery_ms);
	n = missing(p, p->written, &first);
	if (!ok(n == 0, "%s: all %" PRId64 " sequence numbers reached the handler %s", sp->name, p->written,
	        sp->strict ? "as events" : "(as events or in a relist)"))
		printf("#   %" PRId64 " missing, the first %" PRId64 "\n", n, first);
	if (!ok(p->order_errors == 0, "%s: no object's sequence went backwards or repeated", sp->name))
		printf("#   %u times; %s\n", p->order_errors, p->problem);
	if (!ok(p->garbled == 0 && p->deleted == 0,
	        "%s: every event handed over was whole: one of our ConfigMaps with kind, namespace, "
	        "resourceVersion and a written data.seq",
	        sp->name))
		printf("#   %u garbled, %u deleted; %s\n", p->garbled, p->deleted, p->problem);
	is_int(p->write_failures, 0, "%s: every write straight to the apiserver succeeded", sp->name);
}

/* --- the faults ------------------------------------------------------------------------ */

static bool two_errors(struct ctx *x, struct phase *p)
{
	return p->errors >= 2;
}

static bool three_cut_kinds(struct ctx *x, struct phase *p)
{
	_cleanup_json_ json_object *st = control(x, "stats");
	json_object *kinds = sk_json_arr(st, "cut_kinds");
	for (size_t i = 0; i < 3; i++)
		if (!kinds || json_object_get_int64(json_object_array_get_idx(kinds, i)) < 1)
			return false;
	return p->errors >= 3;
}

static bool one_error(struct ctx *x, struct phase *p)
{
	return p->errors >= 1;
}

static void cut_checks(const struct spec *sp, const struct phase *p, const struct result *r)
{
	is_int(r->after.lists, 1, "%s: the watch resumed from its resourceVersion without listing again",
	       sp->name);
	if (!ok(all_codes(p, -ECONNRESET),
	        "%s: each failure is a broken connection (-ECONNRESET), none an undecodable event", sp->name))
		show_errors(p);
}

int main(int argc, char **argv)
{
	struct kube_config *pcfg = NULL, *dcfg = NULL;
	struct sk_error err = { 0 };
	struct ctx x = { 0 };
	struct phase *p = calloc(1, sizeof(*p));
	struct result r;

	if (argc != 3)
		bail("usage: %s PROXY_KUBECONFIG CONTROL_URL", argv[0]);
	const char *direct_path = getenv("SPINKUBE_TOKEN_KUBECONFIG");
	if (!direct_path || !p)
		bail("SPINKUBE_TOKEN_KUBECONFIG is not set (run through tests/e2e/kube-faults.sh)");
	setvbuf(stdout, NULL, _IOLBF, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	x.control = argv[2];

	struct kube_config_opts po = { .explicit_path = argv[1] }, dopts = { .explicit_path = direct_path };
	if (kube_config_load(&po, &pcfg, &err) < 0 || kube_config_load(&dopts, &dcfg, &err) < 0)
		bail("%s", err.message);
	struct kube_client_opts popts = { .http1_only = true }, dco = { 0 };
	if (kube_client_new(pcfg, &popts, &x.proxied, &err) < 0 ||
	    kube_client_new(dcfg, &dco, &x.direct, &err) < 0)
		bail("%s", err.message);

	{
		char buf[256];
		_cleanup_json_ json_object *ns = NULL;
		snprintf(buf, sizeof(buf),
		         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", NS);
		if (sk_json_parse(buf, strlen(buf), &ns, NULL) < 0 ||
		    (kube_create(x.direct, &KUBE_NAMESPACES, NULL, ns, NULL, &err) < 0 &&
		     err.code != -EEXIST))
			bail("create namespace %s: %s", NS, err.message);
	}

	/* A cut after two whole events: the watch resumes from the last
	 * resourceVersion and loses nothing. */
	{
		const struct spec sp = { .name = "cut",
		                         .fault = "mode=cut&lines=2",
		                         .counter = "cuts",
		                         .strict = true,
		                         .enough = two_errors };
		run_phase(&x, &sp, p, &r);
		common_checks(&sp, p, &r);
		cut_checks(&sp, p, &r);
	}

	/* Cuts inside the very first line of each stream, after its first byte,
	 * half of it, and all of it but the newline: whatever was read of the
	 * cut line is dropped with the connection, never handed over or glued
	 * to the next stream's first line. */
	{
		const struct spec sp = { .name = "cut-midline",
		                         .fault = "mode=cut&lines=0",
		                         .counter = "cuts",
		                         .strict = true,
		                         .enough = three_cut_kinds };
		_cleanup_json_ json_object *st0 = control(&x, "stats");
		run_phase(&x, &sp, p, &r);
		_cleanup_json_ json_object *st1 = control(&x, "stats");
		common_checks(&sp, p, &r);
		cut_checks(&sp, p, &r);
		bool kinds = true;
		for (size_t i = 0; i < 3; i++)
			kinds &=
			    json_object_get_int64(json_object_array_get_idx(sk_json_arr(st1, "cut_kinds"), i)) >
			    json_object_get_int64(json_object_array_get_idx(sk_json_arr(st0, "cut_kinds"), i));
		ok(kinds,
		   "%s: the proxy cut after the first byte, after half, and before the newline of a line",
		   sp.name);
	}

	/* A stream that stops sending with the connection open: stall_ms ends
	 * it and the watch resumes where it was (the proxy would hold it for
	 * 60 s). The client times the silence itself, so the stream ends
	 * stall_ms after its last byte; that byte is the one line the proxy
	 * still forwards after the fault goes on, so allow 2 s for it. */
	{
		const long stall_ms = 2000;
		const struct spec sp = { .name = "stall",
		                         .fault = "mode=stall&lines=1&seconds=60",
		                         .counter = "stalls",
		                         .stall_ms = stall_ms,
		                         .strict = true,
		                         .enough = one_error };
		run_phase(&x, &sp, p, &r);
		common_checks(&sp, p, &r);
		is_int(r.after.lists, 1,
		       "%s: the watch resumed from its resourceVersion without listing again", sp.name);
		if (!ok(all_codes(p, -ETIMEDOUT), "%s: each failure is a timeout (-ETIMEDOUT)", sp.name))
			show_errors(p);
		static const char *const words[] = { "too slow", "timed out", "stall", NULL };
		if (!ok(any_msg(p, words), "%s: the error message says the stream stalled", sp.name))
			printf("#   %s\n", p->msgs[0]);
		int64_t took = p->first_error_ms - r.on_ms;
		ok(p->first_error_ms && took >= stall_ms - 200 && took <= stall_ms + 2000,
		   "%s: the stall was detected %" PRId64 " ms after the fault went on (stall_ms %ld)",
		   sp.name, p->first_error_ms ? took : -1, stall_ms);
		ok(proxy_count(&x, "client_gone") > 0, "%s: the client hung up on the stalled connection",
		   sp.name);
	}

	/* An event line of 20 MiB against a 1 MiB line cap: the stream ends at
	 * the cap, the watch lists again, and the process does not grow by the
	 * line. */
	{
		const struct spec sp = { .name = "oversize",
		                         .fault = "mode=oversize&bytes=20971520",
		                         .counter = "injections",
		                         .max_line = LINE_CAP,
		                         .strict = false,
		                         .enough = two_errors };
		long hwm0 = vm_hwm_kib();
		run_phase(&x, &sp, p, &r);
		long hwm1 = vm_hwm_kib();
		common_checks(&sp, p, &r);
		ok(r.after.lists > 1,
		   "%s: the watch listed again after the oversize line (%" PRIu64 " lists)", sp.name,
		   r.after.lists);
		if (!ok(all_codes(p, -E2BIG), "%s: each failure is the line cap (-E2BIG)", sp.name))
			show_errors(p);
		char want[64];
		snprintf(want, sizeof(want), "longer than %u bytes", LINE_CAP);
		const char *const words[] = { want, NULL };
		if (!ok(any_msg(p, words), "%s: the error message says the event is %s", sp.name, want))
			printf("#   %s\n", p->msgs[0]);
#ifdef __SANITIZE_ADDRESS__
		/* AddressSanitizer keeps freed blocks in quarantine, so peak
		 * memory counts every buffer the stream ever used. */
		ok(1, "%s: peak memory # SKIP AddressSanitizer's quarantine (grew by %ld KiB)", sp.name,
		   hwm1 - hwm0);
#else
		ok(hwm0 > 0 && hwm1 - hwm0 < 10 * 1024,
		   "%s: peak memory grew by %ld KiB while 20 MiB lines came in (cap %u KiB)", sp.name,
		   hwm1 - hwm0, LINE_CAP >> 10);
#endif
	}

	kube_client_free(x.proxied);
	kube_client_free(x.direct);
	kube_config_free(pcfg);
	kube_config_free(dcfg);
	free(p);
	curl_global_cleanup();
	return tap_done();
}
