#include "controller/run.h"

#include "controller/leader.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/kube/client.h"
#include "controller/kube/config.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/metrics/metrics.h"
#include "controller/metrics/server.h"
#include "controller/reconciler.h"

/* The one client the signal handler may wake; set while controller_run runs. */
static struct kube_client *volatile running_client;

void controller_wakeup(void)
{
	struct kube_client *c = running_client;

	if (c)
		kube_client_wakeup(c);
}

static void log_stats(const struct reconciler *rec)
{
	struct reconciler_stats st;

	reconciler_get_stats(rec, &st);
	log_info("stats", "reconciles=%llu writes=%llu write_errors=%llu events=%llu",
		 (unsigned long long)st.reconciles, (unsigned long long)st.writes,
		 (unsigned long long)st.write_errors, (unsigned long long)st.events);
}

/* What the probes and the metrics page ask about the loop. */
struct run_state {
	struct ctrl_metrics *m;
	struct leader *le;
	bool synced; /* the informers have their first lists */
};

/* Ready once the informers synced, or while standing by for the lease (a
 * standby that is not ready would hold up every rolling update). */
static bool run_ready(void *ud)
{
	struct run_state *st = ud;

	return st->synced || (st->le && !leader_leading(st->le) && !leader_lost(st->le));
}

/* Healthy unless the lease was lost (the program is stopping then). A loop
 * that is stuck answers nothing, which the probe counts as a failure. */
static bool run_healthy(void *ud)
{
	struct run_state *st = ud;

	return !(st->le && leader_lost(st->le));
}

static void run_collect(void *ud, struct ctrl_metrics *m)
{
	struct run_state *st = ud;

	m->leading = st->le && leader_leading(st->le);
}

static void count_request(const char *method, long status, void *ud)
{
	ctrl_metrics_rest(ud, method, status);
}

/* The apiserver's host:port, rest_client_requests_total's host label. */
static void server_host(const char *server, char *out, size_t size)
{
	const char *h = strstr(server, "://");
	size_t n;

	h = h ? h + 3 : server;
	n = strcspn(h, "/");
	(void)snprintf(out, size, "%.*s", (int)n, h);
}

/* Start the metrics and probe listeners on c's loop and say where. */
static int start_server(struct kube_client *c, const struct controller_options *opts, struct run_state *st,
			struct metrics_server **out)
{
	struct metrics_server_opts mo = { .metrics_addr = opts->metrics_addr,
					  .secure = opts->metrics_secure,
					  .cert_dir = opts->metrics_cert_dir,
					  .health_addr = opts->health_addr,
					  .metrics = st->m,
					  .ready = run_ready,
					  .healthy = run_healthy,
					  .collect = run_collect,
					  .ud = st };
	struct sk_error err = { 0 };
	char addr[96];

	if (metrics_server_new(c, &mo, out, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		return -1;
	}
	metrics_server_addr(*out, false, addr, sizeof(addr));
	if (addr[0])
		log_info("serving metrics", "addr=%s secure=%s path=/metrics", addr, opts->metrics_secure ? "true" : "false");
	metrics_server_addr(*out, true, addr, sizeof(addr));
	if (addr[0])
		log_info("serving probes", "addr=%s paths=/healthz,/readyz", addr);
	return 0;
}

/* Say hello to the apiserver: GET /version, logged with the server and the
 * context. Returns 0, or -1 after printing why it cannot be reached. */
static int say_connected(struct kube_client *c, const struct kube_config *cfg)
{
	struct kube_request req = { .method = "GET", .path = "/version" };
	struct kube_response resp;
	struct sk_error err = { 0 };
	char q[SK_ERR_MESSAGE_MAX + 64];

	if (kube_client_call(c, &req, &resp, &err) < 0) {
		fprintf(stderr, "spin-controller: cannot reach the apiserver: %s\n", err.message);
		kube_response_clear(&resp);
		return -1;
	}
	log_info("connected", "server=%s version=%s config=%s", log_quote(cfg->server, q, sizeof(q)),
		 sk_json_str(resp.json, "gitVersion") ? sk_json_str(resp.json, "gitVersion") : "unknown",
		 cfg->context ? cfg->context : "in-cluster");
	kube_response_clear(&resp);
	return 0;
}

/* Is the SpinApp API served? Say how to fix it, and keep waiting (with
 * backoff up to 30 s) until it is or *stop is set. */
static void wait_for_api(struct kube_client *c, volatile sig_atomic_t *stop)
{
	struct kube_request api = { .method = "GET", .path = "/apis/core.spinkube.dev/v1alpha1" };
	struct kube_response resp;
	struct sk_error err = { 0 };
	char q[SK_ERR_MESSAGE_MAX + 64];

	for (long wait_ms = 1000; !*stop; wait_ms = wait_ms < 30000 ? wait_ms * 2 : 30000) {
		int r = kube_client_call(c, &api, &resp, &err);
		kube_response_clear(&resp);
		if (r == 0)
			break;
		if (err.http_status == 404)
			log_error("the SpinApp API is not served: install the CRDs (kubectl apply -f crd/)",
				  "retry_ms=%ld", wait_ms);
		else
			log_warn("cannot read the SpinApp API; retrying", "retry_ms=%ld error=%s", wait_ms,
				 log_quote(err.message, q, sizeof(q)));
		int64_t until = kube_now_ms() + wait_ms;
		while (!*stop && kube_now_ms() < until)
			kube_client_run(c, (int)(until - kube_now_ms()));
	}
}

/* Run the client and the reconciler until *stop. Returns 0, or -1 when the
 * event loop fails. */
static int reconcile_loop(struct kube_client *c, struct reconciler *rec, struct leader *le, struct run_state *st,
			  volatile sig_atomic_t *stop, volatile sig_atomic_t *dump_stats)
{
	int64_t last_trim = kube_now_ms();

	while (!*stop) {
		long wait = reconciler_next_ms(rec);
		if (wait < 0 || wait > 1000)
			wait = 1000;
		if (kube_client_run(c, (int)wait) < 0) {
			log_error("event loop failed", "%s", "");
			return -1;
		}
		/* the lease is gone: another controller may be writing already */
		if (le && leader_lost(le))
			return -1;
		if (!st->synced && reconciler_synced(rec)) {
			st->synced = true;
			log_info("synced", "%s", "");
		}
		reconciler_step(rec);
		/* Bursts of events and writes leave free chunks inside the heap
		 * that sbrk cannot give back; once a second, hand their pages to
		 * the kernel so they do not add up to a higher peak later. */
		if (kube_now_ms() - last_trim >= 1000) {
			malloc_trim(64 * 1024);
			last_trim = kube_now_ms();
		}
		if (*dump_stats) {
			*dump_stats = 0;
			log_stats(rec);
		}
	}
	log_stats(rec);
	return 0;
}

/* The Lease's namespace and this candidate's identity, then the runner. */
static int start_election(struct kube_client *c, const struct controller_options *opts, struct leader **out)
{
	char ns[256], identity[LEADER_ID_MAX];
	struct sk_error err = { 0 };
	struct leader_opts lo = { .name = opts->leader_election_id,
				  .lease_ms = opts->lease_ms,
				  .renew_deadline_ms = opts->renew_deadline_ms,
				  .retry_ms = opts->retry_ms };

	if (opts->leader_election_ns)
		(void)snprintf(ns, sizeof(ns), "%s", opts->leader_election_ns);
	else if (leader_namespace_from_pod(ns, sizeof(ns), &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		return -1;
	}
	leader_identity(identity, sizeof(identity));
	lo.namespace = ns;
	lo.identity = identity;
	if (leader_new(c, &lo, out, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		return -1;
	}
	leader_start(*out);
	return 0;
}

int controller_run(const struct controller_options *opts, volatile sig_atomic_t *stop,
		   volatile sig_atomic_t *dump_stats)
{
	struct kube_config_opts co = { .explicit_path = opts->kubeconfig, .context = opts->context };
	struct kube_client_opts clo = { .qps = opts->qps, .burst = (int)opts->burst };
	struct reconciler_opts ro = { .max_in_progress = (int)opts->concurrency,
				      .resync_ms = opts->resync_seconds * 1000,
				      .log = sk_log_sink_stderr() };
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	struct reconciler *rec = NULL;
	struct leader *le = NULL;
	struct metrics_server *srv = NULL;
	struct run_state st = { 0 };
	struct sk_error err = { 0 };
	char host[256];
	int status = 1;

	kube_config_opts_from_env(&co);
	if (kube_config_load(&co, &cfg, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		return 1;
	}
	if (kube_client_new(cfg, &clo, &c, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		goto out;
	}
	server_host(cfg->server, host, sizeof(host));
	if (ctrl_metrics_new(opts->concurrency, host, &st.m) < 0) {
		fprintf(stderr, "spin-controller: out of memory\n");
		goto out;
	}
	if (opts->leader_elect) {
		st.m->leader_election = true;
		(void)snprintf(st.m->lease_name, sizeof(st.m->lease_name), "%s", opts->leader_election_id);
	}
	kube_client_observe(c, count_request, st.m);
	ro.metrics = st.m;
	running_client = c;
	if (start_server(c, opts, &st, &srv) < 0)
		goto out;
	if (say_connected(c, cfg) < 0)
		goto out;
	wait_for_api(c, stop);
	if (*stop)
		goto stopped;
	if (opts->leader_elect) {
		if (start_election(c, opts, &le) < 0)
			goto out;
		st.le = le;
		/* standing by: no informers, no writes, until the lease is ours */
		while (!*stop && !leader_leading(le) && !leader_lost(le))
			if (kube_client_run(c, 1000) < 0) {
				log_error("event loop failed", "%s", "");
				goto out;
			}
		if (*stop)
			goto stopped;
	}
	if (reconciler_new(c, &ro, &rec, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		goto out;
	}
	log_info("watching", "resources=%s qps=%.0f burst=%ld concurrent_reconciles=%ld resync_s=%ld",
		 "spinapps,spinappexecutors,deployments,services,secrets,configmaps,replicasets", opts->qps,
		 opts->burst, opts->concurrency, opts->resync_seconds);
	if (reconcile_loop(c, rec, le, &st, stop, dump_stats) < 0)
		goto out;
stopped:
	log_info("stopping", "%s", "");
	status = 0;
out:
	running_client = NULL;
	/* The reconciler goes first: the client drops its callbacks unrun. Then
	 * the lease is released, so a standby takes over at once. */
	reconciler_free(rec);
	if (status == 0)
		leader_release(le);
	metrics_server_free(srv);
	leader_free(le);
	kube_client_free(c);
	ctrl_metrics_free(st.m);
	kube_config_free(cfg);
	return status;
}
