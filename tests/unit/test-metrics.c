/* The controller's metrics: the text exposition format (escaping, number
 * forms, histogram buckets, _sum and _count), the registry's page (every
 * family once, in name order, with controller-runtime's labels), the work
 * queue observer, /proc figures and the token review cache. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/kube/queue.h"
#include "controller/metrics/expo.h"
#include "controller/metrics/metrics.h"
#include "controller/metrics/review-cache.h"
#include "tests/tap.h"

static const char *fmt(double v)
{
	static char buf[40];

	expo_format_double(buf, sizeof(buf), v);
	return buf;
}

/* The value of the first line that starts with prefix followed by ' '. */
static double sample(const char *page, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = page; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return NAN;
}

static void test_numbers(void)
{
	is_str(fmt(1e-8), "1e-08", "1e-8 as Go writes it");
	is_str(fmt(0.005), "0.005", "0.005");
	is_str(fmt(0.0001), "0.0001", "0.0001 stays decimal");
	is_str(fmt(1000), "1000", "1000");
	is_str(fmt(1e6), "1e+06", "1e6 in exponent form");
	is_str(fmt(12.3456), "12.3456", "the shortest digits that read back");
	is_str(fmt(0.1 + 0.2), "0.30000000000000004", "... all 17 when needed");
	is_str(fmt(0), "0", "zero");
	is_str(fmt(-2.5), "-2.5", "negative");
	is_str(fmt(INFINITY), "+Inf", "+Inf");
	is_str(fmt(-INFINITY), "-Inf", "-Inf");
	is_str(fmt(NAN), "NaN", "NaN");
}

static void test_writer(void)
{
	struct sk_buf b = sk_buf_make(1 << 16);
	struct expo_writer w = { .b = &b };
	struct expo_label l[2] = { { "controller", "a\"b\\c\nd" }, { "x", "" } };

	expo_family(&w, "t_total", "help with \\ and\nnewline \"kept\"", "counter");
	expo_sample_u64(&w, "t_total", l, 2, 18446744073709551615ull);
	expo_sample(&w, "t_gauge", NULL, 0, 0.25);
	is_int(w.err, 0, "written");
	is_str(b.data,
	       "# HELP t_total help with \\\\ and\\nnewline \"kept\"\n"
	       "# TYPE t_total counter\n"
	       "t_total{controller=\"a\\\"b\\\\c\\nd\",x=\"\"} 18446744073709551615\n"
	       "t_gauge 0.25\n",
	       "HELP escapes \\ and newline, label values also \"; counters are exact integers");

	static const double bounds[] = { 0.1, 1, 10 };
	struct expo_hist h;
	expo_hist_init(&h, bounds, 3);
	expo_hist_observe(&h, 0.05);
	expo_hist_observe(&h, 0.1);
	expo_hist_observe(&h, 5);
	expo_hist_observe(&h, 100);
	sk_buf_reset(&b);
	struct expo_label one = { "controller", "spinapp" };
	expo_histogram(&w, "t_seconds", &one, 1, &h);
	is_str(b.data,
	       "t_seconds_bucket{controller=\"spinapp\",le=\"0.1\"} 2\n"
	       "t_seconds_bucket{controller=\"spinapp\",le=\"1\"} 2\n"
	       "t_seconds_bucket{controller=\"spinapp\",le=\"10\"} 3\n"
	       "t_seconds_bucket{controller=\"spinapp\",le=\"+Inf\"} 4\n"
	       "t_seconds_sum{controller=\"spinapp\"} 105.15\n"
	       "t_seconds_count{controller=\"spinapp\"} 4\n",
	       "histogram: cumulative buckets (a bound is inclusive), +Inf, _sum, _count");
	sk_buf_free(&b);

	struct sk_buf small = sk_buf_make(16);
	struct expo_writer ws = { .b = &small };
	expo_family(&ws, "a_long_family_name", "help", "gauge");
	expo_sample(&ws, "a", NULL, 0, 1);
	is_int(ws.err, -E2BIG, "a page over its cap is a sticky -E2BIG");
	sk_buf_free(&small);
}

static void test_page(void)
{
	struct ctrl_metrics *m = NULL;
	struct sk_buf b = sk_buf_make(1 << 20);

	is_int(ctrl_metrics_new(32, "127.0.0.1:6443", &m), 0, "registry made");
	m->leader_election = true;
	snprintf(m->lease_name, sizeof(m->lease_name), "spin-controller.spinkube.dev");
	m->leading = true;
	ctrl_metrics_reconcile_start(m, CM_SPINAPP);
	ctrl_metrics_reconcile_start(m, CM_SPINAPP);
	ctrl_metrics_reconcile_end(m, CM_SPINAPP, CM_ERROR, 0.02);
	ctrl_metrics_reconcile_start(m, CM_SPINAPPEXECUTOR);
	ctrl_metrics_reconcile_end(m, CM_SPINAPPEXECUTOR, CM_SUCCESS, 0.001);
	ctrl_metrics_rest(m, "GET", 200);
	ctrl_metrics_rest(m, "GET", 200);
	ctrl_metrics_rest(m, "PATCH", 409);
	ctrl_metrics_rest(m, "GET", 0);
	ctrl_metrics_rest(m, "get\n", 200);
	for (int i = 0; i < 2000; i++)
		ctrl_metrics_rest(m, "POST", 100 + i % 500);
	ok(m->nrest <= CM_REST_MAX, "the REST table stays within its %d rows however many codes come", CM_REST_MAX);

	is_int(ctrl_metrics_render(m, ctrl_metrics_now_ns(), &b), 0, "page rendered");
	const char *p = b.data;
	is_int((int)sample(p, "controller_runtime_reconcile_total{controller=\"spinapp\",result=\"error\"}"), 1,
	       "reconcile_total{controller=spinapp,result=error} 1");
	is_int((int)sample(p, "controller_runtime_reconcile_total{controller=\"spinappexecutor\",result=\"success\"}"), 1,
	       "... result=success for the executor controller");
	is_int((int)sample(p, "controller_runtime_reconcile_total{controller=\"spinapp\",result=\"requeue_after\"}"), 0,
	       "... every result listed, at 0 too");
	is_int((int)sample(p, "controller_runtime_reconcile_errors_total{controller=\"spinapp\"}"), 1, "errors_total 1");
	is_int((int)sample(p, "controller_runtime_active_workers{controller=\"spinapp\"}"), 1, "one worker still active");
	is_int((int)sample(p, "controller_runtime_max_concurrent_reconciles{controller=\"spinapp\"}"), 32,
	       "max_concurrent_reconciles 32");
	is_int((int)sample(p, "controller_runtime_reconcile_time_seconds_bucket{controller=\"spinapp\",le=\"0.025\"}"), 1,
	       "reconcile time in controller-runtime's buckets (le=0.025)");
	is_int((int)sample(p, "controller_runtime_reconcile_time_seconds_bucket{controller=\"spinapp\",le=\"60\"}"), 1,
	       "... up to le=60");
	is_int((int)sample(p, "rest_client_requests_total{code=\"200\",host=\"127.0.0.1:6443\",method=\"GET\"}"), 2,
	       "rest_client_requests_total{code,host,method}");
	is_int((int)sample(p, "rest_client_requests_total{code=\"<error>\",host=\"127.0.0.1:6443\",method=\"GET\"}"), 1,
	       "... a failed transfer is code <error>");
	is_int((int)sample(p, "rest_client_requests_total{code=\"200\",host=\"127.0.0.1:6443\",method=\"other\"}"), 1,
	       "... a method that is not one is \"other\"");
	is_int((int)sample(p, "leader_election_master_status{name=\"spin-controller.spinkube.dev\"}"), 1,
	       "leader_election_master_status{name} 1 while leading");
	is_int((int)sample(p, "workqueue_depth{controller=\"spinapp\",name=\"spinapp\"}"), 0, "workqueue_depth{controller,name}");
	ok(strstr(p, "workqueue_work_duration_seconds_bucket{controller=\"spinapp\",name=\"spinapp\",le=\"1e-08\"} 0\n") != NULL,
	   "workqueue histograms in client-go's buckets from 1e-08");
	ok(sample(p, "process_resident_memory_bytes") > 1e5 && sample(p, "process_open_fds") >= 3 &&
	       sample(p, "process_max_fds") > 0 && sample(p, "process_start_time_seconds") > 1.6e9 &&
	       sample(p, "process_virtual_memory_bytes") > sample(p, "process_resident_memory_bytes") &&
	       sample(p, "process_cpu_seconds_total") >= 0,
	   "process_* from /proc: resident, virtual, fds, start time, CPU");

	/* Every family once, with HELP then TYPE, in name order; every sample
	 * line belongs to the family above it. */
	char prev[128] = "", fam[128] = "";
	int families = 0, sorted = 1, orphan = 0;
	for (const char *q = p; *q; q = strchr(q, '\n') + 1) {
		if (strncmp(q, "# HELP ", 7) == 0) {
			sscanf(q + 7, "%127s", fam);
			if (strcmp(fam, prev) <= 0)
				sorted = 0;
			snprintf(prev, sizeof(prev), "%s", fam);
			families++;
		} else if (q[0] != '#') {
			if (strncmp(q, fam, strlen(fam)) != 0)
				orphan++;
		}
	}
	is_int(families, 20, "20 families");
	ok(sorted, "families in name order, each once");
	is_int(orphan, 0, "every sample under its own family");

	m->leader_election = false;
	sk_buf_reset(&b);
	ctrl_metrics_render(m, ctrl_metrics_now_ns(), &b);
	ok(strstr(b.data, "leader_election_master_status") == NULL, "no leader_election series without --leader-elect");
	sk_buf_free(&b);
	ctrl_metrics_free(m);
}

static void test_queue(void)
{
	struct ctrl_metrics *m = NULL;
	struct kube_queue *q = NULL;
	struct kube_queue_observer obs;
	const char *k;

	ctrl_metrics_new(4, "h", &m);
	kube_queue_new(NULL, 0, &q);
	ctrl_metrics_queue_observer(m, "x:", &obs);
	kube_queue_observe(q, &obs);
	kube_queue_add(q, "ns/a");
	kube_queue_add(q, "ns/a");
	kube_queue_add(q, "ns/b");
	kube_queue_add(q, "x:ns/e");
	struct cm_workqueue *apps = &m->ctl[CM_SPINAPP].wq, *execs = &m->ctl[CM_SPINAPPEXECUTOR].wq;
	ok(apps->depth == 2 && apps->adds == 2 && execs->depth == 1 && execs->adds == 1,
	   "adds and depth per controller, a key added twice counted once");
	k = kube_queue_get(q, 0);
	ok(apps->depth == 1 && apps->nworking == 1 && apps->queue_duration.count == 1, "get: depth down, one working");
	kube_queue_add(q, k);
	ok(apps->depth == 2 && apps->adds == 3, "added while processing: counted as client-go counts it");
	kube_queue_done(q, k);
	ok(apps->depth == 2 && apps->nworking == 0 && apps->work_duration.count == 1,
	   "done: work duration observed; the dirty key is queued again without a second count");
	kube_queue_add_rate_limited(q, "ns/c", 0);
	is_int((int)apps->retries, 1, "add_rate_limited is a retry");
	ok(apps->depth == 2, "... not in depth until it is due");
	while ((k = kube_queue_get(q, 1000000)))
		kube_queue_done(q, k);
	ok(apps->depth == 0 && execs->depth == 0 && apps->adds == 4, "all taken: depth 0");

	/* The Services' pool: a queue of app keys of its own, counted as
	 * controller spinapp-service, apart from the apps' queue. */
	struct kube_queue *sq = NULL;
	struct kube_queue_observer sobs;
	struct cm_workqueue *svcs = &m->ctl[CM_SPINAPPSERVICE].wq;
	kube_queue_new(NULL, 0, &sq);
	ctrl_metrics_queue_observer_of(m, CM_SPINAPPSERVICE, &sobs);
	kube_queue_observe(sq, &sobs);
	kube_queue_add(sq, "ns/a");
	kube_queue_add(sq, "ns/b");
	ok(svcs->depth == 2 && svcs->adds == 2 && apps->adds == 4 && apps->depth == 0,
	   "the Services' queue: its own adds and depth, the apps' untouched by the same keys");
	k = kube_queue_get(sq, 0);
	ok(svcs->depth == 1 && svcs->nworking == 1 && apps->nworking == 0, "... its own worker");
	char taken[16];
	snprintf(taken, sizeof(taken), "%s", k ? k : "");
	kube_queue_done(sq, taken); /* k is the queue's, gone at done */
	kube_queue_add_rate_limited(sq, taken, 0);
	ok(svcs->work_duration.count == 1 && svcs->retries == 1 && apps->retries == 1, "... its own work time and retries");
	kube_queue_free(sq);

	ctrl_metrics_set_max_concurrent(m, CM_SPINAPPSERVICE, 8);
	ctrl_metrics_reconcile_start(m, CM_SPINAPPSERVICE);
	ctrl_metrics_reconcile_end(m, CM_SPINAPPSERVICE, CM_ERROR, 0.5);
	struct sk_buf b = sk_buf_make(1 << 20);
	is_int(ctrl_metrics_render(m, ctrl_metrics_now_ns(), &b), 0, "page rendered");
	const char *p = b.data;
	is_int((int)sample(p, "workqueue_depth{controller=\"spinapp-service\",name=\"spinapp-service\"}"), 1,
	       "workqueue_depth{controller=spinapp-service,name=spinapp-service}");
	is_int((int)sample(p, "workqueue_retries_total{controller=\"spinapp-service\",name=\"spinapp-service\"}"), 1,
	       "workqueue_retries_total of the Services' queue");
	is_int((int)sample(p, "controller_runtime_reconcile_errors_total{controller=\"spinapp-service\"}"), 1,
	       "a failed Service apply is its controller's reconcile error");
	is_int((int)sample(p, "controller_runtime_reconcile_errors_total{controller=\"spinapp\"}"), 0,
	       "... not the apps'");
	is_int((int)sample(p, "controller_runtime_max_concurrent_reconciles{controller=\"spinapp-service\"}"), 8,
	       "max_concurrent_reconciles of the pool: 8");
	is_int((int)sample(p, "controller_runtime_max_concurrent_reconciles{controller=\"spinapp\"}"), 4,
	       "... the apps' unchanged");
	ok(strstr(p, "controller_runtime_reconcile_total{controller=\"spinapp\",result=\"success\"}") <
		   strstr(p, "controller_runtime_reconcile_total{controller=\"spinapp-service\",result=\"error\"}") &&
	       strstr(p, "controller_runtime_reconcile_total{controller=\"spinapp-service\",result=\"success\"}") <
		   strstr(p, "controller_runtime_reconcile_total{controller=\"spinappexecutor\",result=\"error\"}"),
	   "controllers in label order: spinapp, spinapp-service, spinappexecutor");
	sk_buf_free(&b);
	kube_queue_free(q);
	ctrl_metrics_free(m);
}

static void test_cache(void)
{
	struct review_cache *c = calloc(1, sizeof(*c));
	uint8_t k1[32] = { 1 }, k2[32] = { 2 }, k[32] = { 0 };

	is_int(review_cache_get(c, k1, 0), 0, "an empty cache knows nothing");
	review_cache_put(c, k1, 200, 1000);
	review_cache_put(c, k2, 403, 1000);
	is_int(review_cache_get(c, k1, 1000 + REVIEW_ALLOWED_TTL_MS - 1), 200, "an allowed token holds for its TTL");
	is_int(review_cache_get(c, k1, 1000 + REVIEW_ALLOWED_TTL_MS), 0, "... and not after");
	is_int(review_cache_get(c, k2, 1000 + REVIEW_DENIED_TTL_MS - 1), 403, "a denied one for the shorter TTL");
	is_int(review_cache_get(c, k2, 1000 + REVIEW_DENIED_TTL_MS), 0, "... and not after");
	review_cache_put(c, k2, 200, 2000);
	is_int(review_cache_get(c, k2, 2001), 200, "a new answer replaces the old one");
	int dup = 0;
	for (int i = 0; i < REVIEW_CACHE_SIZE; i++)
		dup += c->e[i].status && memcmp(c->e[i].key, k2, 32) == 0;
	is_int(dup, 1, "... in the same entry");
	for (int i = 0; i < 3 * REVIEW_CACHE_SIZE; i++) {
		k[0] = (uint8_t)(10 + i);
		k[1] = (uint8_t)(i >> 8);
		review_cache_put(c, k, 200, 3000 + i);
	}
	k[0] = (uint8_t)(10 + 3 * REVIEW_CACHE_SIZE - 1);
	k[1] = (uint8_t)((3 * REVIEW_CACHE_SIZE - 1) >> 8);
	is_int(review_cache_get(c, k, 4000), 200, "a full cache takes the newest token");
	is_int(review_cache_get(c, k1, 1001), 0, "... making room from the one that expires first");
	free(c);
}

int main(void)
{
	test_numbers();
	test_writer();
	test_page();
	test_queue();
	test_cache();
	return tap_done();
}
