#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "informer.h"
#include "json.h"
#include "log.h"

static const struct kube_resource SPINAPPS = { "core.spinkube.dev/v1alpha1", "spinapps", true };
static const struct kube_resource EXECUTORS = { "core.spinkube.dev/v1alpha1", "spinappexecutors", true };
/* Handler context: the kind named in log lines. */
static char KIND_APP[] = "SpinApp";
static char KIND_EXECUTOR[] = "SpinAppExecutor";

/* The one client the signal handler may wake; set while controller_run runs. */
static struct kube_client *volatile running_client;

void controller_wakeup(void)
{
	struct kube_client *c = running_client;

	if (c)
		kube_client_wakeup(c);
}

/* What the controller keeps of each object for now: its generation. */
struct seen {
	long long generation;
	char kind[16];
};

static void *project(json_object *obj, void *ud)
{
	struct seen *s = calloc(1, sizeof(*s));
	int64_t g = 0;

	if (!s)
		return NULL;
	(void)kj_int64(obj, "metadata.generation", &g);
	s->generation = (long long)g;
	snprintf(s->kind, sizeof(s->kind), "%s", (const char *)ud);
	return s;
}

static void free_proj(void *p, void *ud)
{
	free(p);
}

static void added(const char *key, const void *p, void *ud)
{
	const struct seen *s = p;
	char q[600];
	log_info("added", "kind=%s object=%s generation=%lld", s->kind, log_quote(key, q, sizeof(q)), s->generation);
}

static void updated(const char *key, const void *old, const void *p, void *ud)
{
	const struct seen *o = old, *s = p;
	char q[600];
	if (o->generation != s->generation)
		log_info("updated", "kind=%s object=%s generation=%lld", s->kind, log_quote(key, q, sizeof(q)),
			 s->generation);
}

static void deleted(const char *key, const void *old, void *ud)
{
	const struct seen *s = old;
	char q[600];
	log_info("deleted", "kind=%s object=%s", s->kind, log_quote(key, q, sizeof(q)));
}

static void watch_error(const struct sk_error *err, long retry_ms, void *ud)
{
	char q[SK_ERR_MESSAGE_MAX + 64];

	if (err->http_status == 404)
		log_error("the SpinApp API is not served: install the CRDs (kubectl apply -f crd/)",
			  "kind=%s retry_ms=%ld", (const char *)ud, retry_ms);
	else
		log_warn("watch failed; retrying", "kind=%s retry_ms=%ld error=%s", (const char *)ud, retry_ms,
			 log_quote(err->message, q, sizeof(q)));
}

int controller_run(const struct controller_options *opts, volatile sig_atomic_t *stop)
{
	struct kube_config_opts co = { .explicit_path = opts->kubeconfig, .context = opts->context };
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	struct kube_informer *apps = NULL, *execs = NULL;
	struct sk_error err = { 0 };
	char q[SK_ERR_MESSAGE_MAX + 64];
	int status = 1;

	kube_config_opts_from_env(&co);
	if (kube_config_load(&co, &cfg, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		return 1;
	}
	if (kube_client_new(cfg, NULL, &c, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		goto out;
	}
	running_client = c;

	struct kube_request req = { .method = "GET", .path = "/version" };
	struct kube_response resp;
	if (kube_client_call(c, &req, &resp, &err) < 0) {
		fprintf(stderr, "spin-controller: cannot reach the apiserver: %s\n", err.message);
		kube_response_clear(&resp);
		goto out;
	}
	log_info("connected", "server=%s version=%s config=%s", log_quote(cfg->server, q, sizeof(q)),
		 kj_str(resp.json, "gitVersion") ? kj_str(resp.json, "gitVersion") : "unknown",
		 cfg->context ? cfg->context : "in-cluster");
	kube_response_clear(&resp);

	struct kube_informer_handlers h = { .project = project, .free_proj = free_proj, .added = added,
					    .updated = updated, .deleted = deleted, .error = watch_error };
	struct kube_watch_opts wa = { .res = &SPINAPPS, .backoff_cap_ms = 30000 };
	struct kube_watch_opts we = { .res = &EXECUTORS, .backoff_cap_ms = 30000 };
	if (kube_informer_start(c, &wa, 0, &h, KIND_APP, &apps, &err) < 0 ||
	    kube_informer_start(c, &we, 0, &h, KIND_EXECUTOR, &execs, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		goto out;
	}
	log_info("watching", "resources=%s", "spinapps,spinappexecutors");
	bool synced = false;
	while (!*stop) {
		if (kube_client_run(c, 1000) < 0) {
			log_error("event loop failed", "%s", "");
			goto out;
		}
		if (!synced && kube_informer_synced(apps) && kube_informer_synced(execs)) {
			synced = true;
			log_info("synced", "spinapps=%zu spinappexecutors=%zu", kube_informer_size(apps),
				 kube_informer_size(execs));
		}
	}
	log_info("stopping", "%s", "");
	status = 0;
out:
	running_client = NULL;
	kube_informer_stop(apps);
	kube_informer_stop(execs);
	kube_client_free(c);
	kube_config_free(cfg);
	return status;
}
