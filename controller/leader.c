/* Leader election through a Lease (see leader.h). */
#include "controller/leader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"

#define SA_NAMESPACE_FILE "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

/* ---- the record ---------------------------------------------------------------- */

static int copy_field(char *dst, size_t size, const char *v, const char *what, struct sk_error *err)
{
	if (!v)
		v = "";
	if (strlen(v) >= size)
		return sk_err(err, -EINVAL, "Lease: %s is longer than %zu bytes", what, size - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

int leader_lease_parse(json_object *obj, struct leader_lease *out, struct sk_error *err)
{
	int64_t n;
	int r;

	memset(out, 0, sizeof(*out));
	if (!obj || !json_object_is_type(obj, json_type_object) || !sk_json_obj(obj, "spec") ||
	    !sk_json_str(obj, "metadata.resourceVersion"))
		return sk_err(err, -EINVAL, "Lease: not a Lease object (no spec or metadata.resourceVersion)");
	if ((r = copy_field(out->holder, sizeof(out->holder), sk_json_str(obj, "spec.holderIdentity"),
			    "spec.holderIdentity", err)) < 0 ||
	    (r = copy_field(out->resource_version, sizeof(out->resource_version),
			    sk_json_str(obj, "metadata.resourceVersion"), "metadata.resourceVersion", err)) < 0 ||
	    (r = copy_field(out->renew_time, sizeof(out->renew_time), sk_json_str(obj, "spec.renewTime"),
			    "spec.renewTime", err)) < 0 ||
	    (r = copy_field(out->acquire_time, sizeof(out->acquire_time), sk_json_str(obj, "spec.acquireTime"),
			    "spec.acquireTime", err)) < 0)
		return r;
	out->duration_s = sk_json_int64(obj, "spec.leaseDurationSeconds", &n) == 0 && n > 0 && n < 86400 ? (long)n : 0;
	out->transitions = sk_json_int64(obj, "spec.leaseTransitions", &n) == 0 && n >= 0 && n < 1000000000 ? (long)n : 0;
	return 0;
}

bool leader_lease_takeable(const struct leader_lease *l, const char *identity, int64_t held_ms)
{
	if (l->holder[0] == '\0' || strcmp(l->holder, identity) == 0)
		return true;
	/* someone else's: only once it has not been renewed for its duration */
	return l->duration_s > 0 ? held_ms >= (int64_t)l->duration_s * 1000 : held_ms >= 15000;
}

char *leader_lease_json(const struct leader_opts *o, const struct leader_lease *prev, const char *holder,
			const char *now_rfc3339, long duration_s)
{
	json_object *root = json_object_new_object(), *md = json_object_new_object(), *spec = json_object_new_object();
	long transitions = prev ? prev->transitions : 0;
	char *out = NULL;

	if (!root || !md || !spec) {
		json_object_put(root);
		json_object_put(md);
		json_object_put(spec);
		return NULL;
	}
	bool renewing = prev && holder && strcmp(prev->holder, holder) == 0;
	if (prev && holder && !renewing)
		transitions++;
	json_object_object_add(root, "apiVersion", json_object_new_string("coordination.k8s.io/v1"));
	json_object_object_add(root, "kind", json_object_new_string("Lease"));
	json_object_object_add(md, "name", json_object_new_string(o->name));
	json_object_object_add(md, "namespace", json_object_new_string(o->namespace));
	if (prev)
		json_object_object_add(md, "resourceVersion", json_object_new_string(prev->resource_version));
	json_object_object_add(root, "metadata", md);
	json_object_object_add(spec, "holderIdentity", json_object_new_string(holder ? holder : ""));
	json_object_object_add(spec, "leaseDurationSeconds", json_object_new_int64(duration_s));
	json_object_object_add(spec, "acquireTime",
			       json_object_new_string(renewing && prev->acquire_time[0] ? prev->acquire_time : now_rfc3339));
	json_object_object_add(spec, "renewTime", json_object_new_string(now_rfc3339));
	json_object_object_add(spec, "leaseTransitions", json_object_new_int64(transitions));
	json_object_object_add(root, "spec", spec);
	const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	if (s)
		out = strdup(s);
	json_object_put(root);
	return out;
}

/* ---- the runner ------------------------------------------------------------------ */

enum leader_state { LS_IDLE, LS_STANDBY, LS_LEADING, LS_LOST };

struct leader {
	struct kube_client *c;
	struct leader_opts o;
	char name[LEADER_ID_MAX], ns[LEADER_ID_MAX], identity[LEADER_ID_MAX];
	char collection[384], path[384 + LEADER_ID_MAX];
	enum leader_state state;
	bool busy;          /* a request is in flight */
	int64_t timer;
	struct leader_lease seen; /* the record last read */
	bool have_seen;
	int64_t seen_since_ms;    /* when that record was first read as it is */
	int64_t renewed_ms;       /* the last successful take or renewal */
	char *body;               /* the write in flight */
	bool reported_error;
};

static void now_rfc3339(char *out, size_t size)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(out + n, size - n, ".%06ldZ", (long)tv.tv_usec);
}

static void schedule(struct leader *l, long ms);

static void lose(struct leader *l, const char *why)
{
	if (l->state == LS_LEADING) {
		char q[512];
		log_error("leader election lost", "lease=%s/%s identity=%s reason=%s", l->ns, l->name, l->identity,
			  log_quote(why, q, sizeof(q)));
		l->state = LS_LOST;
		kube_client_wakeup(l->c);
	}
}

static void on_write(int rc, struct kube_response *r, const struct sk_error *err, void *ud)
{
	struct leader *l = ud;
	struct sk_error perr = { 0 };

	(void)r;
	l->busy = false;
	free(l->body);
	l->body = NULL;
	if (rc == 0 && r && r->json && leader_lease_parse(r->json, &l->seen, &perr) == 0) {
		l->have_seen = true;
		l->seen_since_ms = kube_now_ms();
		l->renewed_ms = kube_now_ms();
		l->reported_error = false;
		if (l->state != LS_LEADING) {
			log_info("leader elected", "lease=%s/%s identity=%s transitions=%ld", l->ns, l->name, l->identity,
				 l->seen.transitions);
			l->state = LS_LEADING;
			kube_client_wakeup(l->c);
		}
	} else if (l->state == LS_LEADING && kube_now_ms() - l->renewed_ms >= l->o.renew_deadline_ms) {
		lose(l, err && err->message[0] ? err->message : "no renewal within the renew deadline");
		return;
	} else if (rc < 0 && err && err->http_status != 409 && !l->reported_error) {
		char q[SK_ERR_MESSAGE_MAX + 8];
		log_warn("leader election: cannot write the lease", "lease=%s/%s error=%s", l->ns, l->name,
			 log_quote(err->message, q, sizeof(q)));
		l->reported_error = true;
	}
	schedule(l, l->o.retry_ms);
}

static void write_lease(struct leader *l, bool create)
{
	char now[40];
	struct kube_request req = { 0 };

	now_rfc3339(now, sizeof(now));
	l->body = leader_lease_json(&l->o, create ? NULL : &l->seen, l->identity, now, l->o.lease_ms / 1000);
	if (!l->body) {
		schedule(l, l->o.retry_ms);
		return;
	}
	req.method = create ? "POST" : "PUT";
	req.path = create ? l->collection : l->path;
	req.body = l->body;
	req.body_len = strlen(l->body);
	l->busy = true;
	if (kube_client_do(l->c, &req, on_write, l) < 0) {
		l->busy = false;
		free(l->body);
		l->body = NULL;
		schedule(l, l->o.retry_ms);
	}
}

static bool same_record(const struct leader_lease *a, const struct leader_lease *b)
{
	return strcmp(a->holder, b->holder) == 0 && strcmp(a->renew_time, b->renew_time) == 0 &&
	       strcmp(a->resource_version, b->resource_version) == 0;
}

static void on_read(int rc, struct kube_response *r, const struct sk_error *err, void *ud)
{
	struct leader *l = ud;
	struct leader_lease now_l;
	struct sk_error perr = { 0 };

	l->busy = false;
	if (rc < 0 && err && err->http_status == 404) {
		write_lease(l, true);
		return;
	}
	if (rc < 0 || !r || leader_lease_parse(r->json, &now_l, &perr) < 0) {
		if (!l->reported_error) {
			char q[SK_ERR_MESSAGE_MAX + 8];
			log_warn("leader election: cannot read the lease", "lease=%s/%s error=%s", l->ns, l->name,
				 log_quote(rc < 0 && err ? err->message : perr.message, q, sizeof(q)));
			l->reported_error = true;
		}
		if (l->state == LS_LEADING && kube_now_ms() - l->renewed_ms >= l->o.renew_deadline_ms) {
			lose(l, "the lease could not be read within the renew deadline");
			return;
		}
		schedule(l, l->o.retry_ms);
		return;
	}
	if (!l->have_seen || !same_record(&l->seen, &now_l)) {
		l->seen = now_l;
		l->have_seen = true;
		l->seen_since_ms = kube_now_ms();
	}
	if (l->state == LS_LEADING && strcmp(now_l.holder, l->identity) != 0) {
		lose(l, "another candidate holds the lease");
		return;
	}
	if (leader_lease_takeable(&l->seen, l->identity, kube_now_ms() - l->seen_since_ms)) {
		write_lease(l, false);
		return;
	}
	if (l->state == LS_IDLE) {
		log_info("leader election: standing by", "lease=%s/%s holder=%s identity=%s", l->ns, l->name,
			 l->seen.holder, l->identity);
		l->state = LS_STANDBY;
	}
	schedule(l, l->o.retry_ms);
}

static void attempt(void *ud)
{
	struct leader *l = ud;
	struct kube_request req = { .method = "GET", .path = l->path };

	l->timer = 0;
	if (l->busy || l->state == LS_LOST)
		return;
	l->busy = true;
	if (kube_client_do(l->c, &req, on_read, l) < 0) {
		l->busy = false;
		schedule(l, l->o.retry_ms);
	}
}

static void schedule(struct leader *l, long ms)
{
	if (l->state == LS_LOST)
		return;
	if (l->timer > 0)
		kube_client_timer_cancel(l->c, l->timer);
	l->timer = kube_client_timer(l->c, ms, attempt, l);
}

static bool dns_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
			return false;
	}
	return s[0] != '-' && s[0] != '.' && s[n - 1] != '-' && s[n - 1] != '.';
}

int leader_new(struct kube_client *c, const struct leader_opts *o, struct leader **out, struct sk_error *err)
{
	struct leader *l;

	if (!dns_name(o->name))
		return sk_err(err, -EINVAL, "--leader-election-id '%s': give a DNS subdomain name (lower case, digits, '-', '.')",
			      o->name);
	if (!dns_name(o->namespace) || strlen(o->namespace) > 63)
		return sk_err(err, -EINVAL, "leader election namespace '%s' is not a namespace name", o->namespace);
	if (o->renew_deadline_ms >= o->lease_ms || o->retry_ms >= o->renew_deadline_ms)
		return sk_err(err, -EINVAL,
			      "leader election: want retry period < renew deadline < lease duration (got %ld ms, %ld ms, %ld ms)",
			      o->retry_ms, o->renew_deadline_ms, o->lease_ms);
	if (!(l = calloc(1, sizeof(*l))))
		return sk_err(err, -ENOMEM, "out of memory");
	l->c = c;
	l->o = *o;
	(void)snprintf(l->name, sizeof(l->name), "%s", o->name);
	(void)snprintf(l->ns, sizeof(l->ns), "%s", o->namespace);
	(void)snprintf(l->identity, sizeof(l->identity), "%s", o->identity);
	l->o.name = l->name;
	l->o.namespace = l->ns;
	l->o.identity = l->identity;
	(void)snprintf(l->collection, sizeof(l->collection), "/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->ns);
	(void)snprintf(l->path, sizeof(l->path), "%s/%s", l->collection, l->name);
	*out = l;
	return 0;
}

void leader_start(struct leader *l)
{
	log_info("leader election: starting", "lease=%s/%s identity=%s lease_s=%.1f renew_deadline_s=%.1f retry_s=%.1f",
		 l->ns, l->name, l->identity, (double)l->o.lease_ms / 1000, (double)l->o.renew_deadline_ms / 1000,
		 (double)l->o.retry_ms / 1000);
	schedule(l, 0);
}

bool leader_leading(const struct leader *l)
{
	return l && l->state == LS_LEADING;
}

bool leader_lost(struct leader *l)
{
	/* also when requests hang: no renewal for the renew deadline is a loss */
	if (l && l->state == LS_LEADING && kube_now_ms() - l->renewed_ms >= l->o.renew_deadline_ms)
		lose(l, "no renewal within the renew deadline");
	return l && l->state == LS_LOST;
}

void leader_release(struct leader *l)
{
	struct kube_response resp = { 0 };
	struct sk_error err = { 0 };
	char now[40];

	if (!l || l->state != LS_LEADING)
		return;
	if (l->timer > 0)
		kube_client_timer_cancel(l->c, l->timer);
	l->timer = 0;
	/* a renewal in flight would race the release: let it finish first */
	for (int i = 0; l->busy && i < 100; i++)
		(void)kube_client_run(l->c, 100);
	now_rfc3339(now, sizeof(now));
	char *body = leader_lease_json(&l->o, &l->seen, NULL, now, 1);
	struct kube_request req = { .method = "PUT", .path = l->path, .body = body, .body_len = body ? strlen(body) : 0 };
	if (body && kube_client_call(l->c, &req, &resp, &err) == 0)
		log_info("leader election: released", "lease=%s/%s identity=%s", l->ns, l->name, l->identity);
	else {
		char q[SK_ERR_MESSAGE_MAX + 8];
		log_warn("leader election: cannot release the lease", "lease=%s/%s error=%s", l->ns, l->name,
			 log_quote(body ? err.message : "out of memory", q, sizeof(q)));
	}
	kube_response_clear(&resp);
	free(body);
	l->state = LS_IDLE;
}

void leader_free(struct leader *l)
{
	if (!l)
		return;
	if (l->timer > 0)
		kube_client_timer_cancel(l->c, l->timer);
	free(l->body);
	free(l);
}

int leader_namespace_from_pod(char *out, size_t size, struct sk_error *err)
{
	const char *v = getenv("POD_NAMESPACE");
	char *text = NULL;
	size_t len;

	if (v && *v) {
		(void)snprintf(out, size, "%s", v);
		return 0;
	}
	if (sk_read_file(SA_NAMESPACE_FILE, 256, &text, &len) == 0) {
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
			text[--len] = '\0';
		(void)snprintf(out, size, "%s", text);
		free(text);
		if (out[0])
			return 0;
	}
	return sk_err(err, -ENOENT,
		      "leader election: not running in a pod (no POD_NAMESPACE, no %s): give --leader-election-namespace",
		      SA_NAMESPACE_FILE);
}

void leader_identity(char *out, size_t size)
{
	char host[128] = "spin-controller";
	uint8_t r[8] = { 0 };

	(void)gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t x = (uint64_t)kube_now_ms() ^ ((uint64_t)getpid() << 32);
		memcpy(r, &x, sizeof(r));
	}
	(void)snprintf(out, size, "%s_%02x%02x%02x%02x%02x%02x%02x%02x", host, r[0], r[1], r[2], r[3], r[4], r[5], r[6],
		       r[7]);
}
