/* The Deployment of a SpinApp and the Service in front of it, as COMPAT.md
 * section 2 lays them out (the Secrets are secret.c's, the builder and the
 * shared metadata build.h's).
 *
 * Every object is built in one fixed key order, and every map that comes
 * from the user (labels, annotations, nodeSelector) is copied with its keys
 * in byte order, so the output depends on what the input says, not on how
 * its keys happened to be ordered. Inputs are validated before anything is
 * built; building itself can only run out of memory, which is tracked by a
 * sticky flag (struct build) so the build code reads as the object it makes. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json_object_iterator.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "controller/render/build.h"
#include "controller/render/render-private.h"
#include "controller/render/render.h"

/* ---- the executor ---- */

struct exec_mode {
	const char *name;          /* the executor's name, for messages */
	json_object *dc;           /* spec.deploymentConfig */
	const char *runtime_class; /* shim mode */
	const char *spin_image;    /* spintainer mode */
	const char *ca_secret;     /* Secret mounted as the CA bundle, or NULL */
};

/* What the executor says about the Deployment; exactly one mode. */
static int exec_mode(json_object *executor, struct exec_mode *x, struct sk_error *err)
{
	json_object *cd;
	const char *ca;

	if (!json_object_is_type(executor, json_type_object))
		return sk_err(err, -EINVAL, "the SpinAppExecutor is missing or not a JSON object");
	x->name = sk_json_str(executor, "metadata.name");
	if (!x->name)
		x->name = "";
	cd = sk_json_get(executor, "spec.createDeployment");
	if (!json_object_is_type(cd, json_type_boolean) || !json_object_get_boolean(cd))
		return sk_err(
		    err, -EINVAL,
		    "SpinAppExecutor \"%s\": createDeployment is not true, so it makes no Deployment",
		    x->name);
	x->dc = sk_json_obj(executor, "spec.deploymentConfig");
	if (!x->dc)
		return sk_err(
		    err, -EINVAL,
		    "SpinAppExecutor \"%s\": createDeployment is true but spec.deploymentConfig is missing; "
		    "set deploymentConfig.runtimeClassName (shim) or deploymentConfig.spinImage (spintainer)",
		    x->name);
	x->runtime_class = sk_json_str(x->dc, "runtimeClassName");
	x->spin_image = sk_json_str(x->dc, "spinImage");
	if (x->runtime_class && !*x->runtime_class)
		x->runtime_class = NULL;
	if (x->spin_image && !*x->spin_image)
		x->spin_image = NULL;
	if (x->runtime_class && x->spin_image)
		return sk_err(
		    err, -EINVAL,
		    "SpinAppExecutor \"%s\": deploymentConfig sets both runtimeClassName and spinImage; "
		    "keep one (runtimeClassName: shim, spinImage: spintainer)",
		    x->name);
	if (!x->runtime_class && !x->spin_image)
		return sk_err(
		    err, -EINVAL,
		    "SpinAppExecutor \"%s\": deploymentConfig sets neither runtimeClassName nor spinImage; "
		    "set one (runtimeClassName: shim, spinImage: spintainer)",
		    x->name);
	/* As upstream: a caCertSecret is mounted whenever it is named; the
	 * default one when installDefaultCACerts asks for it. */
	ca = sk_json_str(x->dc, "caCertSecret");
	if (ca && *ca)
		x->ca_secret = ca;
	else if (sk_json_bool(x->dc, "installDefaultCACerts", false))
		x->ca_secret = SPIN_CA_SECRET_DEFAULT;
	else
		x->ca_secret = NULL;
	return 0;
}

/* ---- the pod's parts ---- */

/* Bytes of a resources quantity (string or integer) for the comparison
 * with invocationLimits.memory; -1 when it does not read as bytes. */
static int64_t resource_bytes(json_object *q)
{
	int64_t v;

	if (json_object_is_type(q, json_type_int))
		return json_object_get_int64(q);
	if (json_object_is_type(q, json_type_string) &&
	    render_quantity_bytes(json_object_get_string(q), &v, NULL) == 0)
		return v;
	return -1;
}

/* SPIN_MAX_INSTANCE_MEMORY from spec.invocationLimits.memory, checked
 * against the container's memory limit (or request when only that is set).
 * *bytes is -1 when no memory limit is asked for. */
static int invocation_memory(json_object *spec, int64_t *bytes, struct sk_error *err)
{
	json_object *limits = sk_json_get(spec, "invocationLimits"), *mem, *cap;
	const char *s, *capfield = "limits";
	int64_t capb;
	int r;

	*bytes = -1;
	if (!limits || json_object_is_type(limits, json_type_null))
		return 0;
	if (!json_object_is_type(limits, json_type_object))
		return sk_err(err, -EINVAL, "spec.invocationLimits must be a map of strings");
	mem = sk_json_get(limits, "memory");
	if (!mem)
		return 0;
	s = json_object_is_type(mem, json_type_string) ? json_object_get_string(mem) : NULL;
	if (!s)
		return sk_err(err, -EINVAL,
		              "spec.invocationLimits.memory must be a string such as \"128Mi\"");
	if ((r = render_quantity_bytes(s, bytes, err)) < 0)
		return sk_err_prefix(err, "spec.invocationLimits.memory");
	if (*bytes == 0)
		return sk_err(err, -EINVAL,
		              "spec.invocationLimits.memory is 0; give a size such as \"128Mi\"");
	cap = sk_json_get(spec, "resources.limits.memory");
	if (!cap) {
		cap = sk_json_get(spec, "resources.requests.memory");
		capfield = "requests";
	}
	capb = cap ? resource_bytes(cap) : -1;
	if (capb >= 0 && *bytes > capb)
		return sk_err(
		    err, -EINVAL,
		    "spec.invocationLimits.memory (%s) is more than spec.resources.%s.memory (%s); lower it "
		    "or raise the container's memory",
		    s, capfield, json_object_get_string(cap));
	return 0;
}

/* {name, value} appended to env. */
static void env_pair(struct build *b, json_object *env, const char *name, const char *value)
{
	json_object *e = push_obj(b, env);

	put_str(b, e, "name", name);
	put_str(b, e, "value", value);
}

/* spec.variables as SPIN_VARIABLE_<NAME> entries, in their order. */
static int env_variables(struct build *b, json_object *env, json_object *spec, struct sk_error *err)
{
	json_object *vars = sk_json_get(spec, "variables");

	if (vars && !json_object_is_type(vars, json_type_array))
		return sk_err(err, -EINVAL, "spec.variables must be a list");
	for (size_t i = 0, n = vars ? json_object_array_length(vars) : 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(vars, i), *from = sk_json_get(v, "valueFrom"), *e;
		const char *name = sk_json_str(v, "name"), *value = sk_json_str(v, "value");
		_cleanup_free_ char *ename = NULL;
		size_t len;

		if (!name || !*name)
			return sk_err(err, -EINVAL, "spec.variables[%zu]: name is missing", i);
		if (from && value)
			return sk_err(err, -EINVAL,
			              "spec.variables[%zu] (\"%s\"): set value or valueFrom, not both", i,
			              name);
		if (from && !json_object_is_type(from, json_type_object))
			return sk_err(err, -EINVAL,
			              "spec.variables[%zu] (\"%s\"): valueFrom must be an object", i, name);
		len = strlen("SPIN_VARIABLE_") + strlen(name) + 1;
		ename = malloc(len);
		if (!ename)
			return oom(err);
		(void)snprintf(ename, len, "SPIN_VARIABLE_%s", name);
		for (char *p = ename; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		e = push_obj(b, env);
		put_str(b, e, "name", ename);
		/* An empty value is written as no value, as the apiserver stores it. */
		if (value && *value)
			put_str(b, e, "value", value);
		if (from)
			put(b, e, "valueFrom", copy(b, from));
	}
	return 0;
}

/* spec.components as SPIN_COMPONENTS_TO_RETAIN (comma-separated ids), when
 * the list is not empty. */
static int env_components(struct build *b, json_object *env, json_object *spec, struct sk_error *err)
{
	json_object *comps = sk_json_get(spec, "components");

	if (comps && !json_object_is_type(comps, json_type_array))
		return sk_err(err, -EINVAL, "spec.components must be a list of component ids");
	if (!comps || json_object_array_length(comps) == 0)
		return 0;
	struct sk_buf list = sk_buf_make(1024 * 1024);
	size_t n = json_object_array_length(comps);

	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(comps, i);
		const char *id = json_object_is_type(c, json_type_string) ? json_object_get_string(c) : NULL;

		if (!id || !*id || strchr(id, ',')) {
			sk_buf_free(&list);
			return sk_err(err, -EINVAL,
			              "spec.components[%zu] must be a component id (not empty, no comma)", i);
		}
		if ((i && sk_buf_append(&list, ",", 1) < 0) || sk_buf_append(&list, id, strlen(id)) < 0) {
			sk_buf_free(&list);
			return sk_err(err, -E2BIG, "spec.components is too long");
		}
	}
	env_pair(b, env, "SPIN_COMPONENTS_TO_RETAIN", list.data);
	sk_buf_free(&list);
	return 0;
}

/* The container's env, in COMPAT.md's order: the app's variables, the
 * listen address, the executor's OpenTelemetry endpoints, the instance
 * memory cap and the components to retain. */
static int build_env(json_object *spec, const struct exec_mode *x, int64_t port, json_object **out,
                     struct sk_error *err)
{
	static const char *const otel[][2] = {
	    {"exporter_otlp_endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT"},
	    {"exporter_otlp_traces_endpoint", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
	    {"exporter_otlp_metrics_endpoint", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"},
	    {"exporter_otlp_logs_endpoint", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"},
	};
	_cleanup_json_ json_object *env = json_object_new_array();
	struct build b = {false};
	char addr[32];
	int64_t mem;
	int r;

	if ((r = env_variables(&b, env, spec, err)) < 0)
		return r;
	(void)snprintf(addr, sizeof(addr), "0.0.0.0:%" PRId64, port);
	env_pair(&b, env, "SPIN_HTTP_LISTEN_ADDR", addr);
	for (size_t i = 0; i < sizeof(otel) / sizeof(otel[0]); i++) {
		const char *v = sk_json_str(sk_json_obj(x->dc, "otel"), otel[i][0]);
		if (v && *v)
			env_pair(&b, env, otel[i][1], v);
	}
	if ((r = invocation_memory(spec, &mem, err)) < 0)
		return r;
	if (mem >= 0) {
		char num[32];
		(void)snprintf(num, sizeof(num), "%" PRId64, mem);
		env_pair(&b, env, "SPIN_MAX_INSTANCE_MEMORY", num);
	}
	if ((r = env_components(&b, env, spec, err)) < 0)
		return r;
	if (b.oom || !env)
		return oom(err);
	*out = TAKE_PTR(env);
	return 0;
}

/* One probe from spec.checks.<which>; *out NULL when not configured. The
 * defaults are upstream's (and the CRD's): 10/1/10/1/3. */
static int build_probe(json_object *spec, const char *which, int64_t port, json_object **out,
                       struct sk_error *err)
{
	static const struct {
		const char *field;
		int64_t def;
	} timing[] = {
	    {"initialDelaySeconds", 10}, {"timeoutSeconds", 1},   {"periodSeconds", 10},
	    {"successThreshold", 1},     {"failureThreshold", 3},
	};
	json_object *check = sk_json_getv(spec, "checks", which, NULL), *hg, *headers;
	_cleanup_json_ json_object *probe = NULL;
	struct build b = {false};
	const char *path;

	*out = NULL;
	if (!check || json_object_is_type(check, json_type_null))
		return 0;
	hg = sk_json_obj(check, "httpGet");
	if (!hg)
		return sk_err(err, -EINVAL, "spec.checks.%s: httpGet is missing; set httpGet.path", which);
	path = sk_json_str(hg, "path");
	if (!path || !*path)
		return sk_err(
		    err, -EINVAL,
		    "spec.checks.%s.httpGet.path is missing; set the path to probe, such as /healthz", which);
	headers = sk_json_get(hg, "httpHeaders");
	if (headers && !json_object_is_type(headers, json_type_array))
		return sk_err(err, -EINVAL, "spec.checks.%s.httpGet.httpHeaders must be a list", which);

	probe = json_object_new_object();
	json_object *get = put_obj(&b, probe, "httpGet");
	put_str(&b, get, "path", path);
	put_int(&b, get, "port", port);
	if (headers && json_object_array_length(headers) > 0) {
		json_object *hs = put_arr(&b, get, "httpHeaders");
		for (size_t i = 0, n = json_object_array_length(headers); i < n; i++) {
			json_object *h = json_object_array_get_idx(headers, i);
			const char *name = sk_json_str(h, "name"), *value = sk_json_str(h, "value");

			if (!name || !*name || !value)
				return sk_err(
				    err, -EINVAL,
				    "spec.checks.%s.httpGet.httpHeaders[%zu] needs a name and a value", which,
				    i);
			json_object *o = push_obj(&b, hs);
			put_str(&b, o, "name", name);
			put_str(&b, o, "value", value);
		}
	}
	for (size_t i = 0; i < sizeof(timing) / sizeof(timing[0]); i++) {
		int64_t v = timing[i].def;
		int r = sk_json_int64(check, timing[i].field, &v);

		if (r == -EINVAL || (r == 0 && (v < 0 || v > INT32_MAX)))
			return sk_err(err, -EINVAL, "spec.checks.%s.%s must be a whole number of at least 0",
			              which, timing[i].field);
		put_int(&b, probe, timing[i].field, v);
	}
	if (b.oom)
		return oom(err);
	*out = TAKE_PTR(probe);
	return 0;
}

/* A Secret volume of one key, optional, and its read-only mount of that
 * key as one file (subPath). */
static void secret_volume(struct build *b, json_object *volumes, json_object *mounts, const char *vname,
                          const char *secret, const char *key, const char *path)
{
	json_object *v = push_obj(b, volumes), *s, *item, *m;

	put_str(b, v, "name", vname);
	s = put_obj(b, v, "secret");
	put_str(b, s, "secretName", secret);
	put_bool(b, s, "optional", true);
	item = push_obj(b, put_arr(b, s, "items"));
	put_str(b, item, "key", key);
	put_str(b, item, "path", key);

	m = push_obj(b, mounts);
	put_str(b, m, "name", vname);
	put_bool(b, m, "readOnly", true);
	put_str(b, m, "mountPath", path);
	put_str(b, m, "subPath", key);
}

/* Checks a user list (spec.volumes / spec.volumeMounts) and the names our own
 * volumes take. */
static int user_list(json_object *spec, const char *field, json_object **list, struct sk_error *err)
{
	json_object *l = sk_json_get(spec, field);

	*list = NULL;
	if (!l || json_object_is_type(l, json_type_null))
		return 0;
	if (!json_object_is_type(l, json_type_array))
		return sk_err(err, -EINVAL, "spec.%s must be a list", field);
	for (size_t i = 0, n = json_object_array_length(l); i < n; i++) {
		const char *name = sk_json_str(json_object_array_get_idx(l, i), "name");
		if (name && (strcmp(name, RUNTIME_CONFIG_VOLUME) == 0 || strcmp(name, CA_VOLUME) == 0) &&
		    strcmp(field, "volumes") == 0)
			return sk_err(err, -EINVAL,
			              "spec.volumes[%zu]: the name \"%s\" is the controller's; rename it", i,
			              name);
	}
	*list = l;
	return 0;
}

/* Pod volumes and container mounts: the runtime config, the user's, the CA
 * bundle. *volumes / *mounts are NULL when there are none. */
static int build_volumes(json_object *spec, const struct exec_mode *x, const char *rc_secret,
                         json_object **volumes, json_object **mounts, struct sk_error *err)
{
	_cleanup_json_ json_object *vols = json_object_new_array(), *mnts = json_object_new_array();
	json_object *uvols, *umnts;
	struct build b = {false};
	int r;

	*volumes = *mounts = NULL;
	if ((r = user_list(spec, "volumes", &uvols, err)) < 0 ||
	    (r = user_list(spec, "volumeMounts", &umnts, err)) < 0)
		return r;
	if (rc_secret && *rc_secret)
		secret_volume(&b, vols, mnts, RUNTIME_CONFIG_VOLUME, rc_secret, SPIN_RUNTIME_CONFIG_KEY,
		              RUNTIME_CONFIG_PATH);
	for (size_t i = 0, n = uvols ? json_object_array_length(uvols) : 0; i < n; i++)
		push(&b, vols, copy(&b, json_object_array_get_idx(uvols, i)));
	for (size_t i = 0, n = umnts ? json_object_array_length(umnts) : 0; i < n; i++)
		push(&b, mnts, copy(&b, json_object_array_get_idx(umnts, i)));
	if (x->ca_secret)
		secret_volume(&b, vols, mnts, CA_VOLUME, x->ca_secret, SPIN_CA_KEY, CA_PATH);
	if (b.oom || !vols || !mnts)
		return oom(err);
	if (json_object_array_length(vols) > 0)
		*volumes = TAKE_PTR(vols);
	if (json_object_array_length(mnts) > 0)
		*mounts = TAKE_PTR(mnts);
	return 0;
}

/* spec.<field> when it is an object (a pass-through such as affinity), NULL
 * when absent; anything else is an error. */
static int optional_obj(json_object *spec, const char *field, json_object **out, struct sk_error *err)
{
	json_object *o = sk_json_get(spec, field);

	*out = NULL;
	if (!o || json_object_is_type(o, json_type_null))
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return sk_err(err, -EINVAL, "spec.%s must be an object", field);
	*out = o;
	return 0;
}

static int optional_arr(json_object *spec, const char *field, json_object **out, struct sk_error *err)
{
	json_object *o = sk_json_get(spec, field);

	*out = NULL;
	if (!o || json_object_is_type(o, json_type_null))
		return 0;
	if (!json_object_is_type(o, json_type_array))
		return sk_err(err, -EINVAL, "spec.%s must be a list", field);
	if (json_object_array_length(o) > 0)
		*out = o;
	return 0;
}

/* The scalar choices of the spec, checked. */
struct app_opts {
	const char *image;
	int64_t port;
	int64_t replicas; /* -1: left to an autoscaler */
	const char *pull_policy;
	const char *service_account;
	int service_links; /* spec.enableServiceLinks: 1, 0, or -1 unset */
};

static int app_opts(json_object *spec, struct app_opts *o, struct sk_error *err)
{
	bool autoscale = sk_json_bool(spec, "enableAutoscaling", false);
	int r;

	o->image = sk_json_str(spec, "image");
	if (!o->image || !*o->image)
		return sk_err(err, -EINVAL,
		              "spec.image is missing; set it to the OCI reference of the Spin app");

	o->port = DEFAULT_HTTP_PORT;
	r = sk_json_int64(spec, "listenPort", &o->port);
	if (r == -EINVAL || o->port < 1 || o->port > 65535)
		return sk_err(err, -EINVAL, "spec.listenPort must be a port number from 1 to 65535");

	o->replicas = autoscale ? -1 : 1;
	int64_t rep = 0;
	r = sk_json_int64(spec, "replicas", &rep);
	if (r == -EINVAL)
		return sk_err(err, -EINVAL, "spec.replicas must be a whole number");
	if (r == 0 && autoscale && rep != 0)
		return sk_err(err, -EINVAL,
		              "spec.replicas (%" PRId64
		              "): replicas cannot be set when autoscaling is enabled; "
		              "remove it, or set enableAutoscaling to false",
		              rep);
	if (r == 0 && !autoscale) {
		if (rep < 1 || rep > INT32_MAX)
			return sk_err(err, -EINVAL, "spec.replicas (%" PRId64 "): replicas must be > 0", rep);
		o->replicas = rep;
	}

	o->pull_policy = sk_json_str(spec, "imagePullPolicy");
	if (o->pull_policy && !*o->pull_policy)
		o->pull_policy = NULL;
	if (o->pull_policy && strcmp(o->pull_policy, "Always") != 0 &&
	    strcmp(o->pull_policy, "IfNotPresent") != 0 && strcmp(o->pull_policy, "Never") != 0)
		return sk_err(err, -EINVAL,
		              "spec.imagePullPolicy \"%s\" is not Always, IfNotPresent or Never",
		              o->pull_policy);

	o->service_account = sk_json_str(spec, "serviceAccountName");
	if (!o->service_account || !*o->service_account)
		o->service_account = "default";

	json_object *links = NULL;
	o->service_links = -1;
	if (json_object_object_get_ex(spec, "enableServiceLinks", &links) && links) {
		if (!json_object_is_type(links, json_type_boolean))
			return sk_err(err, -EINVAL, "spec.enableServiceLinks must be true or false");
		o->service_links = json_object_get_boolean(links) ? 1 : 0;
	}
	return 0;
}

/* The restricted Pod Security profile, ours by default:
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/ */
static json_object *default_pod_security(struct build *b)
{
	json_object *sc = json_object_new_object();

	put_bool(b, sc, "runAsNonRoot", true);
	put_int(b, sc, "runAsUser", 65532);
	put_int(b, sc, "runAsGroup", 65532);
	put_str(b, put_obj(b, sc, "seccompProfile"), "type", "RuntimeDefault");
	return sc;
}

static json_object *default_container_security(struct build *b)
{
	json_object *sc = json_object_new_object();

	put_bool(b, sc, "allowPrivilegeEscalation", false);
	push_str(b, put_arr(b, put_obj(b, sc, "capabilities"), "drop"), "ALL");
	return sc;
}

/* Everything the Deployment takes from the spec, validated and built before
 * the object is assembled; each member is owned here until it is put. */
struct dep_parts {
	json_object *deploy_ann, *pod_ann, *pod_labels, *node_selector;
	json_object *env, *volumes, *mounts, *liveness, *readiness;
	json_object *tolerations, *affinity, *pull_secrets, *pod_sc, *container_sc, *resources;
};

static void dep_parts_free(struct dep_parts *p)
{
	json_object_put(p->deploy_ann);
	json_object_put(p->pod_ann);
	json_object_put(p->pod_labels);
	json_object_put(p->node_selector);
	json_object_put(p->env);
	json_object_put(p->volumes);
	json_object_put(p->mounts);
	json_object_put(p->liveness);
	json_object_put(p->readiness);
}

static int resources_of(json_object *spec, json_object **out, struct sk_error *err)
{
	json_object *res;
	int r;

	*out = NULL;
	if ((r = optional_obj(spec, "resources", &res, err)) < 0 || !res)
		return r;
	for (int i = 0; i < 2; i++) {
		const char *f = i ? "requests" : "limits";
		json_object *m = sk_json_get(res, f);
		if (m && !json_object_is_type(m, json_type_object) && !json_object_is_type(m, json_type_null))
			return sk_err(err, -EINVAL, "spec.resources.%s must be a map of quantities", f);
		if (m && json_object_is_type(m, json_type_object) && json_object_object_length(m) > 0)
			*out = res;
	}
	return 0;
}

static int dep_parts(const struct render_deployment_input *in, json_object *spec, const struct exec_mode *x,
                     const struct app_opts *o, struct dep_parts *p, struct sk_error *err)
{
	int r;

	if ((r = render_string_map(spec, "deploymentAnnotations", &p->deploy_ann, err)) < 0 ||
	    (r = render_string_map(spec, "podAnnotations", &p->pod_ann, err)) < 0 ||
	    (r = render_string_map(spec, "podLabels", &p->pod_labels, err)) < 0 ||
	    (r = render_string_map(spec, "nodeSelector", &p->node_selector, err)) < 0 ||
	    (r = build_env(spec, x, o->port, &p->env, err)) < 0 ||
	    (r = build_volumes(spec, x, in->runtime_config_secret, &p->volumes, &p->mounts, err)) < 0 ||
	    (r = build_probe(spec, "liveness", o->port, &p->liveness, err)) < 0 ||
	    (r = build_probe(spec, "readiness", o->port, &p->readiness, err)) < 0 ||
	    (r = optional_arr(spec, "tolerations", &p->tolerations, err)) < 0 ||
	    (r = optional_obj(spec, "affinity", &p->affinity, err)) < 0 ||
	    (r = optional_arr(spec, "imagePullSecrets", &p->pull_secrets, err)) < 0 ||
	    (r = optional_obj(spec, "podSecurityContext", &p->pod_sc, err)) < 0 ||
	    (r = optional_obj(spec, "securityContext", &p->container_sc, err)) < 0 ||
	    (r = resources_of(spec, &p->resources, err)) < 0)
		return r;
	return 0;
}

/* The one container. Takes p's env, mounts and probes. */
static json_object *container(struct build *b, const struct app_meta *m, const struct exec_mode *x,
                              const struct app_opts *o, json_object *spec, struct dep_parts *p)
{
	json_object *c = json_object_new_object(), *port;
	char listen[32];

	put_str(b, c, "name", m->name);
	if (x->spin_image) {
		json_object *args, *comps = sk_json_arr(spec, "components");

		put_str(b, c, "image", x->spin_image);
		(void)snprintf(listen, sizeof(listen), "0.0.0.0:%" PRId64, o->port);
		args = put_arr(b, c, "args");
		push_str(b, args, "up");
		push_str(b, args, "--listen");
		push_str(b, args, listen);
		push_str(b, args, "-f");
		push_str(b, args, o->image);
		push_str(b, args, "--runtime-config-file");
		push_str(b, args, RUNTIME_CONFIG_PATH);
		for (size_t i = 0, n = comps ? json_object_array_length(comps) : 0; i < n; i++) {
			push_str(b, args, "--component-id");
			push_str(b, args, json_object_get_string(json_object_array_get_idx(comps, i)));
		}
	} else {
		put_str(b, c, "image", o->image);
		push_str(b, put_arr(b, c, "command"), "/");
	}
	if (o->pull_policy)
		put_str(b, c, "imagePullPolicy", o->pull_policy);
	port = push_obj(b, put_arr(b, c, "ports"));
	put_str(b, port, "name", HTTP_PORT_NAME);
	put_int(b, port, "containerPort", o->port);
	put_str(b, port, "protocol", "TCP");
	put(b, c, "env", TAKE_PTR(p->env));
	if (p->resources) {
		json_object *res = put_obj(b, c, "resources"), *l = sk_json_obj(p->resources, "limits"),
		            *rq = sk_json_obj(p->resources, "requests");
		if (l && json_object_object_length(l) > 0)
			put(b, res, "limits", copy(b, l));
		if (rq && json_object_object_length(rq) > 0)
			put(b, res, "requests", copy(b, rq));
	}
	if (p->mounts)
		put(b, c, "volumeMounts", TAKE_PTR(p->mounts));
	if (p->liveness)
		put(b, c, "livenessProbe", TAKE_PTR(p->liveness));
	if (p->readiness)
		put(b, c, "readinessProbe", TAKE_PTR(p->readiness));
	put(b, c, "securityContext",
	    p->container_sc ? copy(b, p->container_sc) : default_container_security(b));
	return c;
}

int render_deployment(const struct render_deployment_input *in, json_object **out, struct sk_error *err)
{
	_cleanup_(dep_parts_free) struct dep_parts p = {0};
	_cleanup_json_ json_object *root = NULL;
	_cleanup_free_ char *ready = NULL;
	struct build b = {false};
	struct app_meta m = {0};
	struct exec_mode x = {0};
	struct app_opts o = {0};
	json_object *spec, *dspec, *sel, *tmpl, *tmeta, *pod;
	int r;

	if (!in)
		return sk_err(err, -EINVAL, "no input to render");
	if ((r = render_app_meta(in->app, &m, err)) < 0)
		return r;
	spec = sk_json_obj(in->app, "spec");
	if (!spec)
		return sk_err(err, -EINVAL, "SpinApp \"%s\" has no spec", m.name);
	if ((r = exec_mode(in->executor, &x, err)) < 0 || (r = app_opts(spec, &o, err)) < 0 ||
	    (r = dep_parts(in, spec, &x, &o, &p, err)) < 0)
		return r;
	ready = render_ready_label_key(m.name);
	if (!ready)
		return oom(err);

	root = json_object_new_object();
	put_str(&b, root, "apiVersion", "apps/v1");
	put_str(&b, root, "kind", "Deployment");
	put(&b, root, "metadata",
	    render_metadata(&b, m.name, m.ns, render_app_labels(&b, m.name), TAKE_PTR(p.deploy_ann), &m));

	dspec = put_obj(&b, root, "spec");
	if (o.replicas >= 0)
		put_int(&b, dspec, "replicas", o.replicas);
	sel = put_obj(&b, put_obj(&b, dspec, "selector"), "matchLabels");
	put_str(&b, sel, SPIN_LABEL_APP_NAME, m.name);
	put_str(&b, sel, ready, READY_LABEL_VALUE);

	tmpl = put_obj(&b, dspec, "template");
	tmeta = put_obj(&b, tmpl, "metadata");
	/* podLabels, then the two the selector needs over them. */
	json_object *labels = p.pod_labels ? TAKE_PTR(p.pod_labels) : json_object_new_object();
	put_str(&b, labels, SPIN_LABEL_APP_NAME, m.name);
	put_str(&b, labels, ready, READY_LABEL_VALUE);
	put(&b, tmeta, "labels", labels);
	if (in->references_hash && *in->references_hash) {
		if (!p.pod_ann)
			p.pod_ann = json_object_new_object();
		put_str(&b, p.pod_ann, SPIN_ANNOTATION_REFS_HASH, in->references_hash);
	}
	if (p.pod_ann)
		put(&b, tmeta, "annotations", TAKE_PTR(p.pod_ann));

	pod = put_obj(&b, tmpl, "spec");
	if (x.runtime_class)
		put_str(&b, pod, "runtimeClassName", x.runtime_class);
	put_str(&b, pod, "serviceAccountName", o.service_account);
	if (o.service_links >= 0)
		put(&b, pod, "enableServiceLinks", json_object_new_boolean(o.service_links));
	if (p.pull_secrets)
		put(&b, pod, "imagePullSecrets", copy(&b, p.pull_secrets));
	if (p.node_selector)
		put(&b, pod, "nodeSelector", TAKE_PTR(p.node_selector));
	if (p.tolerations)
		put(&b, pod, "tolerations", copy(&b, p.tolerations));
	if (p.affinity)
		put(&b, pod, "affinity", copy(&b, p.affinity));
	put(&b, pod, "securityContext", p.pod_sc ? copy(&b, p.pod_sc) : default_pod_security(&b));
	push(&b, put_arr(&b, pod, "containers"), container(&b, &m, &x, &o, spec, &p));
	if (p.volumes)
		put(&b, pod, "volumes", TAKE_PTR(p.volumes));

	if (b.oom)
		return oom(err);
	*out = TAKE_PTR(root);
	return 0;
}

int render_service(json_object *app, json_object **out, struct sk_error *err)
{
	_cleanup_json_ json_object *root = NULL, *ann = NULL;
	_cleanup_free_ char *ready = NULL;
	struct build b = {false};
	struct app_meta m = {0};
	json_object *spec, *port;
	int r;

	if ((r = render_app_meta(app, &m, err)) < 0)
		return r;
	spec = sk_json_obj(app, "spec");
	if ((r = render_string_map(spec, "serviceAnnotations", &ann, err)) < 0)
		return r;
	ready = render_ready_label_key(m.name);
	if (!ready)
		return oom(err);

	root = json_object_new_object();
	put_str(&b, root, "apiVersion", "v1");
	put_str(&b, root, "kind", "Service");
	put(&b, root, "metadata", render_metadata(&b, m.name, m.ns, render_app_labels(&b, m.name), TAKE_PTR(ann), &m));
	spec = put_obj(&b, root, "spec");
	put_str(&b, spec, "type", "ClusterIP");
	port = push_obj(&b, put_arr(&b, spec, "ports"));
	put_str(&b, port, "name", HTTP_PORT_NAME);
	put_int(&b, port, "port", SERVICE_PORT);
	put_str(&b, port, "targetPort", HTTP_PORT_NAME);
	put_str(&b, port, "protocol", "TCP");
	put_str(&b, put_obj(&b, spec, "selector"), ready, READY_LABEL_VALUE);
	if (b.oom)
		return oom(err);
	*out = TAKE_PTR(root);
	return 0;
}
