/* Helper of bench/scale: create many objects fast and wait for them, through
 * the client core (64 requests in flight on one HTTP/2 connection).
 *
 *   scale-tool create-apps NS N        N SpinApps app-00000... (1 replica,
 *                                      executor containerd-shim-spin named,
 *                                      as upstream's samples do)
 *   scale-tool create-direct NS N      what the controller would make for
 *                                      them, straight: a Secret, a Deployment
 *                                      and a Service each (the apiserver-only
 *                                      baseline)
 *   scale-tool wait-apps NS N SECS     until N SpinApps are Ready (their
 *                                      status.readyReplicas reaches
 *                                      spec.replicas: what our controller and
 *                                      upstream's both write); prints
 *                                      ready_10_s= ready_50_s= ready_90_s=
 *                                      ready_s=, seconds from its start until
 *                                      10%, 50%, 90% and all were Ready
 *   scale-tool wait-deployments NS N SECS
 *                                      until N Deployments have a ready replica
 *
 * Uses KUBECONFIG. Prints the seconds it took on stdout. With
 * SCALE_TOOL_TRACE=FILE, the wait modes also write "SECONDS NS/NAME" to FILE
 * when each object is first seen ready (for profiles). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "controller/kube/api.h"
#include "controller/kube/client.h"
#include "controller/kube/config.h"
#include "controller/kube/informer.h"
#include "common/json.h"
#include "common/strmap.h"

static const struct kube_resource SPINAPPS = { "core.spinkube.dev/v1alpha1", "spinapps", true };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct tally {
	long done, failed;
};

static void done_cb(int rc, struct kube_response *r, const struct sk_error *e, void *ud)
{
	struct tally *t = ud;
	t->done++;
	if (rc < 0 && rc != -EEXIST && t->failed++ < 5)
		fprintf(stderr, "scale-tool: %s\n", e ? e->message : "request failed");
	if (rc < 0 && rc != -EEXIST)
		(void)0;
}

static void post(struct kube_client *c, struct tally *t, const struct kube_resource *res, const char *ns,
		 const char *body)
{
	char *path = NULL;
	kube_path(res, ns, NULL, NULL, NULL, &path, NULL);
	struct kube_request req = { .method = "POST", .path = path, .body = body, .body_len = strlen(body) };
	kube_client_do(c, &req, done_cb, t);
	free(path);
	while (kube_client_active(c) > 256)
		kube_client_run(c, 100);
}

static void create(struct kube_client *c, const char *ns, long n, int direct)
{
	struct tally t = { 0 };
	char body[4096], name[32];
	long expect = 0;

	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "app-%05ld", i);
		if (!direct) {
			snprintf(body, sizeof(body),
				 "{\"apiVersion\":\"core.spinkube.dev/v1alpha1\",\"kind\":\"SpinApp\",\"metadata\":"
				 "{\"name\":\"%s\"},\"spec\":{\"image\":\"registry.invalid/app:%ld\",\"replicas\":1,"
				 "\"executor\":\"containerd-shim-spin\"}}",
				 name, i);
			post(c, &t, &SPINAPPS, ns, body);
			expect++;
			continue;
		}
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"%s-rc\",\"labels\":"
			 "{\"bench\":\"direct\"}},\"data\":{\"runtime-config.toml\":\"W1tjb25maWdfcHJvdmlkZXJdXQo=\"}}",
			 name);
		post(c, &t, &KUBE_SECRETS, ns, body);
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\",\"labels\":"
			 "{\"bench\":\"direct\"}},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
			 "\"template\":{\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":{\"runtimeClassName\":"
			 "\"wasmtime-spin-v2\",\"containers\":[{\"name\":\"%s\",\"image\":\"registry.invalid/app:%ld\","
			 "\"command\":[\"/\"],\"ports\":[{\"name\":\"http-app\",\"containerPort\":80}],\"env\":[{\"name\":"
			 "\"SPIN_HTTP_LISTEN_ADDR\",\"value\":\"0.0.0.0:80\"}],\"volumeMounts\":[{\"name\":\"rc\","
			 "\"mountPath\":\"/runtime-config.toml\",\"subPath\":\"runtime-config.toml\"}]}],\"volumes\":[{"
			 "\"name\":\"rc\",\"secret\":{\"secretName\":\"%s-rc\",\"optional\":true}}]}}}}",
			 name, name, name, name, i, name);
		post(c, &t, &KUBE_DEPLOYMENTS, ns, body);
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\",\"labels\":"
			 "{\"bench\":\"direct\"}},\"spec\":{\"selector\":{\"app\":\"%s\"},\"ports\":[{\"port\":80,"
			 "\"targetPort\":\"http-app\"}]}}",
			 name, name);
		post(c, &t, &KUBE_SERVICES, ns, body);
		expect += 3;
	}
	while (t.done < expect)
		kube_client_run(c, 100);
	if (t.failed)
		fprintf(stderr, "scale-tool: %ld requests failed\n", t.failed);
}

/* Readiness projections: 1 when ready. An app is ready when its status
 * reports as many ready replicas as its spec asks for: upstream's operator
 * writes no Ready condition, only status.readyReplicas, so this is the one
 * sign both operators give. */
static void *app_ready(json_object *obj, void *ud)
{
	int *p = malloc(sizeof(*p));
	int64_t want = 1, ready = 0;
	if (!p)
		return NULL;
	(void)sk_json_int64(obj, "spec.replicas", &want);
	*p = sk_json_int64(obj, "status.readyReplicas", &ready) == 0 && ready >= want;
	return p;
}

static void *dep_ready(json_object *obj, void *ud)
{
	int *p = malloc(sizeof(*p));
	int64_t r = 0;
	if (!p)
		return NULL;
	sk_json_int64(obj, "status.readyReplicas", &r);
	*p = r >= 1;
	return p;
}

static void free_int(void *p, void *ud)
{
	free(p);
}

/* One pass over the store: the ready count, and with a trace file the
 * moment each key was first seen ready. */
struct count {
	long ready;
	FILE *trace;
	struct strmap *seen;
	double t;
};

static void count_ready(const char *key, const void *p, void *ud)
{
	struct count *c = ud;

	c->ready += *(const int *)p;
	if (c->trace && *(const int *)p && !strmap_get(c->seen, key) && strmap_put(c->seen, key, (void *)1, NULL))
		fprintf(c->trace, "%.2f %s\n", c->t, key);
}

static int wait_ready(struct kube_client *c, const char *ns, long n, long secs, int apps)
{
	struct kube_informer *inf = NULL;
	struct sk_error err = { 0 };
	struct kube_watch_opts wo = { .res = apps ? &SPINAPPS : &KUBE_DEPLOYMENTS, .ns = ns };
	struct kube_informer_handlers h = { .project = apps ? app_ready : dep_ready, .free_proj = free_int };
	double t0 = now_s(), last = 0;
	long ready = 0;
	/* The progressive times: when 10%, 50%, 90% and all were first ready. */
	static const int pct[] = { 10, 50, 90, 100 };
	double at[4] = { -1, -1, -1, -1 };

	if (kube_informer_start(c, &wo, 0, &h, NULL, &inf, &err) < 0) {
		fprintf(stderr, "scale-tool: %s\n", err.message);
		return 1;
	}
	struct strmap seen = { 0 };
	const char *tpath = getenv("SCALE_TOOL_TRACE");
	struct count cnt = { .trace = tpath ? fopen(tpath, "w") : NULL, .seen = &seen };

	while (now_s() - t0 < (double)secs) {
		kube_client_run(c, 200);
		cnt.ready = 0;
		cnt.t = now_s() - t0;
		kube_informer_foreach(inf, count_ready, &cnt);
		ready = cnt.ready;
		for (int i = 0; i < 4; i++)
			if (at[i] < 0 && ready * 100 >= (long)pct[i] * n)
				at[i] = now_s() - t0;
		if (ready >= n)
			break;
		if (now_s() - last > 15) {
			fprintf(stderr, "scale-tool: %ld of %ld ready after %.0fs\n", ready, n, now_s() - t0);
			last = now_s();
		}
	}
	kube_informer_stop(inf);
	if (cnt.trace)
		fclose(cnt.trace);
	strmap_clear(&seen);
	if (ready < n) {
		fprintf(stderr, "scale-tool: only %ld of %ld ready after %lds\n", ready, n, secs);
		return 1;
	}
	printf("ready_10_s=%.1f ready_50_s=%.1f ready_90_s=%.1f ready_s=%.1f\n", at[0], at[1], at[2], at[3]);
	return 0;
}

int main(int argc, char **argv)
{
	struct kube_config_opts co = { 0 };
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	struct sk_error err = { 0 };
	struct kube_client_opts fast = { .qps = 5000, .burst = 5000 };
	int rc = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: scale-tool create-apps|create-direct NS N | wait-apps|wait-deployments NS N SECS\n");
		return 2;
	}
	long n = strtol(argv[3], NULL, 10), secs = argc > 4 ? strtol(argv[4], NULL, 10) : 600;
	if (n < 1 || n > 100000 || secs < 1) {
		fprintf(stderr, "scale-tool: N must be 1..100000 and SECS positive\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	kube_config_opts_from_env(&co);
	if (kube_config_load(&co, &cfg, &err) < 0 || kube_client_new(cfg, &fast, &c, &err) < 0) {
		fprintf(stderr, "scale-tool: %s\n", err.message);
		return 1;
	}
	double t0 = now_s();
	if (!strcmp(argv[1], "create-apps"))
		create(c, argv[2], n, 0);
	else if (!strcmp(argv[1], "create-direct"))
		create(c, argv[2], n, 1);
	else if (!strcmp(argv[1], "wait-apps"))
		rc = wait_ready(c, argv[2], n, secs, 1);
	else if (!strcmp(argv[1], "wait-deployments"))
		rc = wait_ready(c, argv[2], n, secs, 0);
	else {
		fprintf(stderr, "scale-tool: unknown mode %s\n", argv[1]);
		rc = 2;
	}
	printf("%.1f\n", now_s() - t0);
	kube_client_free(c);
	kube_config_free(cfg);
	curl_global_cleanup();
	return rc;
}
