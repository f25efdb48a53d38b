/* Informer benchmark: N ConfigMaps through list+watch into the store.
 *
 *   informer-bench N [UPDATES]
 *
 * Creates N ConfigMaps in namespace bench-informer (unless they exist), then
 * measures in this process: the paged LIST into the store, heap bytes per
 * stored object (malloc's own count, before and after), peak RSS, the bytes
 * the apiserver sent, and the rate of watch events while UPDATES objects are
 * patched by a second client; CPU time of this process and of the apiserver
 * (APISERVER_PID) over the event phase. Prints a table and, last, one line:
 *   objects=N bytes_per_object=N peak_rss_mib=N events_per_s=N */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "controller/kube/api.h"
#include "controller/kube/client.h"
#include "controller/kube/config.h"
#include "controller/kube/informer.h"
#include "common/json.h"

static const char *NS = "bench-informer";

struct proj {
	char version[24]; /* the projected field: data.v */
};

struct counts {
	long added, updated, deleted;
};

static void *project(json_object *obj, void *ud)
{
	struct proj *p = malloc(sizeof(*p));
	const char *v = sk_json_str(obj, "data.v");
	if (p)
		snprintf(p->version, sizeof(p->version), "%s", v ? v : "");
	return p;
}
static void free_proj(void *p, void *ud)
{
	free(p);
}
static void on_added(const char *k, const void *p, void *ud)
{
	((struct counts *)ud)->added++;
}
static void on_updated(const char *k, const void *o, const void *p, void *ud)
{
	((struct counts *)ud)->updated++;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_self(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of another process from /proc/PID/stat. */
static double cpu_of(const char *pid)
{
	char path[64], buf[4096];
	unsigned long ut = 0, st = 0;
	FILE *f;

	if (!pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct bulk {
	long done, failed;
};
static void bulk_done(int rc, struct kube_response *r, const struct sk_error *e, void *ud)
{
	struct bulk *b = ud;
	b->done++;
	if (rc < 0 && rc != -EEXIST)
		b->failed++;
}

/* POST or PATCH `count` ConfigMaps from `first`, 64 in flight. */
static long bulk(struct kube_client *c, long first, long count, int patch, long version)
{
	struct bulk b = { 0 };
	char name[64], body[256];

	for (long i = first; i < first + count; i++) {
		char *path = NULL;
		snprintf(name, sizeof(name), "cm-%06ld", i);
		if (patch) {
			kube_path(&KUBE_CONFIGMAPS, NS, name, NULL, NULL, &path, NULL);
			snprintf(body, sizeof(body), "{\"data\":{\"v\":\"%ld\"}}", version);
		} else {
			kube_path(&KUBE_CONFIGMAPS, NS, NULL, NULL, NULL, &path, NULL);
			snprintf(body, sizeof(body),
				 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\","
				 "\"labels\":{\"bench\":\"informer\"}},\"data\":{\"v\":\"0\",\"pad\":\"%040d\"}}",
				 name, 0);
		}
		struct kube_request req = { .method = patch ? "PATCH" : "POST", .path = path, .body = body,
					    .body_len = strlen(body),
					    .content_type = patch ? "application/merge-patch+json" : NULL };
		kube_client_do(c, &req, bulk_done, &b);
		free(path);
		while (kube_client_active(c) > 256)
			kube_client_run(c, 100);
	}
	while (b.done < count)
		kube_client_run(c, 100);
	return b.failed;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
	long updates = argc > 2 ? strtol(argv[2], NULL, 10) : n / 2;
	const char *apiserver_pid = getenv("APISERVER_PID");
	struct kube_config_opts co = { 0 };
	struct kube_config *cfg = NULL;
	struct sk_error err = { 0 };
	struct kube_client *c = NULL, *w = NULL;

	if (n < 1 || n > 1000000 || updates < 0 || updates > n) {
		fprintf(stderr, "usage: informer-bench N [UPDATES<=N]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	kube_config_opts_from_env(&co);
	if (kube_config_load(&co, &cfg, &err) < 0) {
		fprintf(stderr, "informer-bench: %s\n", err.message);
		return 1;
	}
	struct kube_client_opts fast = { .qps = 2000, .burst = 2000 };
	if (kube_client_new(cfg, &fast, &w, &err) < 0 || kube_client_new(cfg, &fast, &c, &err) < 0) {
		fprintf(stderr, "informer-bench: %s\n", err.message);
		return 1;
	}
	json_object *ns = NULL;
	const char *nsdoc = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"bench-informer\"}}";
	sk_json_parse(nsdoc, strlen(nsdoc), &ns, NULL);
	kube_create(w, &KUBE_NAMESPACES, NULL, ns, NULL, &err);
	json_object_put(ns);
	double t0 = now_s();
	if (bulk(w, 0, n, 0, 0)) {
		fprintf(stderr, "informer-bench: creating ConfigMaps failed\n");
		return 1;
	}
	fprintf(stderr, "created %ld ConfigMaps in %.1fs\n", n, now_s() - t0);

	/* Measure the informer in the same process, after the creates. */
	struct mallinfo2 before = mallinfo2();
	struct counts cnt = { 0 };
	struct kube_informer *inf = NULL;
	struct kube_watch_opts wo = { .res = &KUBE_CONFIGMAPS, .ns = NS, .label_selector = "bench=informer" };
	struct kube_informer_handlers h = { .project = project, .free_proj = free_proj, .added = on_added,
					    .updated = on_updated };
	t0 = now_s();
	if (kube_informer_start(c, &wo, 0, &h, &cnt, &inf, &err) < 0) {
		fprintf(stderr, "informer-bench: %s\n", err.message);
		return 1;
	}
	while (!kube_informer_synced(inf))
		kube_client_run(c, 100);
	double list_s = now_s() - t0;
	malloc_trim(0);
	struct mallinfo2 after = mallinfo2();
	size_t heap = after.uordblks - before.uordblks;
	size_t stored = kube_informer_size(inf);
	size_t keys = 0;
	char key[64];
	for (long i = 0; i < n; i++)
		keys += (size_t)snprintf(key, sizeof(key), "%s/cm-%06ld", NS, i) + 1;
	size_t payload = keys + stored * sizeof(struct proj);
	long overhead = stored ? (long)((heap > payload ? heap - payload : 0) / stored) : 0;

	/* Events: patch `updates` objects through the same client and loop (64
	 * requests in flight beside the watch stream) and count the events the
	 * informer receives, from the first patch to the last event. */
	struct kube_watch_stats ws0, ws1;
	kube_watch_get_stats(kube_informer_watch(inf), &ws0);
	double cpu0 = cpu_self(), api0 = cpu_of(apiserver_pid);
	double t1 = now_s();
	bulk(c, 0, updates, 1, 1);
	while (cnt.updated < updates && now_s() - t1 < 120)
		kube_client_run(c, 50);
	double window = now_s() - t1;
	kube_watch_get_stats(kube_informer_watch(inf), &ws1);
	double cpu1 = cpu_self(), api1 = cpu_of(apiserver_pid);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double peak_mib = (double)ru.ru_maxrss / 1024.0;
	long events = (long)(ws1.events - ws0.events);
	double events_per_s = window > 0 ? (double)events / window : 0;
	printf("| measure | value |\n|---|---|\n");
	printf("| objects stored | %zu |\n", stored);
	printf("| LIST into the store (paged, 500 a page) | %.2f s |\n", list_s);
	printf("| heap per stored object beyond key (%zu B avg) and projection (%zu B) | %ld B |\n",
	       stored ? keys / stored : 0, sizeof(struct proj), overhead);
	printf("| heap per stored object, all in | %zu B |\n", stored ? heap / stored : 0);
	printf("| peak RSS of this process (creates included) | %.1f MiB |\n", peak_mib);
	printf("| watch events received / bytes | %ld / %llu |\n", events, (unsigned long long)(ws1.bytes - ws0.bytes));
	printf("| events/s, patches and watch on one client | %.0f |\n", events_per_s);
	printf("| CPU of this process per event (patch sent + event handled) | %.1f us |\n",
	       events ? (cpu1 - cpu0) * 1e6 / (double)events : 0.0);
	if (apiserver_pid)
		printf("| CPU of kube-apiserver per event (patch served + event sent) | %.1f us |\n",
		       events ? (api1 - api0) * 1e6 / (double)events : 0.0);
	printf("objects=%zu bytes_per_object=%ld peak_rss_mib=%.0f events_per_s=%.0f\n", stored, overhead, peak_mib,
	       events_per_s);
	kube_informer_stop(inf);
	kube_client_free(c);
	kube_client_free(w);
	kube_config_free(cfg);
	curl_global_cleanup();
	return 0;
}
