/* The Kubernetes client core against a real apiserver: CRUD and paging over
 * 1,000 ConfigMaps, conflicts, server-side apply, status and scale
 * subresources, delete options, watch order across an apiserver restart and
 * an etcd compaction, the informer, and every way of authenticating.
 *
 * Environment (from hack/cluster-up): KUBECONFIG, SPINKUBE_TOKEN_KUBECONFIG,
 * SPINKUBE_CLUSTER, SPINKUBE_CLUSTER_DIR; SPINKUBE_SOURCE_DIR for hack/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "controller/kube/api.h"
#include "common/cleanup.h"
#include "controller/kube/client.h"
#include "controller/kube/config.h"
#include "controller/kube/informer.h"
#include "common/json.h"
#include "common/strmap.h"
#include "tests/tap.h"
#include "controller/kube/watch.h"

static const struct kube_resource WIDGETS = { "kc.spinkube.test/v1", "widgets", true };
static const struct kube_resource SERVICEACCOUNTS = { "v1", "serviceaccounts", true };
static const char *NS = "kc-test";

static const char *env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v) {
		printf("Bail out! %s is not set (run through tests/e2e/kube-client.sh)\n", name);
		exit(1);
	}
	return v;
}

static struct kube_config *load(const char *path)
{
	struct kube_config_opts o = { .explicit_path = path };
	struct kube_config *cfg = NULL;
	struct sk_error err = { 0 };

	if (kube_config_load(&o, &cfg, &err) < 0) {
		printf("Bail out! %s\n", err.message);
		exit(1);
	}
	return cfg;
}

static struct kube_client *client(const struct kube_config *cfg, const struct kube_client_opts *o)
{
	struct kube_client *c = NULL;
	struct sk_error err = { 0 };

	if (kube_client_new(cfg, o, &c, &err) < 0) {
		printf("Bail out! %s\n", err.message);
		exit(1);
	}
	return c;
}

static json_object *parse(const char *text)
{
	json_object *o = NULL;
	if (sk_json_parse(text, strlen(text), &o, NULL) < 0) {
		printf("Bail out! bad JSON in the test: %s\n", text);
		exit(1);
	}
	return o;
}

static json_object *configmap(const char *name, const char *k, const char *v, const char *label)
{
	char buf[1024];
	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},"
		 "\"data\":{\"%s\":\"%s\"}}",
		 name, label ? label : "", k, v);
	return parse(buf);
}

/* Whom the apiserver thinks we are (SelfSubjectReview). Caller frees. */
static char *whoami(struct kube_client *c, struct sk_error *err)
{
	struct kube_request req = { .method = "POST",
				    .path = "/apis/authentication.k8s.io/v1/selfsubjectreviews",
				    .body = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"SelfSubjectReview\"}" };
	struct kube_response resp;
	char *who = NULL;

	req.body_len = strlen(req.body);
	if (kube_client_call(c, &req, &resp, err) == 0) {
		const char *u = sk_json_str(resp.json, "status.userInfo.username");
		who = u ? strdup(u) : NULL;
	} else {
		printf("# whoami failed: %s\n", err->message);
	}
	kube_response_clear(&resp);
	return who;
}

static int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_cmd(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int r = system(cmd);
	return r == -1 ? -1 : WEXITSTATUS(r);
}

/* --- CRUD, paging, selectors ------------------------------------------------------- */

struct bulk {
	int done, failed;
	struct sk_error first;
};

static void bulk_done(int rc, struct kube_response *r, const struct sk_error *err, void *ud)
{
	struct bulk *b = ud;
	b->done++;
	if (rc < 0 && b->failed++ == 0 && err)
		b->first = *err;
}

static int count_item(json_object *item, void *ud)
{
	struct strmap *seen = ud;
	const char *name = sk_json_str(item, "metadata.name");
	if (name)
		strmap_put(seen, name, (void *)1, NULL);
	return 0;
}

static void test_crud(struct kube_client *c)
{
	struct sk_error err = { 0 };
	_cleanup_json_ json_object *ns = parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"kc-test\"}}");
	struct bulk b = { 0 };
	char name[64], path_rv[64];

	is_int(kube_create(c, &KUBE_NAMESPACES, NULL, ns, NULL, &err), 0, "create namespace %s", NS);

	/* 1,000 creates in flight at once over the one client. */
	long conns_before = kube_client_connections(c);
	for (int i = 0; i < 1000; i++) {
		_cleanup_free_ char *path = NULL;
		snprintf(name, sizeof(name), "cm-%04d", i);
		_cleanup_json_ json_object *cm = configmap(name, "i", name, i % 2 ? "\"half\":\"yes\"" : NULL);
		size_t len;
		const char *body = sk_json_to_string(cm, &len);
		kube_path(&KUBE_CONFIGMAPS, NS, NULL, NULL, NULL, &path, NULL);
		struct kube_request req = { .method = "POST", .path = path, .body = body, .body_len = len };
		kube_client_do(c, &req, bulk_done, &b);
	}
	while (b.done < 1000)
		kube_client_run(c, 1000);
	is_int(b.failed, 0, "1000 ConfigMaps created asynchronously%s%s", b.failed ? ": " : "", b.first.message);
	long conns = kube_client_connections(c) - conns_before;
	ok(conns <= 2, "they were multiplexed over HTTP/2 on kept-alive connections (%ld new)", conns);

	struct strmap seen = { 0 };
	struct kube_query q = { .limit = 100 };
	is_int(kube_list(c, &KUBE_CONFIGMAPS, NS, &q, count_item, &seen, NULL, &err), 0, "paged LIST, 100 a page");
	is_int((int)seen.size, 1001, "every ConfigMap listed once (1000 and kube-root-ca.crt)");
	strmap_clear(&seen);

	/* Paging by hand: the server hands out continue tokens. */
	int pages = 0, items = 0;
	char *cont = NULL;
	do {
		_cleanup_free_ char *path = NULL;
		_cleanup_json_ json_object *list = NULL;
		struct kube_query pq = { .limit = 250, .continue_token = cont, .label_selector = "half=yes" };
		kube_path(&KUBE_CONFIGMAPS, NS, NULL, NULL, &pq, &path, NULL);
		struct kube_request req = { .method = "GET", .path = path };
		struct kube_response resp;
		if (kube_client_call(c, &req, &resp, &err) < 0)
			break;
		pages++;
		items += (int)json_object_array_length(sk_json_arr(resp.json, "items"));
		const char *next = sk_json_str(resp.json, "metadata.continue");
		free(cont);
		cont = next && *next ? strdup(next) : NULL;
		kube_response_clear(&resp);
	} while (cont);
	is_int(items, 500, "a label selector picks the labelled half");
	ok(pages >= 2, "in pages of at most 250 joined by continue tokens (%d pages)", pages);

	q = (struct kube_query){ .field_selector = "metadata.name=cm-0007" };
	is_int(kube_list(c, &KUBE_CONFIGMAPS, NS, &q, count_item, &seen, NULL, &err), 0, "LIST with a field selector");
	ok(seen.size == 1 && strmap_get(&seen, "cm-0007"), "the field selector picks exactly cm-0007");
	strmap_clear(&seen);
	q = (struct kube_query){ .label_selector = "half in (yes, maybe),!nope" };
	is_int(kube_list(c, &KUBE_CONFIGMAPS, NS, &q, count_item, &seen, NULL, &err), 0,
	       "a set-based selector with spaces, parentheses and '!' is escaped correctly");
	is_int((int)seen.size, 500, "and selects the labelled half");
	strmap_clear(&seen);

	/* GET, UPDATE, conflict. */
	_cleanup_json_ json_object *cm = NULL, *cm2 = NULL, *stale = NULL;
	is_int(kube_get(c, &KUBE_CONFIGMAPS, NS, "cm-0001", NULL, &cm, &err), 0, "GET cm-0001");
	is_str(sk_json_str(cm, "data.i"), "cm-0001", "its data");
	stale = json_object_get(cm);
	snprintf(path_rv, sizeof(path_rv), "%s", sk_json_str(cm, "metadata.resourceVersion"));
	json_object *copy = NULL;
	json_object_deep_copy(cm, &copy, NULL);
	sk_json_set_str(sk_json_obj(copy, "data"), "i", "changed");
	is_int(kube_update(c, &KUBE_CONFIGMAPS, NS, "cm-0001", NULL, copy, &cm2, &err), 0, "UPDATE with the current resourceVersion");
	json_object_put(copy);
	ok(strcmp(sk_json_str(cm2, "metadata.resourceVersion"), path_rv) != 0, "the resourceVersion moved on");
	sk_json_set_str(sk_json_obj(stale, "data"), "i", "lost update");
	is_int(kube_update(c, &KUBE_CONFIGMAPS, NS, "cm-0001", NULL, stale, NULL, &err), -ESTALE,
	       "UPDATE with a stale resourceVersion is a conflict (-ESTALE)");
	is_int(err.http_status, 409, "HTTP 409 is reported");
	is_str(err.reason, "Conflict", "with the Status reason");
	ok(strstr(err.message, "the object has been modified") != NULL, "and the Status message: %s", err.message);

	_cleanup_json_ json_object *dup = configmap("cm-0002", "i", "x", NULL);
	is_int(kube_create(c, &KUBE_CONFIGMAPS, NS, dup, NULL, &err), -EEXIST, "CREATE of an existing name is -EEXIST");
	is_str(err.reason, "AlreadyExists", "reason AlreadyExists");
	is_int(kube_get(c, &KUBE_CONFIGMAPS, NS, "no-such", NULL, NULL, &err), -ENOENT, "GET of a missing object is -ENOENT");
	ok(err.http_status == 404 && strcmp(err.reason, "NotFound") == 0 && strstr(err.message, "\"no-such\" not found"),
	   "404 NotFound with the message: %s", err.message);
	is_int(kube_get(c, &KUBE_CONFIGMAPS, NS, "../secrets", NULL, NULL, &err), -EINVAL,
	       "a name that would change the path is refused before sending");

	/* PATCH: merge and JSON patch. */
	_cleanup_json_ json_object *p1 = NULL, *p2 = NULL;
	is_int(kube_patch(c, &KUBE_CONFIGMAPS, NS, "cm-0003", NULL, KUBE_PATCH_MERGE, "{\"data\":{\"m\":\"merged\"}}",
			  NULL, false, &p1, &err), 0, "merge patch");
	ok(sk_json_str(p1, "data.m") && sk_json_str(p1, "data.i"), "merge patch adds a key and keeps the rest");
	is_int(kube_patch(c, &KUBE_CONFIGMAPS, NS, "cm-0003", NULL, KUBE_PATCH_JSON,
			  "[{\"op\":\"remove\",\"path\":\"/data/i\"}]", NULL, false, &p2, &err), 0, "JSON patch");
	ok(sk_json_str(p2, "data.i") == NULL && sk_json_str(p2, "data.m"), "JSON patch removed data.i");
	is_int(kube_patch(c, &KUBE_CONFIGMAPS, NS, "cm-0003", NULL, KUBE_PATCH_JSON,
			  "[{\"op\":\"test\",\"path\":\"/data/m\",\"value\":\"other\"}]", NULL, false, NULL, &err), -EINVAL,
	       "a failing JSON patch test op is -EINVAL (%ld)", err.http_status);
}

/* --- server-side apply ----------------------------------------------------------- */

static void test_apply(struct kube_client *c)
{
	struct sk_error err = { 0 };
	const char *doc_a = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"applied\"},\"data\":{\"k\":\"v1\"}}";
	const char *doc_b = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"applied\"},\"data\":{\"k\":\"v2\"}}";
	_cleanup_json_ json_object *a1 = NULL, *a2 = NULL, *b = NULL;

	is_int(kube_patch(c, &KUBE_CONFIGMAPS, NS, "applied", NULL, KUBE_PATCH_APPLY, doc_a, "mgr-a", false, &a1, &err), 0,
	       "server-side apply creates the object");
	is_int(kube_patch(c, &KUBE_CONFIGMAPS, NS, "applied", NULL, KUBE_PATCH_APPLY, doc_a, "mgr-a", false, &a2, &err), 0,
	       "applying the same again succeeds");
	is_str(sk_json_str(a2, "metadata.resourceVersion"), sk_json_str(a1, "metadata.resourceVersion"),
	       "and is idempotent: the resourceVersion does not move");
	is_int(kube_patch(c, &KUBE_CONFIGMAPS, NS, "applied", NULL, KUBE_PATCH_APPLY, doc_b, "mgr-b", false, NULL, &err),
	       -ESTALE, "a second manager changing the field is refused as a conflict");
	ok(err.http_status == 409 && strstr(err.message, "mgr-a"), "the message names the owning manager: %s", err.message);
	is_int(kube_patch(c, &KUBE_CONFIGMAPS, NS, "applied", NULL, KUBE_PATCH_APPLY, doc_b, "mgr-b", true, &b, &err), 0,
	       "with force the second manager takes the field");
	is_str(sk_json_str(b, "data.k"), "v2", "and the value is its own");
	is_int(kube_patch(c, &KUBE_CONFIGMAPS, NS, "applied", NULL, KUBE_PATCH_APPLY, doc_b, NULL, false, NULL, &err),
	       -EINVAL, "apply without a field manager is refused locally");
}

/* --- status and scale subresources ------------------------------------------------ */

static void test_subresources(struct kube_client *c)
{
	struct sk_error err = { 0 };
	_cleanup_json_ json_object *crd = parse(
		"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
		"\"metadata\":{\"name\":\"widgets.kc.spinkube.test\"},\"spec\":{\"group\":\"kc.spinkube.test\","
		"\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\"},\"scope\":\"Namespaced\","
		"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
		"\"subresources\":{\"status\":{},\"scale\":{\"specReplicasPath\":\".spec.replicas\","
		"\"statusReplicasPath\":\".status.replicas\"}},"
		"\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"
		"\"spec\":{\"type\":\"object\",\"properties\":{\"replicas\":{\"type\":\"integer\"},\"color\":{\"type\":\"string\"}}},"
		"\"status\":{\"type\":\"object\",\"properties\":{\"replicas\":{\"type\":\"integer\"},\"phase\":{\"type\":\"string\"}}}"
		"}}}}]}}");
	is_int(kube_create(c, &KUBE_CRDS, NULL, crd, NULL, &err), 0, "create a CRD with status and scale subresources");
	int established = 0;
	for (int i = 0; i < 100 && !established; i++) {
		_cleanup_json_ json_object *got = NULL;
		if (kube_get(c, &KUBE_CRDS, NULL, "widgets.kc.spinkube.test", NULL, &got, NULL) == 0) {
			json_object *conds = sk_json_arr(got, "status.conditions");
			for (size_t j = 0; conds && j < json_object_array_length(conds); j++) {
				json_object *cd = json_object_array_get_idx(conds, j);
				if (!strcmp(sk_json_str(cd, "type"), "Established") && !strcmp(sk_json_str(cd, "status"), "True"))
					established = 1;
			}
		}
		if (!established)
			usleep(100000);
	}
	ok(established, "the CRD is established");
	/* Discovery of the new group can lag the condition a little. */
	_cleanup_json_ json_object *w = parse("{\"apiVersion\":\"kc.spinkube.test/v1\",\"kind\":\"Widget\","
					      "\"metadata\":{\"name\":\"w1\"},\"spec\":{\"replicas\":1,\"color\":\"red\"}}");
	int r = -1;
	for (int i = 0; i < 50 && r != 0; i++) {
		r = kube_create(c, &WIDGETS, NS, w, NULL, &err);
		if (r != 0)
			usleep(200000);
	}
	is_int(r, 0, "create a Widget%s%s", r ? ": " : "", r ? err.message : "");

	_cleanup_json_ json_object *got = NULL, *after = NULL, *scale = NULL, *w2 = NULL;
	kube_get(c, &WIDGETS, NS, "w1", NULL, &got, &err);
	sk_json_set_str(sk_json_ensure_obj(got, "status"), "phase", "Ready");
	sk_json_set_str(sk_json_obj(got, "spec"), "color", "blue");
	is_int(kube_update(c, &WIDGETS, NS, "w1", "status", got, &after, &err), 0, "UPDATE of the status subresource");
	is_str(sk_json_str(after, "status.phase"), "Ready", "the status changed");
	is_str(sk_json_str(after, "spec.color"), "red", "the spec sent along to /status was ignored");
	is_int(kube_patch(c, &WIDGETS, NS, "w1", NULL, KUBE_PATCH_MERGE, "{\"status\":{\"phase\":\"Broken\"}}", NULL,
			  false, &w2, &err), 0, "merge patch of the main resource");
	is_str(sk_json_str(w2, "status.phase"), "Ready", "does not touch the status");
	is_int(kube_patch(c, &WIDGETS, NS, "w1", "status", KUBE_PATCH_MERGE, "{\"status\":{\"replicas\":1}}", NULL, false,
			  NULL, &err), 0, "merge patch of the status subresource");

	is_int(kube_get(c, &WIDGETS, NS, "w1", "scale", &scale, &err), 0, "GET the scale subresource");
	is_str(sk_json_str(scale, "kind"), "Scale", "it is an autoscaling Scale");
	int64_t n = 0;
	sk_json_int64(scale, "spec.replicas", &n);
	is_int(n, 1, "spec.replicas read through scale");
	is_int(kube_patch(c, &WIDGETS, NS, "w1", "scale", KUBE_PATCH_MERGE, "{\"spec\":{\"replicas\":4}}", NULL, false,
			  NULL, &err), 0, "PATCH the scale subresource");
	json_object *w3 = NULL;
	kube_get(c, &WIDGETS, NS, "w1", NULL, &w3, &err);
	sk_json_int64(w3, "spec.replicas", &n);
	is_int(n, 4, "the Widget's spec.replicas followed the scale");
	json_object_put(w3);
}

/* --- delete ----------------------------------------------------------------------- */

static void test_delete(struct kube_client *c)
{
	struct sk_error err = { 0 };
	_cleanup_json_ json_object *cm = NULL;
	struct kube_delete_opts wrong = { .precondition_uid = "00000000-0000-0000-0000-000000000000" };

	kube_get(c, &KUBE_CONFIGMAPS, NS, "cm-0010", NULL, &cm, &err);
	is_int(kube_delete(c, &KUBE_CONFIGMAPS, NS, "cm-0010", &wrong, &err), -ESTALE,
	       "DELETE with a wrong UID precondition is a conflict");
	ok(strstr(err.message, "UID in the precondition") != NULL, "and says why: %s", err.message);
	struct kube_delete_opts right = { .precondition_uid = sk_json_str(cm, "metadata.uid"),
					  .precondition_resource_version = sk_json_str(cm, "metadata.resourceVersion"),
					  .propagation_policy = "Foreground" };
	is_int(kube_delete(c, &KUBE_CONFIGMAPS, NS, "cm-0010", &right, &err), 0,
	       "DELETE with matching UID and resourceVersion preconditions, Foreground");
	int gone = 0;
	for (int i = 0; i < 50 && !gone; i++) {
		gone = kube_get(c, &KUBE_CONFIGMAPS, NS, "cm-0010", NULL, NULL, &err) == -ENOENT;
		if (!gone)
			usleep(100000);
	}
	ok(gone, "the object is gone");
	struct kube_delete_opts bad = { .propagation_policy = "Sideways" };
	is_int(kube_delete(c, &KUBE_CONFIGMAPS, NS, "cm-0011", &bad, &err), -EINVAL,
	       "an invalid propagationPolicy is refused by the server (%s)", err.reason);
}

/* --- watch order across restart and compaction ----------------------------------- */

struct seqwatch {
	long last;       /* last n seen for object "counter" */
	int out_of_order;
	int garbled;
	int events;
	long errors;
	char last_error[SK_ERR_MESSAGE_MAX];
};

static void seq_value(struct seqwatch *s, json_object *obj)
{
	const char *name = sk_json_str(obj, "metadata.name");
	const char *n = sk_json_str(obj, "data.n");
	if (!name || !n) {
		s->garbled++;
		return;
	}
	if (strcmp(name, "counter") != 0)
		return;
	long v = strtol(n, NULL, 10);
	if (v < s->last)
		s->out_of_order++;
	s->last = v;
}

static void seq_item(json_object *item, void *ud)
{
	seq_value(ud, item);
}

static void seq_event(enum kube_event_type t, json_object *obj, void *ud)
{
	struct seqwatch *s = ud;
	if (t == KUBE_EVENT_BOOKMARK)
		return;
	s->events++;
	seq_value(s, obj);
}

static void seq_error(const struct sk_error *err, long retry_ms, void *ud)
{
	struct seqwatch *s = ud;
	s->errors++;
	snprintf(s->last_error, sizeof(s->last_error), "%s", err->message);
}

/* Write counter's data.n = v, retrying while the apiserver is away. */
static int write_counter(struct kube_client *c, long v)
{
	char patch[128];
	struct sk_error err = { 0 };
	snprintf(patch, sizeof(patch), "{\"data\":{\"n\":\"%ld\"}}", v);
	for (int i = 0; i < 300; i++) {
		if (kube_patch(c, &KUBE_CONFIGMAPS, NS, "counter", NULL, KUBE_PATCH_MERGE, patch, NULL, false, NULL, &err) == 0)
			return 0;
		usleep(100000);
	}
	printf("# write of n=%ld failed: %s\n", v, err.message);
	return -1;
}

/* Run the loop until the watch has seen n == want (or the deadline). */
static void wait_seen(struct kube_client *c, struct seqwatch *s, long want, int seconds)
{
	int64_t deadline = kube_now_ms() + seconds * 1000L;
	while (s->last != want && kube_now_ms() < deadline)
		kube_client_run(c, 100);
}

static void test_watch(struct kube_client *c, struct kube_client *writer, const char *src, const char *cluster,
		       const char *dir)
{
	struct sk_error err = { 0 };
	struct seqwatch s = { .last = -1 };
	struct kube_watch *w = NULL;
	struct kube_watch_opts o = { .res = &KUBE_CONFIGMAPS, .ns = NS, .field_selector = "metadata.name=counter",
				     .backoff_base_ms = 100, .backoff_cap_ms = 1000 };
	struct kube_watch_handlers h = { .list_item = seq_item, .event = seq_event, .error = seq_error };
	_cleanup_json_ json_object *cm = configmap("counter", "n", "0", NULL);
	struct kube_watch_stats st;

	is_int(kube_create(writer, &KUBE_CONFIGMAPS, NS, cm, NULL, &err), 0, "create the counter");
	is_int(kube_watch_start(c, &o, &h, &s, &w, &err), 0, "start a watch on it");
	wait_seen(c, &s, 0, 10);
	is_int(s.last, 0, "the initial list shows n=0");

	/* 200 sequential writes; the watch must see each, in order. */
	int seen_all = 1;
	for (long v = 1; v <= 200; v++) {
		write_counter(writer, v);
		wait_seen(c, &s, v, 10);
		if (s.last != v)
			seen_all = 0;
	}
	ok(seen_all, "200 updates each seen by the watch, one by one");
	is_int(s.out_of_order, 0, "none out of order");

	/* Restart the apiserver: the stream breaks, the watch resumes. */
	is_int(run_cmd("%s/hack/cluster-restart --name %s kube-apiserver >/dev/null 2>&1", src, cluster), 0,
	       "kube-apiserver restarted");
	for (long v = 201; v <= 260; v++)
		write_counter(writer, v);
	wait_seen(c, &s, 260, 30);
	is_int(s.last, 260, "after the restart the watch goes on to the last write");
	is_int(s.out_of_order, 0, "still nothing out of order");
	kube_watch_get_stats(w, &st);
	ok(st.streams >= 2, "the watch reconnected (%llu streams, %llu lists, %llu errors)",
	   (unsigned long long)st.streams, (unsigned long long)st.lists, (unsigned long long)st.errors);

	/* Fall behind while the cluster moves on and etcd compacts, then come
	 * back after an apiserver restart: the version is gone (410) and the
	 * watch must list again and resume. */
	uint64_t lists_before = st.lists;
	for (long v = 261; v <= 320; v++)
		write_counter(writer, v);
	int rc = run_cmd(
		". %s/ports.env; p=%s/pki; e=\"%s\"; rev=$($e --endpoints https://127.0.0.1:$ETCD_PORT --cacert $p/ca.crt "
		"--cert $p/etcd-client.crt --key $p/etcd-client.key endpoint status -w json | sed -n "
		"'s/.*\"revision\":\\([0-9]*\\).*/\\1/p'); $e --endpoints https://127.0.0.1:$ETCD_PORT --cacert $p/ca.crt "
		"--cert $p/etcd-client.crt --key $p/etcd-client.key compact $rev --physical >/dev/null",
		dir, dir, getenv("ETCDCTL"));
	is_int(rc, 0, "etcd compacted to its current revision");
	is_int(run_cmd("%s/hack/cluster-restart --name %s kube-apiserver >/dev/null 2>&1", src, cluster), 0,
	       "kube-apiserver restarted again");
	wait_seen(c, &s, 320, 60);
	is_int(s.last, 320, "the watch, resumed past a compaction, reaches the last write");
	is_int(s.out_of_order, 0, "nothing out of order");
	is_int(s.garbled, 0, "no event lacked its fields");
	kube_watch_get_stats(w, &st);
	ok(st.lists > lists_before, "it listed again (%llu lists)", (unsigned long long)st.lists);
	ok(strstr(s.last_error, "410") || strstr(s.last_error, "too old") || st.lists > lists_before,
	   "the 410 was reported to the handler: %s", s.last_error);
	ok(strcmp(kube_watch_resource_version(w), "") != 0, "the watch tracks a resourceVersion (%s)",
	   kube_watch_resource_version(w));
	kube_watch_stop(w);
}

/* --- informer ---------------------------------------------------------------------- */

struct proj {
	char data_i[16];
};
struct inf_counts {
	int added, updated, deleted, resync;
};
static void *project(json_object *obj, void *ud)
{
	struct proj *p = calloc(1, sizeof(*p));
	const char *i = sk_json_str(obj, "data.i");
	if (p && i)
		snprintf(p->data_i, sizeof(p->data_i), "%s", i);
	return p;
}
static void free_proj(void *p, void *ud)
{
	free(p);
}
static void inf_added(const char *key, const void *p, void *ud)
{
	((struct inf_counts *)ud)->added++;
}
static void inf_updated(const char *key, const void *old, const void *p, void *ud)
{
	((struct inf_counts *)ud)->updated++;
}
static void inf_deleted(const char *key, const void *old, void *ud)
{
	((struct inf_counts *)ud)->deleted++;
}
static void inf_resync(const char *key, const void *p, void *ud)
{
	((struct inf_counts *)ud)->resync++;
}

static void test_informer(struct kube_client *c, struct kube_client *writer)
{
	struct sk_error err = { 0 };
	struct inf_counts n = { 0 };
	struct kube_informer *inf = NULL;
	struct kube_watch_opts o = { .res = &KUBE_CONFIGMAPS, .ns = NS, .label_selector = "half=yes" };
	struct kube_informer_handlers h = { .project = project, .free_proj = free_proj, .added = inf_added,
					    .updated = inf_updated, .deleted = inf_deleted, .resync = inf_resync };

	is_int(kube_informer_start(c, &o, 500, &h, &n, &inf, &err), 0, "start an informer on the labelled half");
	for (int i = 0; i < 200 && !kube_informer_synced(inf); i++)
		kube_client_run(c, 100);
	ok(kube_informer_synced(inf), "it reports synced");
	is_int((int)kube_informer_size(inf), 500, "its store holds the 500 labelled ConfigMaps");
	is_int(n.added, 500, "each was reported as added");
	const struct proj *p = kube_informer_get(inf, "kc-test/cm-0005");
	ok(p && strcmp(p->data_i, "cm-0005") == 0, "the store keeps the projection under namespace/name");
	for (int i = 101; i <= 119; i += 2) {
		char name[32];
		snprintf(name, sizeof(name), "cm-%04d", i);
		kube_delete(writer, &KUBE_CONFIGMAPS, NS, name, NULL, &err);
	}
	kube_patch(writer, &KUBE_CONFIGMAPS, NS, "cm-0201", NULL, KUBE_PATCH_MERGE, "{\"data\":{\"i\":\"new\"}}", NULL,
		   false, NULL, &err);
	int64_t deadline = kube_now_ms() + 10000;
	while ((n.deleted < 10 || n.updated < 1 || n.resync == 0) && kube_now_ms() < deadline)
		kube_client_run(c, 100);
	is_int(n.deleted, 10, "ten deletions reported");
	is_int((int)kube_informer_size(inf), 490, "and gone from the store");
	ok(n.updated >= 1, "an update reported");
	p = kube_informer_get(inf, "kc-test/cm-0201");
	ok(p && strcmp(p->data_i, "new") == 0, "the store holds the new projection");
	ok(n.resync > 0, "resync visited the store (%d)", n.resync);
	printf("# informer store: %zu bytes for %zu objects\n", kube_informer_store_bytes(inf), kube_informer_size(inf));
	kube_informer_stop(inf);
}

/* --- authentication ----------------------------------------------------------------- */

/* A service-account token from the TokenRequest API. Caller frees. */
static char *sa_token(struct kube_client *c, const char *sa)
{
	struct sk_error err = { 0 };
	char body[256];
	_cleanup_json_ json_object *acct = NULL;
	snprintf(body, sizeof(body), "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"%s\"}}", sa);
	acct = parse(body);
	kube_create(c, &SERVICEACCOUNTS, NS, acct, NULL, &err);
	_cleanup_free_ char *path = NULL;
	kube_path(&SERVICEACCOUNTS, NS, sa, "token", NULL, &path, NULL);
	const char *req_body = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\",\"spec\":{\"expirationSeconds\":3600}}";
	struct kube_request req = { .method = "POST", .path = path, .body = req_body, .body_len = strlen(req_body) };
	struct kube_response resp;
	char *tok = NULL;
	if (kube_client_call(c, &req, &resp, &err) == 0 && sk_json_str(resp.json, "status.token"))
		tok = strdup(sk_json_str(resp.json, "status.token"));
	else
		printf("# token request for %s failed: %s\n", sa, err.message);
	kube_response_clear(&resp);
	return tok;
}

static int write_file(const char *path, const char *text, int mode)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	chmod(tmp, (mode_t)mode);
	return rename(tmp, path);
}

static void test_auth(struct kube_client *admin, const char *dir, const char *token_kubeconfig, const char *api_port)
{
	struct sk_error err = { 0 };
	char path[512], tmpdir[] = "/tmp/kc-auth-XXXXXX";
	_cleanup_free_ char *who = whoami(admin, &err);

	is_str(who, "admin", "client-certificate auth: the apiserver sees user admin");

	struct kube_config *tcfg = load(token_kubeconfig);
	struct kube_client *tc = client(tcfg, NULL);
	_cleanup_free_ char *who2 = whoami(tc, &err);
	is_str(who2, "admin-token", "bearer-token auth: the apiserver sees user admin-token");
	kube_client_free(tc);
	kube_config_free(tcfg);

	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp failed\n");
		exit(1);
	}
	/* In-cluster: a service-account folder with a rotating token. */
	_cleanup_free_ char *t1 = sa_token(admin, "sa-one"), *t2 = sa_token(admin, "sa-two");
	_cleanup_free_ char *ca = NULL;
	size_t calen;
	snprintf(path, sizeof(path), "%s/pki/ca.crt", dir);
	sk_read_file(path, 1 << 20, &ca, &calen);
	snprintf(path, sizeof(path), "%s/ca.crt", tmpdir);
	write_file(path, ca, 0644);
	snprintf(path, sizeof(path), "%s/namespace", tmpdir);
	write_file(path, NS, 0644);
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	write_file(path, t1 ? t1 : "x", 0600);
	struct kube_config *icfg = NULL;
	is_int(kube_config_in_cluster("127.0.0.1", api_port, tmpdir, &icfg, &err), 0, "in-cluster config from a token file");
	if (icfg) {
		is_str(icfg->namespace, NS, "the in-cluster namespace comes from the namespace file");
		struct kube_client *ic = client(icfg, NULL);
		_cleanup_free_ char *w1 = whoami(ic, &err);
		is_str(w1, "system:serviceaccount:kc-test:sa-one", "in-cluster: the token file's service account");
		write_file(path, t2 ? t2 : "y", 0600);
		_cleanup_free_ char *w2 = whoami(ic, &err);
		is_str(w2, "system:serviceaccount:kc-test:sa-two", "a rotated token file is read again");
		kube_client_free(ic);
		kube_config_free(icfg);
	}

	/* Exec plugin: counts its runs; the first answer is a bad token (401),
	 * then good ones that expire 12 s after they are made (the client
	 * refreshes 10 s early). */
	_cleanup_free_ char *t3 = sa_token(admin, "sa-exec");
	char plugin[512], count[512], kc[512], text[8192];
	snprintf(plugin, sizeof(plugin), "%s/plugin.sh", tmpdir);
	snprintf(count, sizeof(count), "%s/runs", tmpdir);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "echo run >> %s\n"
		 "n=$(wc -l < %s)\n"
		 "tok=%s\n"
		 "[ \"$n\" -eq 1 ] && tok=not-a-valid-token\n"
		 "exp=$(date -u -d '+12 seconds' +%%Y-%%m-%%dT%%H:%%M:%%SZ)\n"
		 "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		 "\"status\":{\"token\":\"%%s\",\"expirationTimestamp\":\"%%s\"}}' \"$tok\" \"$exp\"\n",
		 count, count, t3 ? t3 : "none");
	write_file(plugin, text, 0755);
	snprintf(kc, sizeof(kc), "%s/exec.kubeconfig", tmpdir);
	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:%s\n"
		 "    certificate-authority: %s/pki/ca.crt\nusers:\n- name: u\n  user:\n    exec:\n"
		 "      apiVersion: client.authentication.k8s.io/v1\n      command: %s\n      interactiveMode: Never\n"
		 "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
		 api_port, dir, plugin);
	write_file(kc, text, 0600);
	struct kube_config *ecfg = load(kc);
	struct kube_client *ec = client(ecfg, NULL);
	_cleanup_free_ char *w3 = whoami(ec, &err);
	is_str(w3, "system:serviceaccount:kc-test:sa-exec", "exec plugin: after a 401 the plugin runs again and its token works");
	_cleanup_free_ char *runs = NULL;
	size_t rl;
	sk_read_file(count, 4096, &runs, &rl);
	is_int((int)(rl / 4), 2, "the plugin ran twice (bad token, then a good one)");
	_cleanup_free_ char *w4 = whoami(ec, &err);
	free(runs);
	runs = NULL;
	sk_read_file(count, 4096, &runs, &rl);
	is_int((int)(rl / 4), 2, "a valid credential is reused");
	sleep(3);
	_cleanup_free_ char *w5 = whoami(ec, &err);
	free(runs);
	runs = NULL;
	sk_read_file(count, 4096, &runs, &rl);
	is_int((int)(rl / 4), 3, "an expiring credential is refreshed");
	is_str(w5, "system:serviceaccount:kc-test:sa-exec", "and the refreshed token works");
	kube_client_free(ec);
	kube_config_free(ecfg);

	/* Wrong CA and an unreachable server: one clear line each. */
	snprintf(text, sizeof(text), "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout other.key -out other.crt -subj /CN=other -days 1 >/dev/null 2>&1", tmpdir);
	run_cmd("%s", text);
	snprintf(kc, sizeof(kc), "%s/wrongca.kubeconfig", tmpdir);
	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:%s\n"
		 "    certificate-authority: %s/other.crt\nusers:\n- name: u\n  user: {token: abc}\n"
		 "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
		 api_port, tmpdir);
	write_file(kc, text, 0600);
	struct kube_config *bcfg = load(kc);
	struct kube_client *bc = client(bcfg, NULL);
	int r = kube_get(bc, &KUBE_NAMESPACES, NULL, "default", NULL, NULL, &err);
	is_int(r, -EPROTO, "a server certificate from another CA is refused");
	ok(strstr(err.message, "certificate-authority") && !strchr(err.message, '\n'),
	   "in one line that points at certificate-authority: %s", err.message);
	kube_client_free(bc);
	kube_config_free(bcfg);

	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:9\n"
		 "users:\n- name: u\n  user: {token: abc}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		 "current-context: x\n");
	write_file(kc, text, 0600);
	bcfg = load(kc);
	bc = client(bcfg, NULL);
	r = kube_get(bc, &KUBE_NAMESPACES, NULL, "default", NULL, NULL, &err);
	is_int(r, -ECONNREFUSED, "an unreachable server is -ECONNREFUSED");
	ok(strstr(err.message, "127.0.0.1:9") && strstr(err.message, "apiserver running") && !strchr(err.message, '\n'),
	   "in one line naming the server: %s", err.message);
	kube_client_free(bc);
	kube_config_free(bcfg);
	run_cmd("rm -rf %s", tmpdir);
}

int main(void)
{
	const char *kubeconfig = env("KUBECONFIG");
	const char *token_kc = env("SPINKUBE_TOKEN_KUBECONFIG");
	const char *cluster = env("SPINKUBE_CLUSTER");
	const char *dir = env("SPINKUBE_CLUSTER_DIR");
	const char *src = env("SPINKUBE_SOURCE_DIR");
	const char *api_port = env("API_PORT");
	env("ETCDCTL");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct kube_config *cfg = load(kubeconfig);
	struct kube_client_opts fast = { .qps = 500, .burst = 1000 };
	struct kube_client *c = client(cfg, &fast);
	struct kube_client *writer = client(cfg, &fast);

	{
		struct kube_request req = { .method = "GET", .path = "/version" };
		struct kube_response resp;
		struct sk_error err = { 0 };
		is_int(kube_client_call(c, &req, &resp, &err), 0, "GET /version");
		ok(sk_json_str(resp.json, "gitVersion") != NULL, "the server says its version (%s)", sk_json_str(resp.json, "gitVersion"));
		kube_response_clear(&resp);
	}
	test_crud(c);
	test_apply(c);
	test_subresources(c);
	test_delete(c);
	test_informer(c, writer);
	test_watch(c, writer, src, cluster, dir);
	test_auth(c, dir, token_kc, api_port);

	kube_client_free(writer);
	kube_client_free(c);
	kube_config_free(cfg);
	curl_global_cleanup();
	return tap_done();
}
