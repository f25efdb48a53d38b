/* SpinApp scaffolding. The documents and the order of their fields follow
 * what `spin kube scaffold` prints; values are written plain when YAML reads
 * them back as the same string, double-quoted otherwise. */
#include "cli/scaffold.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/app/app.h"
#include "common/base64.h"
#include "common/cleanup.h"
#include "cli/ref.h"
#include "common/toml.h"

static void json_putp(json_object **o)
{
	json_object_put(*o);
}

void scaffold_defaults(struct scaffold_options *o)
{
	*o = (struct scaffold_options){
		.replicas = 2,
		.max_replicas = 3,
		.executor = "containerd-shim-spin",
		.target_cpu = 60,
		.target_memory = 60,
	};
}

/* A writer with a sticky error: each line is one call, checked once. */
struct w {
	struct sk_buf *b;
	int r;
};

static void put(struct w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct w *w, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (w->r < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		w->r = -E2BIG;
	else
		w->r = sk_buf_append(w->b, line, (size_t)n);
}

/* True when s may be written as a plain YAML scalar and still read back as
 * this string: safe characters only, and not a word or number YAML would
 * give another type. */
static bool plain_ok(const char *s)
{
	static const char *const special[] = { "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~" };
	size_t n = strlen(s);
	char c0 = s[0];

	if (n == 0 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-") != n)
		return false;
	if (c0 == '-' || c0 == '.' || (c0 >= '0' && c0 <= '9' && strspn(s, "0123456789.eE+-") == n))
		return false;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strcasecmp(s, special[i]) == 0)
			return false;
	return true;
}

/* s as a YAML scalar into dst: plain, or double-quoted with JSON-style escapes. */
static const char *scalar(const char *s, char *dst, size_t size)
{
	size_t o = 0;

	if (plain_ok(s)) {
		(void)snprintf(dst, size, "%s", s);
		return dst;
	}
	dst[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 8 < size; p++) {
		if (*p == '"' || *p == '\\')
			o += (size_t)snprintf(dst + o, size - o, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(dst + o, size - o, "\\x%02x", *p);
		else
			dst[o++] = (char)*p;
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return dst;
}

/* A Kubernetes quantity as users write it: a decimal number and an optional
 * suffix (m k M G T P E, Ki Mi Gi Ti Pi Ei, or an exponent). */
static bool quantity_ok(const char *q)
{
	static const char *const suffixes[] = { "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	size_t digits = strspn(q, "0123456789"), n = digits, frac = 0;

	if (q[n] == '.') {
		frac = strspn(q + n + 1, "0123456789");
		n += 1 + frac;
	}
	if (digits == 0 && frac == 0)
		return false;
	const char *s = q + n;
	if ((*s == 'e' || *s == 'E') && s[1]) {
		s += 1 + (s[1] == '-' || s[1] == '+');
		return *s && strspn(s, "0123456789") == strlen(s);
	}
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (strcmp(s, suffixes[i]) == 0)
			return strlen(q) <= 64;
	return false;
}

/* A DNS-1123 label: what metadata.name of the SpinApp (and its Deployment
 * and Service) must be. */
static bool dns_label_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* A label key ([prefix/]name) or value, as Kubernetes checks them. */
static bool label_part_ok(const char *s, size_t n, bool empty_ok)
{
	if (n == 0)
		return empty_ok;
	if (n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && ((i == 0 || i == n - 1) || !strchr("-_.", c)))
			return false;
	}
	return true;
}

static bool label_key_ok(const char *k)
{
	const char *slash = strchr(k, '/');

	if (!slash)
		return label_part_ok(k, strlen(k), false);
	size_t pn = (size_t)(slash - k);
	if (pn == 0 || pn > 253 || strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789-.") != pn)
		return false;
	return label_part_ok(slash + 1, strlen(slash + 1), false);
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct scaffold_kv *)a)->key, ((const struct scaffold_kv *)b)->key);
}

/* The checks upstream makes, in its order, then ours. */
static int validate(const struct scaffold_options *o, const struct oci_ref *ref, const char *name,
                    struct sk_error *err)
{
	if (o->replicas < 0)
		return sk_err(err, -EINVAL, "the minimum replica count (%ld) must be greater than 0", o->replicas);
	if (o->autoscaler) {
		if (strcmp(o->autoscaler, "hpa") != 0 && strcmp(o->autoscaler, "keda") != 0)
			return sk_err(err, -EINVAL, "invalid autoscaler type '%s'; the autoscaler type must be either 'hpa' or 'keda'",
			              o->autoscaler);
		if (o->max_replicas < 0)
			return sk_err(err, -EINVAL, "the maximum replica count (%ld) must be equal to or greater than 0", o->max_replicas);
		if (o->replicas > o->max_replicas)
			return sk_err(err, -EINVAL, "the minimum replica count (%ld) must be less than or equal to the maximum replica count (%ld)",
			              o->replicas, o->max_replicas);
		if (!o->cpu_limit)
			return sk_err(err, -EINVAL, "cpu limits must be set when autoscaling is enabled (--cpu-limit)");
		if (!o->memory_limit)
			return sk_err(err, -EINVAL, "memory limits must be set when autoscaling is enabled (--memory-limit)");
		if (o->target_cpu < 1 || o->target_cpu > 100)
			return sk_err(err, -EINVAL, "target cpu utilization percentage (%ld) must be between 1 and 100", o->target_cpu);
		if (o->target_memory < 1 || o->target_memory > 100)
			return sk_err(err, -EINVAL, "target memory utilization percentage (%ld) must be between 1 and 100",
			              o->target_memory);
		if (o->scale_target && strcmp(o->scale_target, "deployment") != 0 && strcmp(o->scale_target, "spinapp") != 0)
			return sk_err(err, -EINVAL, "--scale-target '%s' must be 'deployment' or 'spinapp'", o->scale_target);
		if (o->scale_target && strcmp(o->scale_target, "spinapp") == 0 && o->replicas < 1)
			return sk_err(err, -EINVAL, "--scale-target spinapp needs --replicas 1 or more (the SpinApp keeps its replica count)");
	} else if (o->scale_target) {
		return sk_err(err, -EINVAL, "--scale-target needs --autoscaler hpa or keda");
	} else if (o->replicas < 1) {
		return sk_err(err, -EINVAL, "--replicas must be 1 or more without an autoscaler (the SpinApp CRD refuses 0)");
	}
	if (o->replicas > INT32_MAX || o->max_replicas > INT32_MAX)
		return sk_err(err, -EINVAL, "--replicas and --max-replicas must fit an int32");
	if (!dns_label_ok(name, 63))
		return sk_err(err, -EINVAL, "the app name \"%s\" (the last part of %s) is not a Kubernetes name: lowercase letters, digits and '-', at most 63",
		              name, ref->repo);
	if (!dns_label_ok(o->executor, 253) && !strchr(o->executor, '.'))
		return sk_err(err, -EINVAL, "--executor \"%s\" must name a SpinAppExecutor: lowercase letters, digits and '-'",
		              o->executor);
	const char *qs[] = { o->cpu_limit, o->memory_limit, o->cpu_request, o->memory_request };
	const char *qn[] = { "--cpu-limit", "--memory-limit", "--cpu-request", "--memory-request" };
	for (int i = 0; i < 4; i++)
		if (qs[i] && !quantity_ok(qs[i]))
			return sk_err(err, -EINVAL, "%s \"%s\" is not a Kubernetes quantity (e.g. 100m, 0.5, 128Mi, 1G)", qn[i], qs[i]);
	for (size_t i = 0; i < o->n_pull_secrets; i++)
		if (!dns_label_ok(o->pull_secrets[i], 253))
			return sk_err(err, -EINVAL, "--image-pull-secret \"%s\" must name a Secret: lowercase letters, digits, '-' and '.'",
			              o->pull_secrets[i]);
	for (size_t i = 0; i < o->n_variables; i++) {
		if (!app_variable_name_ok(o->variables[i].key))
			return sk_err(err, -EINVAL, "--variable \"%s\": the name must be a Spin variable name (lowercase letters, digits and '_', starting with a letter)",
			              o->variables[i].key);
		for (size_t j = 0; j < i; j++)
			if (strcmp(o->variables[i].key, o->variables[j].key) == 0)
				return sk_err(err, -EINVAL, "--variable %s is given twice", o->variables[i].key);
	}
	for (size_t i = 0; i < o->n_components; i++)
		if (!o->components[i][0] || strpbrk(o->components[i], ", \t\r\n"))
			return sk_err(err, -EINVAL, "--component \"%s\" must be one component id, without commas or spaces",
			              o->components[i]);
	for (size_t i = 0; i < o->n_node_selector; i++)
		if (!label_key_ok(o->node_selector[i].key) ||
		    !label_part_ok(o->node_selector[i].value, strlen(o->node_selector[i].value), true))
			return sk_err(err, -EINVAL, "--node-selector \"%s=%s\" must be a label key and value (e.g. kubernetes.io/arch=amd64)",
			              o->node_selector[i].key, o->node_selector[i].value);
	if (o->listen_port && (o->listen_port < 1 || o->listen_port > 65535))
		return sk_err(err, -EINVAL, "--listen-port %ld must be between 1 and 65535", o->listen_port);
	return 0;
}

/* --scale-target spinapp: the autoscaler drives the SpinApp's scale
 * subresource, so the SpinApp keeps replicas and enableAutoscaling stays off. */
static bool targets_spinapp(const struct scaffold_options *o)
{
	return o->scale_target && strcmp(o->scale_target, "spinapp") == 0;
}

static void target_ref(struct w *w, const struct scaffold_options *o, const char *name)
{
	if (targets_spinapp(o))
		put(w, "  scaleTargetRef:\n    apiVersion: core.spinkube.dev/v1alpha1\n    kind: SpinApp\n    name: %s\n", name);
	else
		put(w, "  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: %s\n", name);
}

static void spinapp(struct w *w, const struct scaffold_options *o, const char *name, const char *b64)
{
	char s[1024];

	put(w, "apiVersion: core.spinkube.dev/v1alpha1\nkind: SpinApp\nmetadata:\n  name: %s\nspec:\n", name);
	put(w, "  image: \"%s\"\n", o->from);
	put(w, "  executor: %s\n", o->executor);
	if (o->autoscaler && !targets_spinapp(o))
		put(w, "  enableAutoscaling: true\n");
	else
		put(w, "  replicas: %ld\n", o->replicas);
	/* Quantities YAML would read as numbers (0.5, 2) are quoted: the
	 * schema's int-or-string refuses a float. */
	if (o->cpu_limit || o->memory_limit || o->cpu_request || o->memory_request) {
		put(w, "  resources:\n");
		if (o->cpu_limit || o->memory_limit)
			put(w, "    limits:\n");
		if (o->cpu_limit)
			put(w, "      cpu: %s\n", scalar(o->cpu_limit, s, sizeof(s)));
		if (o->memory_limit)
			put(w, "      memory: %s\n", scalar(o->memory_limit, s, sizeof(s)));
		if (o->cpu_request || o->memory_request)
			put(w, "    requests:\n");
		if (o->cpu_request)
			put(w, "      cpu: %s\n", scalar(o->cpu_request, s, sizeof(s)));
		if (o->memory_request)
			put(w, "      memory: %s\n", scalar(o->memory_request, s, sizeof(s)));
	}
	if (o->n_pull_secrets)
		put(w, "  imagePullSecrets:\n");
	for (size_t i = 0; i < o->n_pull_secrets; i++)
		put(w, "    - name: %s\n", o->pull_secrets[i]);
	if (o->n_variables) {
		struct scaffold_kv sorted[SCAFFOLD_LIST_MAX];
		memcpy(sorted, o->variables, o->n_variables * sizeof(sorted[0]));
		qsort(sorted, o->n_variables, sizeof(sorted[0]), cmp_kv);
		put(w, "  variables:\n");
		for (size_t i = 0; i < o->n_variables; i++) {
			put(w, "  - name: %s\n", sorted[i].key);
			put(w, "    value: %s\n", scalar(sorted[i].value, s, sizeof(s)));
		}
	}
	if (o->n_components)
		put(w, "  components:\n");
	for (size_t i = 0; i < o->n_components; i++)
		put(w, "  - %s\n", scalar(o->components[i], s, sizeof(s)));
	if (o->listen_port)
		put(w, "  listenPort: %ld\n", o->listen_port);
	if (o->n_node_selector)
		put(w, "  nodeSelector:\n");
	for (size_t i = 0; i < o->n_node_selector; i++) {
		char k[512];
		put(w, "    %s: %s\n", scalar(o->node_selector[i].key, k, sizeof(k)), scalar(o->node_selector[i].value, s, sizeof(s)));
	}
	if (b64) {
		put(w, "  runtimeConfig:\n    loadFromSecret: %s-runtime-config\n", name);
		put(w, "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s-runtime-config\ntype: Opaque\ndata:\n", name);
		put(w, "  runtime-config.toml: ");
		if (w->r == 0)
			w->r = sk_buf_append(w->b, b64, strlen(b64));
		put(w, "\n");
	}
}

static void autoscaler(struct w *w, const struct scaffold_options *o, const char *name)
{
	put(w, "---\n");
	if (strcmp(o->autoscaler, "hpa") == 0) {
		put(w, "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: %s-autoscaler\nspec:\n", name);
		target_ref(w, o, name);
		put(w, "  minReplicas: %ld\n  maxReplicas: %ld\n  metrics:\n", o->replicas, o->max_replicas);
		put(w, "  - type: Resource\n    resource:\n      name: cpu\n      target:\n        type: Utilization\n        averageUtilization: %ld\n",
		    o->target_cpu);
		put(w, "  - type: Resource\n    resource:\n      name: memory\n      target:\n        type: Utilization\n        averageUtilization: %ld\n",
		    o->target_memory);
	} else {
		put(w, "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: %s-autoscaler\nspec:\n", name);
		target_ref(w, o, name);
		put(w, "  minReplicaCount: %ld\n  maxReplicaCount: %ld\n  triggers:\n", o->replicas, o->max_replicas);
		put(w, "  - type: cpu\n    metricType: Utilization\n    metadata:\n      value: \"%ld\"\n", o->target_cpu);
		put(w, "  - type: memory\n    metricType: Utilization\n    metadata:\n      value: \"%ld\"\n", o->target_memory);
	}
}

int scaffold_render(const struct scaffold_options *o, struct sk_buf *out, struct sk_error *err)
{
	struct oci_ref ref;
	_cleanup_free_ char *b64 = NULL;
	const char *name;
	int r;

	if (!o->from)
		return sk_err(err, -EINVAL, "--from is required: the app's reference, e.g. ghcr.io/you/app:v1");
	if ((r = oci_ref_parse(o->from, &ref, err)) < 0)
		return r;
	name = strrchr(ref.repo, '/') ? strrchr(ref.repo, '/') + 1 : ref.repo;
	if ((r = validate(o, &ref, name, err)) < 0)
		return r;
	if (o->runtime_config) {
		_cleanup_(json_putp) json_object *tree = NULL;
		if (o->runtime_config_len > SCAFFOLD_RUNTIME_CONFIG_MAX)
			return sk_err(err, -E2BIG, "--runtime-config-file: larger than %d bytes", SCAFFOLD_RUNTIME_CONFIG_MAX);
		if ((r = sk_toml_parse(o->runtime_config, o->runtime_config_len, "--runtime-config-file", &tree, err)) < 0)
			return r;
		if (!(b64 = sk_base64_encode(o->runtime_config, o->runtime_config_len)))
			return sk_err(err, -ENOMEM, "out of memory");
	}
	struct w w = { .b = out };
	spinapp(&w, o, name, b64);
	if (o->autoscaler)
		autoscaler(&w, o, name);
	if (w.r < 0)
		return sk_err(err, w.r, "the manifest is larger than %zu bytes", out->max);
	return 0;
}

static const char usage_scaffold[] =
	"Usage: spinkube scaffold --from REFERENCE [OPTIONS]\n"
	"\n"
	"Print the SpinApp YAML for the app pushed at REFERENCE, as `spin kube scaffold`\n"
	"does (with an autoscaler, also its HorizontalPodAutoscaler or KEDA ScaledObject;\n"
	"with a runtime config, also the Secret holding it).\n"
	"\n"
	"  -f, --from REFERENCE                        the app's image reference (required)\n"
	"  -r, --replicas N                            replicas; the minimum with an autoscaler (default 2)\n"
	"      --max-replicas N                        the maximum with an autoscaler (default 3)\n"
	"      --executor NAME                         the SpinAppExecutor (default containerd-shim-spin)\n"
	"      --autoscaler hpa|keda                   emit an autoscaler; needs --cpu-limit and --memory-limit\n"
	"      --autoscaler-target-cpu-utilization P   target CPU percent, 1-100 (default 60)\n"
	"      --autoscaler-target-memory-utilization P target memory percent, 1-100 (default 60)\n"
	"      --cpu-limit Q, --memory-limit Q         container limits (quantities: 100m, 128Mi)\n"
	"      --cpu-request Q, --memory-request Q     container requests\n"
	"  -s, --image-pull-secret NAME[,NAME]         Secrets to pull the image with (repeatable)\n"
	"      --variable NAME=VALUE                   an app variable (repeatable)\n"
	"      --component ID[,ID]                     deploy only these components (repeatable)\n"
	"  -c, --runtime-config-file FILE              runtime config TOML, put in a Secret beside the app\n"
	"      --listen-port PORT                      the port the app listens on in its pod (ours)\n"
	"      --node-selector KEY=VALUE               a node label the pods need (repeatable; ours)\n"
	"      --scale-target deployment|spinapp       what the autoscaler scales: the Deployment (default,\n"
	"                                              as upstream) or the SpinApp's scale subresource (ours)\n"
	"  -o, --out FILE                              write the YAML to FILE instead of stdout\n"
	"  -h, --help                                  this text\n";

enum {
	S_MAX = 1000,
	S_EXECUTOR,
	S_AUTOSCALER,
	S_TCPU,
	S_TMEM,
	S_CPUL,
	S_MEML,
	S_CPUR,
	S_MEMR,
	S_VAR,
	S_COMP,
	S_PORT,
	S_NODE,
	S_SCALE,
};

static const struct option scaffold_opts[] = {
	{ "from", required_argument, NULL, 'f' },
	{ "replicas", required_argument, NULL, 'r' },
	{ "max-replicas", required_argument, NULL, S_MAX },
	{ "executor", required_argument, NULL, S_EXECUTOR },
	{ "autoscaler", required_argument, NULL, S_AUTOSCALER },
	{ "autoscaler-target-cpu-utilization", required_argument, NULL, S_TCPU },
	{ "autoscaler-target-memory-utilization", required_argument, NULL, S_TMEM },
	{ "cpu-limit", required_argument, NULL, S_CPUL },
	{ "memory-limit", required_argument, NULL, S_MEML },
	{ "cpu-request", required_argument, NULL, S_CPUR },
	{ "memory-request", required_argument, NULL, S_MEMR },
	{ "image-pull-secret", required_argument, NULL, 's' },
	{ "variable", required_argument, NULL, S_VAR },
	{ "component", required_argument, NULL, S_COMP },
	{ "runtime-config-file", required_argument, NULL, 'c' },
	{ "listen-port", required_argument, NULL, S_PORT },
	{ "node-selector", required_argument, NULL, S_NODE },
	{ "scale-target", required_argument, NULL, S_SCALE },
	{ "out", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("spinkube scaffold: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; see spinkube scaffold --help\n", stderr);
	return 2;
}

static bool parse_long(const char *s, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* NAME=VALUE into kv (pointing into arg). */
static bool split_kv(char *arg, struct scaffold_kv *kv)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg)
		return false;
	*eq = '\0';
	kv->key = arg, kv->value = eq + 1;
	return true;
}

/* The command line into o (strings borrowed from argv, which is modified),
 * --runtime-config-file and --output into *rc_file and *out_file. Returns
 * -1 to go on, else the exit status (0 after --help, 2 on a usage error,
 * already printed). */
static int parse_args(int argc, char **argv, struct scaffold_options *o, const char **rc_file,
		      const char **out_file)
{
	long *num;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:f:r:s:c:o:h", scaffold_opts, NULL)) != -1) {
		const char *flag = argv[optind - 1];
		num = NULL;
		switch (c) {
		case 'f': o->from = optarg; break;
		case 'r': num = &o->replicas; break;
		case S_MAX: num = &o->max_replicas; break;
		case S_TCPU: num = &o->target_cpu; break;
		case S_TMEM: num = &o->target_memory; break;
		case S_PORT: num = &o->listen_port; break;
		case S_EXECUTOR: o->executor = optarg; break;
		case S_AUTOSCALER: o->autoscaler = optarg; break;
		case S_CPUL: o->cpu_limit = optarg; break;
		case S_MEML: o->memory_limit = optarg; break;
		case S_CPUR: o->cpu_request = optarg; break;
		case S_MEMR: o->memory_request = optarg; break;
		case S_SCALE: o->scale_target = optarg; break;
		case 'c': *rc_file = optarg; break;
		case 'o': *out_file = optarg; break;
		case 's':
			/* A comma-separated list, as upstream's string slice flag. */
			for (char *p = optarg, *comma; p; p = comma ? comma + 1 : NULL) {
				if ((comma = strchr(p, ',')))
					*comma = '\0';
				if (o->n_pull_secrets >= SCAFFOLD_LIST_MAX)
					return usage_fail("more than %s%s --image-pull-secret names", "128", "");
				o->pull_secrets[o->n_pull_secrets++] = p;
			}
			break;
		case S_VAR:
			if (o->n_variables >= SCAFFOLD_LIST_MAX)
				return usage_fail("more than %s%s --variable flags", "128", "");
			if (!split_kv(optarg, &o->variables[o->n_variables++]))
				return usage_fail("--variable \"%s\"%s must be NAME=VALUE", optarg, "");
			break;
		case S_NODE:
			if (o->n_node_selector >= SCAFFOLD_LIST_MAX)
				return usage_fail("more than %s%s --node-selector flags", "128", "");
			if (!split_kv(optarg, &o->node_selector[o->n_node_selector++]))
				return usage_fail("--node-selector \"%s\"%s must be KEY=VALUE", optarg, "");
			break;
		case S_COMP:
			/* Comma-separated too, as upstream's string slice flags. */
			for (char *p = optarg, *comma; p; p = comma ? comma + 1 : NULL) {
				if ((comma = strchr(p, ',')))
					*comma = '\0';
				if (o->n_components >= SCAFFOLD_LIST_MAX)
					return usage_fail("more than %s%s --component ids", "128", "");
				o->components[o->n_components++] = p;
			}
			break;
		case 'h':
			fputs(usage_scaffold, stdout);
			return 0;
		case ':':
			return usage_fail("%s needs a value%s", flag, "");
		default:
			return usage_fail("unknown option %s%s", flag, "");
		}
		if (num && !parse_long(optarg, num))
			return usage_fail("%s \"%s\" must be a whole number", flag, optarg);
	}
	if (optind < argc)
		return usage_fail("unexpected argument \"%s\"%s (the reference goes after --from)", argv[optind], "");
	if (!o->from)
		return usage_fail("--from REFERENCE is required%s%s", "", "");
	return -1;
}

int scaffold_main(int argc, char **argv)
{
	struct scaffold_options o;
	struct sk_error err = { 0 };
	struct sk_buf out = sk_buf_make(SCAFFOLD_OUTPUT_MAX);
	_cleanup_free_ char *rc_text = NULL;
	const char *rc_file = NULL, *out_file = NULL;
	int status;

	scaffold_defaults(&o);
	if ((status = parse_args(argc, argv, &o, &rc_file, &out_file)) >= 0)
		return status;
	if (rc_file) {
		int r = sk_read_file(rc_file, SCAFFOLD_RUNTIME_CONFIG_MAX, &rc_text, &o.runtime_config_len);
		if (r < 0) {
			fprintf(stderr, "spinkube scaffold: error: --runtime-config-file %s: %s\n", rc_file,
			        r == -E2BIG ? "larger than 1 MiB" : strerror(-r));
			return 1;
		}
		o.runtime_config = rc_text;
	}
	if (scaffold_render(&o, &out, &err) < 0) {
		sk_buf_free(&out);
		fprintf(stderr, "spinkube scaffold: error: %s\n", err.message);
		return 1;
	}
	if (out_file) {
		_cleanup_fclose_ FILE *f = fopen(out_file, "w");
		if (!f || fwrite(out.data, 1, out.len, f) != out.len || fflush(f) != 0) {
			fprintf(stderr, "spinkube scaffold: error: cannot write %s: %s\n", out_file, strerror(errno));
			sk_buf_free(&out);
			return 1;
		}
		fprintf(stderr, "spinkube scaffold: SpinApp manifest saved to %s\n", out_file);
	} else {
		fwrite(out.data, 1, out.len, stdout);
	}
	sk_buf_free(&out);
	return 0;
}
