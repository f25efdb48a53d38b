/* config.json -> struct shim_spec (see spec.h). */
#include "shim-bridge/shim/spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"

static int dup_str(json_object *v, const char *field, char **out, struct sk_error *err)
{
	if (!v) {
		*out = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return sk_err(err, -EINVAL, "config.json: %s is not a string", field);
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : sk_err(err, -ENOMEM, "out of memory");
}

static int str_array(json_object *arr, const char *field, size_t max, char ***out, size_t *n, struct sk_error *err)
{
	*out = NULL;
	*n = 0;
	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return sk_err(err, -EINVAL, "config.json: %s is not an array", field);
	size_t len = json_object_array_length(arr);
	if (len > max)
		return sk_err(err, -EINVAL, "config.json: %s has %zu entries (at most %zu)", field, len, max);
	*out = calloc(len + 1, sizeof(**out));
	if (!*out)
		return sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++) {
		int r = dup_str(json_object_array_get_idx(arr, i), field, &(*out)[i], err);
		if (r < 0)
			return r;
		if (!(*out)[i])
			return sk_err(err, -EINVAL, "config.json: %s[%zu] is null", field, i);
		(*n)++;
	}
	return 0;
}

static int u64_field(json_object *o, const char *key, const char *field, int64_t min, int64_t *out,
		     struct sk_error *err)
{
	json_object *v = json_object_object_get(o, key);

	*out = 0;
	if (!v || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return sk_err(err, -EINVAL, "config.json: %s.%s is not an integer", field, key);
	errno = 0;
	int64_t x = json_object_get_int64(v);
	if (errno != 0 || x < min)
		return sk_err(err, -EINVAL, "config.json: %s.%s is out of range", field, key);
	*out = x;
	return 0;
}

static int parse_mounts(json_object *arr, struct shim_spec *s, struct sk_error *err)
{
	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return sk_err(err, -EINVAL, "config.json: mounts is not an array");
	size_t len = json_object_array_length(arr);
	if (len > SHIM_SPEC_MAX_ITEMS)
		return sk_err(err, -EINVAL, "config.json: mounts has %zu entries (at most %d)", len,
			      SHIM_SPEC_MAX_ITEMS);
	s->mounts = calloc(len + 1, sizeof(*s->mounts));
	if (!s->mounts)
		return sk_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++) {
		json_object *m = json_object_array_get_idx(arr, i);
		struct shim_mount *d = &s->mounts[i];
		if (!json_object_is_type(m, json_type_object))
			return sk_err(err, -EINVAL, "config.json: mounts[%zu] is not an object", i);
		s->n_mounts++;
		int r = dup_str(json_object_object_get(m, "destination"), "mounts[].destination", &d->destination, err);
		if (r == 0)
			r = dup_str(json_object_object_get(m, "source"), "mounts[].source", &d->source, err);
		if (r == 0)
			r = dup_str(json_object_object_get(m, "type"), "mounts[].type", &d->type, err);
		if (r < 0)
			return r;
		if (!d->destination || d->destination[0] != '/')
			return sk_err(err, -EINVAL, "config.json: mounts[%zu].destination is not an absolute path", i);
	}
	return 0;
}

static int parse_namespaces(json_object *arr, struct shim_spec *s, struct sk_error *err)
{
	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return sk_err(err, -EINVAL, "config.json: linux.namespaces is not an array");
	size_t len = json_object_array_length(arr);
	bool seen = false;
	for (size_t i = 0; i < len && i < 64; i++) {
		json_object *ns = json_object_array_get_idx(arr, i);
		const char *type = sk_json_str(ns, "type");
		if (!type)
			return sk_err(err, -EINVAL, "config.json: linux.namespaces[%zu] has no type", i);
		if (strcmp(type, "network") != 0)
			continue;
		/* Runtimes refuse a namespace type named twice; keeping the
		 * first path would also leak it. */
		if (seen)
			return sk_err(err, -EINVAL, "config.json: linux.namespaces[%zu]: a second network namespace", i);
		seen = true;
		int r = dup_str(json_object_object_get(ns, "path"), "linux.namespaces[].path", &s->netns, err);
		if (r < 0)
			return r;
		if (s->netns && s->netns[0] != '/')
			return sk_err(err, -EINVAL, "config.json: linux.namespaces[%zu].path \"%s\" is not an absolute path",
				      i, s->netns);
		s->own_netns = !s->netns;
	}
	return 0;
}

static int parse_resources(json_object *res, struct shim_spec *s, struct sk_error *err)
{
	json_object *mem = sk_json_obj(res, "memory"), *cpu = sk_json_obj(res, "cpu"), *pids = sk_json_obj(res, "pids");
	int64_t v;
	int r;

	if (mem && (r = u64_field(mem, "limit", "linux.resources.memory", -1, &s->memory_limit, err)) < 0)
		return r;
	if (s->memory_limit < 0)
		s->memory_limit = 0;
	if (cpu) {
		if ((r = u64_field(cpu, "shares", "linux.resources.cpu", 0, &v, err)) < 0)
			return r;
		s->cpu_shares = (uint64_t)v;
		if ((r = u64_field(cpu, "quota", "linux.resources.cpu", -1, &s->cpu_quota, err)) < 0)
			return r;
		if (s->cpu_quota < 0)
			s->cpu_quota = 0;
		if ((r = u64_field(cpu, "period", "linux.resources.cpu", 0, &v, err)) < 0)
			return r;
		s->cpu_period = (uint64_t)v;
	}
	if (pids && (r = u64_field(pids, "limit", "linux.resources.pids", -1, &s->pids_limit, err)) < 0)
		return r;
	if (s->pids_limit < 0)
		s->pids_limit = 0;
	return 0;
}

static int parse_annotations(json_object *ann, struct shim_spec *s, struct sk_error *err)
{
	json_object *type = json_object_object_get(ann, SHIM_ANN_CONTAINER_TYPE);
	int r;

	/* Annotation keys hold dots: looked up as keys, never as paths. */
	s->sandbox = type && json_object_is_type(type, json_type_string) &&
		     strcmp(json_object_get_string(type), "sandbox") == 0;
	if ((r = dup_str(json_object_object_get(ann, SHIM_ANN_SANDBOX_ID), SHIM_ANN_SANDBOX_ID, &s->sandbox_id, err)) < 0 ||
	    (r = dup_str(json_object_object_get(ann, SHIM_ANN_IMAGE_NAME), SHIM_ANN_IMAGE_NAME, &s->image_name, err)) < 0 ||
	    (r = dup_str(json_object_object_get(ann, SHIM_ANN_CONTAINER_NAME), SHIM_ANN_CONTAINER_NAME,
			 &s->container_name, err)) < 0)
		return r;
	if (s->sandbox_id && (!*s->sandbox_id || strlen(s->sandbox_id) > 128 || strchr(s->sandbox_id, '/')))
		return sk_err(err, -EINVAL, "config.json: annotation %s \"%s\" is not a container id", SHIM_ANN_SANDBOX_ID,
			      s->sandbox_id);
	return 0;
}

int shim_spec_parse(const char *text, size_t len, struct shim_spec *out, struct sk_error *err)
{
	json_object *root = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > SHIM_SPEC_MAX)
		return sk_err(err, -E2BIG, "config.json is %zu bytes (at most %d)", len, SHIM_SPEC_MAX);
	r = sk_json_parse(text, len, &root, err);
	if (r < 0) /* not sk_err: it clears the message it would quote */
		return err ? sk_err_prefix(err, "config.json") : r;
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return sk_err(err, -EINVAL, "config.json is not a JSON object");
	}
	json_object *proc = sk_json_obj(root, "process"), *linux_ = sk_json_obj(root, "linux");
	r = str_array(sk_json_get(proc, "args"), "process.args", SHIM_SPEC_MAX_ITEMS, &out->args, &out->n_args, err);
	if (r == 0)
		r = str_array(sk_json_get(proc, "env"), "process.env", SHIM_SPEC_MAX_ENV, &out->env, &out->n_env, err);
	if (r == 0)
		r = dup_str(sk_json_get(proc, "cwd"), "process.cwd", &out->cwd, err);
	if (r == 0)
		r = parse_mounts(json_object_object_get(root, "mounts"), out, err);
	if (r == 0 && linux_)
		r = parse_namespaces(json_object_object_get(linux_, "namespaces"), out, err);
	if (r == 0 && linux_)
		r = dup_str(json_object_object_get(linux_, "cgroupsPath"), "linux.cgroupsPath", &out->cgroups_path, err);
	if (r == 0 && out->cgroups_path && (strstr(out->cgroups_path, "..") || strlen(out->cgroups_path) > 1024))
		r = sk_err(err, -EINVAL, "config.json: linux.cgroupsPath \"%s\" is not a cgroup path", out->cgroups_path);
	if (r == 0 && sk_json_obj(linux_, "resources"))
		r = parse_resources(sk_json_obj(linux_, "resources"), out, err);
	if (r == 0 && sk_json_obj(root, "annotations"))
		r = parse_annotations(sk_json_obj(root, "annotations"), out, err);
	json_object_put(root);
	return r;
}

int shim_spec_load(const char *bundle, struct shim_spec *out, struct sk_error *err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", bundle) >= sizeof(path))
		return sk_err(err, -ENAMETOOLONG, "bundle path \"%s\" is too long", bundle);
	int r = sk_read_file(path, SHIM_SPEC_MAX, &text, &len);
	if (r == -E2BIG)
		return sk_err(err, -E2BIG, "%s is over %d bytes", path, SHIM_SPEC_MAX);
	if (r < 0)
		return sk_err(err, r, "cannot read %s: %s", path, strerror(-r));
	return shim_spec_parse(text, len, out, err);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void shim_spec_free(struct shim_spec *s)
{
	if (!s)
		return;
	free_strv(s->args, s->n_args);
	free_strv(s->env, s->n_env);
	free(s->cwd);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].source);
		free(s->mounts[i].type);
	}
	free(s->mounts);
	free(s->netns);
	free(s->cgroups_path);
	free(s->sandbox_id);
	free(s->image_name);
	free(s->container_name);
	memset(s, 0, sizeof(*s));
}

const char *shim_spec_mount_source(const struct shim_spec *s, const char *dest)
{
	for (size_t i = s->n_mounts; i-- > 0;)
		if (strcmp(s->mounts[i].destination, dest) == 0)
			return s->mounts[i].source;
	return NULL;
}

/* s starts with an upper-case name part of a Service (A-Z, 0-9, _), and
 * ends with suffix: the part before it is not empty. */
static bool svc_name_with(const char *name, size_t len, const char *suffix)
{
	size_t sl = strlen(suffix);

	if (len <= sl || memcmp(name + len - sl, suffix, sl) != 0)
		return false;
	for (size_t i = 0; i < len - sl; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

static bool all_digits(const char *v, size_t n)
{
	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return true;
}

/* An IPv4 or IPv6 address as the kubelet writes a ClusterIP. */
static bool ip_text(const char *v)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

static bool proto_text(const char *v)
{
	return strcmp(v, "tcp") == 0 || strcmp(v, "udp") == 0 || strcmp(v, "sctp") == 0;
}

/* tcp://IP:PORT (udp, sctp; [IPv6]:PORT) */
static bool link_url(const char *v)
{
	const char *p = strstr(v, "://"), *colon;
	char host[64];

	if (!p || (size_t)(p - v) > 4)
		return false;
	char proto[5];
	memcpy(proto, v, (size_t)(p - v));
	proto[p - v] = '\0';
	if (!proto_text(proto))
		return false;
	p += 3;
	if (!(colon = strrchr(p, ':')) || !all_digits(colon + 1, strlen(colon + 1)))
		return false;
	size_t hl = (size_t)(colon - p);
	if (hl >= 2 && p[0] == '[' && p[hl - 1] == ']') {
		p++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, p, hl);
	host[hl] = '\0';
	return ip_text(host);
}

bool shim_env_is_service_link(const char *entry)
{
	const char *eq = strchr(entry, '=');

	if (!eq || strncmp(entry, "SPIN_", 5) == 0 || strncmp(entry, "OTEL_", 5) == 0)
		return false;
	size_t n = (size_t)(eq - entry);
	const char *v = eq + 1;
	size_t vl = strlen(v);

	if (svc_name_with(entry, n, "_SERVICE_HOST"))
		return ip_text(v);
	if (svc_name_with(entry, n, "_SERVICE_PORT"))
		return all_digits(v, vl);
	if (svc_name_with(entry, n, "_PORT"))
		return link_url(v) || (strstr(entry, "_SERVICE_PORT_") && all_digits(v, vl)) ||
		       (strstr(entry, "_PORT_") && all_digits(v, vl));
	if (svc_name_with(entry, n, "_TCP") || svc_name_with(entry, n, "_UDP") || svc_name_with(entry, n, "_SCTP"))
		return strstr(entry, "_PORT_") && link_url(v);
	if (svc_name_with(entry, n, "_PROTO"))
		return strstr(entry, "_PORT_") && proto_text(v);
	if (svc_name_with(entry, n, "_ADDR"))
		return strstr(entry, "_PORT_") && ip_text(v);
	/* FOO_SERVICE_PORT_<PORT NAME>=80 */
	const char *sp = strstr(entry, "_SERVICE_PORT_");
	if (sp && sp < eq && svc_name_with(entry, n, ""))
		return all_digits(v, vl);
	return false;
}

size_t shim_spec_drop_service_links(struct shim_spec *s)
{
	size_t kept = 0, n = s->n_env;

	for (size_t i = 0; i < n; i++) {
		if (shim_env_is_service_link(s->env[i]))
			free(s->env[i]);
		else
			s->env[kept++] = s->env[i];
	}
	for (size_t i = kept; i < n; i++)
		s->env[i] = NULL;
	s->n_env = kept;
	return n - kept;
}

const char *shim_spec_env(const struct shim_spec *s, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = s->n_env; i-- > 0;)
		if (strncmp(s->env[i], name, n) == 0 && s->env[i][n] == '=')
			return s->env[i] + n + 1;
	return NULL;
}

const char *shim_spec_group(const struct shim_spec *s, const char *id)
{
	return s->sandbox_id && *s->sandbox_id ? s->sandbox_id : id;
}

#define BASE_MEMORY (24ull << 20) /* the runtime itself, before instances */

void shim_spec_fit_memory(int64_t limit, uint64_t *instance_memory, unsigned *max_concurrent)
{
	if (limit <= 0)
		return;
	uint64_t l = (uint64_t)limit;
	/* 0 (SPIN_MAX_INSTANCE_MEMORY=0) would divide by zero below: take
	 * the largest share instead. */
	if (*instance_memory == 0 || *instance_memory > l / 2)
		*instance_memory = l / 2 < (1u << 16) ? (1u << 16) : l / 2;
	uint64_t avail = l > BASE_MEMORY * 2 ? l - BASE_MEMORY : l / 2;
	uint64_t n = avail * 3 / 4 / *instance_memory;
	if (n < 1)
		n = 1;
	if (*max_concurrent == 0 || n < *max_concurrent)
		*max_concurrent = (unsigned)n;
}
