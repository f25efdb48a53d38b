/* controller/render: the quantity parser, TOML quoting, the hashes, and the
 * golden files under tests/golden/render/<case>/ that pin what each SpinApp
 * renders to.
 *
 * A case holds app.yaml and executor.yaml (inputs), optionally lookups.json
 * ({"Secret/NAME/KEY": "value", "ConfigMap/NAME/KEY": "value"}; a null value
 * makes the lookup fail with -EACCES) and references-hash (one line, the
 * pod-template annotation value). The test renders what the reconciler
 * would (runtime-config.toml, secret.json, ca-secret.json, deployment.json,
 * service.json) or, at the first failure, only error.txt ("ERRNAME: message"),
 * and compares each with the file of that name byte for byte; an expected
 * file that was not rendered fails too. SPINKUBE_UPDATE_GOLDEN=1 rewrites
 * the files instead (review the diff by hand: the golden files are the spec).
 *
 * Usage: test-render GOLDEN_DIR */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "common/toml.h"
#include "controller/render/render.h"
#include "tests/tap.h"
#include "controller/kube/yaml.h"

#define FILE_MAX   (1024 * 1024)
#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)
/* What the CA Secret of every case holds. */
#define TEST_BUNDLE "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n"

static const char *const outputs[] = {
    "runtime-config.toml", "secret.json", "ca-secret.json", "deployment.json", "service.json", "error.txt",
};
#define N_OUTPUTS (sizeof(outputs) / sizeof(outputs[0]))

/* ---------------------------------------------------------------- units */

static void test_quantity(void)
{
	static const struct {
		const char *in;
		long long want;
	} good[] = {
	    {"0", 0},
	    {"1024", 1024},
	    {"+5", 5},
	    {"1k", 1000},
	    {"1M", 1000000},
	    {"128Mi", 134217728},
	    {"1Gi", 1073741824},
	    {"1.5Gi", 1610612736},
	    {"0.5Ki", 512},
	    {"1.5", 2},     /* rounds up */
	    {"0.001k", 1},  /* exactly 1 */
	    {"0.0015k", 2}, /* 1.5 up to 2 */
	    {".5Mi", 524288},
	    {"2.", 2},
	    {"1e3", 1000},
	    {"2E+6", 2000000},
	    {"1.5e3", 1500},
	    {"15e-1", 2},
	    {"1E", 1000000000000000000LL}, /* exa, not an exponent */
	    {"7Ei", 8070450532247928832LL},
	    {"1.000000000000000000000Gi", 1073741824}, /* trailing zeros are not digits that count */
	    {"9223372036854775807", 9223372036854775807LL},
	    {"0.00000000000000000000000000000000000000000000000001", 1},
	};
	static const struct {
		const char *in;
		int code;
		const char *says;
	} bad[] = {
	    {"", -EINVAL, "empty"},
	    {"100m", -EINVAL, "'m' counts fractions of a unit"},
	    {"5u", -EINVAL, "'u' counts fractions"},
	    {"64MB", -EINVAL, "unknown suffix \"MB\""},
	    {"1K", -EINVAL, "unknown suffix \"K\""},
	    {"Mi", -EINVAL, "does not start with a number"},
	    {"-1Mi", -EINVAL, "negative"},
	    {"1e", -EINVAL, "unknown suffix"},
	    {"1e+", -EINVAL, "no digits"},
	    {"1e1.5", -EINVAL, "not a whole number"},
	    {"1.2.3", -EINVAL, "unknown suffix \".3\""},
	    {"8Ei", -ERANGE, "more than"},
	    {"9223372036854775808", -ERANGE, "more than"},
	    {"1e99", -ERANGE, "out of range"},
	    {"12345678901234567890", -ERANGE, "significant digits"},
	    {"1 Mi", -EINVAL, "unknown suffix \" Mi\""},
	    {"11111111111111111111111111111111111111111111111111111111111111111", -EINVAL, "longer than"},
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct sk_error err = {0};
		int64_t v = -1;
		int r = render_quantity_bytes(good[i].in, &v, &err);

		is_int(r, 0, "quantity \"%s\" parses (%s)", good[i].in, err.message);
		is_int(v, good[i].want, "quantity \"%s\" is %lld bytes", good[i].in, good[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sk_error err = {0};
		int64_t v = 42;
		int r = render_quantity_bytes(bad[i].in, &v, &err);

		is_int(r, bad[i].code, "quantity \"%s\" is refused", bad[i].in);
		ok(strstr(err.message, bad[i].says) != NULL && v == 42, "and says so: %s", err.message);
	}
}

static void check_quote(const char *in, const char *want, const char *what)
{
	_cleanup_free_ char *out = NULL;

	is_int(sk_toml_quote(in, &out), 0, "TOML quoting: %s", what);
	is_str(out, want, "TOML quoting: %s, the text", what);
}

static void check_key(const char *in, const char *want)
{
	_cleanup_free_ char *out = NULL;

	is_int(sk_toml_key(in, &out), 0, "TOML key %s", want);
	is_str(out, want, "TOML key %s, the text", want);
}

static void test_toml(void)
{
	char *out = NULL;

	check_quote("plain", "\"plain\"", "a plain string");
	check_quote("", "\"\"", "the empty string");
	check_quote("say \"hi\"", "\"say \\\"hi\\\"\"", "quotes");
	check_quote("C:\\dir", "\"C:\\\\dir\"", "a backslash");
	check_quote("a\nb\tc\rd\x01\x1f\x7f", "\"a\\u000Ab\\u0009c\\u000Dd\\u0001\\u001F\\u007F\"",
	            "control characters and DEL");
	check_quote("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x90\xb3",
	            "\"gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x90\xb3\"", "UTF-8 as it is");
	check_quote("'single' #hash [x] = y", "\"'single' #hash [x] = y\"", "TOML punctuation needs nothing");
	is_int(sk_toml_quote("bad \xff byte", &out), -EILSEQ, "invalid UTF-8 is refused");
	is_int(sk_toml_quote("overlong \xc0\xaf", &out), -EILSEQ, "an overlong form is refused");
	is_int(sk_toml_quote("surrogate \xed\xa0\x80", &out), -EILSEQ, "a surrogate is refused");
	is_int(sk_toml_quote("cut \xe2\x82", &out), -EILSEQ, "a cut sequence is refused");
	is_int(sk_toml_quote("past \xf4\x90\x80\x80", &out), -EILSEQ,
	       "a code point past U+10FFFF is refused");
	ok(out == NULL, "nothing is returned on failure");

	check_key("default", "default");
	check_key("my-store_2", "my-store_2");
	check_key("my.store", "\"my.store\"");
	check_key("has space", "\"has space\"");
	check_key("", "\"\"");
	check_key("k\xc3\xa9y", "\"k\xc3\xa9y\"");
}

static json_object *parse_json(const char *s)
{
	json_object *o = NULL;
	struct sk_error err = {0};

	if (sk_json_parse(s, strlen(s), &o, &err) < 0) {
		printf("# %s\n", err.message);
		return NULL;
	}
	return o;
}

static void test_hashes(void)
{
	_cleanup_json_ json_object *a =
	    parse_json("{\"b\":[3,{\"y\":1,\"x\":2}],\"a\":\"q\\\"\\n\",\"c\":null,"
	               "\"d\":true,\"e\":1.5,\"f\":-7}");
	_cleanup_json_ json_object *b =
	    parse_json("{\"f\":-7,\"e\":1.5,\"d\":true,\"c\":null,\"a\":\"q\\\"\\n\","
	               "\"b\":[3,{\"x\":2,\"y\":1}]}");
	_cleanup_json_ json_object *c =
	    parse_json("{\"b\":[{\"x\":2,\"y\":1},3],\"a\":\"q\\\"\\n\",\"c\":null,"
	               "\"d\":true,\"e\":1.5,\"f\":-7}");
	_cleanup_json_ json_object *d =
	    parse_json("{\"b\":[3,{\"y\":1,\"x\":2}],\"a\":\"q\\\"\\n\",\"c\":null,"
	               "\"d\":true,\"e\":1.5,\"f\":-8}");
	_cleanup_free_ char *canon = NULL;
	char ha[17], hb[17], hc[17], hd[17], h[65];
	size_t len = 0;

	is_int(render_canonical_json(a, &canon, &len), 0, "canonical JSON");
	is_str(
	    canon,
	    "{\"a\":\"q\\\"\\u000a\",\"b\":[3,{\"x\":2,\"y\":1}],\"c\":null,\"d\":true,\"e\":1.5,\"f\":-7}",
	    "canonical JSON sorts keys at every level and keeps arrays in order");
	is_int(len, strlen(canon ? canon : ""), "and reports its length");
	render_object_hash(a, ha);
	render_object_hash(b, hb);
	render_object_hash(c, hc);
	render_object_hash(d, hd);
	is_int(strlen(ha), 16, "the object hash is 16 hex digits");
	is_str(ha, hb, "key order does not change the object hash");
	ok(strcmp(ha, hc) != 0, "array order does (%s vs %s)", ha, hc);
	ok(strcmp(ha, hd) != 0, "and so does a value (%s vs %s)", ha, hd);
	render_hash(canon, len, 64, h);
	is_int(strncmp(h, ha, 16), 0, "the object hash is the SHA-256 of the canonical JSON");

	/* FIPS 180-2 test vector. */
	render_hash("abc", 3, 64, h);
	is_str(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256 of \"abc\"");
	render_hash("abc", 3, 10, h);
	is_str(h, "ba7816bf8f", "cut to 10 digits");
	render_hash("", 0, 64, h);
	is_str(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "SHA-256 of nothing");

	_cleanup_free_ char *key = render_ready_label_key("web");
	is_str(key, "core.spinkube.dev/app.web.status", "the ready label key");
}

/* Base64 as Kubernetes decodes it, checked through a CA Secret. */
static void test_ca_secret_data(void)
{
	static const struct {
		const char *in, *want;
	} v[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foobar", "Zm9vYmFy"}};
	struct sk_error err = {0};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		_cleanup_json_ json_object *s = NULL;

		is_int(render_ca_secret("ns", "spin-ca", v[i].in, strlen(v[i].in), &s, &err), 0,
		       "CA Secret of \"%s\"", v[i].in);
		is_str(json_object_get_string(sk_json_getv(s, "data", SPIN_CA_KEY, NULL)), v[i].want,
		       "is base64 \"%s\"", v[i].want);
	}
	json_object *s = NULL;
	is_int(render_ca_secret("", "spin-ca", "x", 1, &s, &err), -EINVAL, "a CA Secret needs a namespace");
	is_int(render_ca_secret("ns", NULL, "x", 1, &s, &err), -EINVAL, "and a name");
	ok(s == NULL, "nothing is returned on failure");
}

/* Rendering the same input twice gives the same bytes; a hand-made app
 * with its keys in another order renders the same objects. */
static void test_determinism(void)
{
	const char *app1 = "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"uid\":\"u\"},"
	                   "\"spec\":{\"image\":\"i\",\"replicas\":2,\"podLabels\":{\"z\":\"1\",\"a\":\"2\"},"
	                   "\"podAnnotations\":{\"y\":\"1\",\"b\":\"2\"}}}";
	const char *app2 =
	    "{\"spec\":{\"podAnnotations\":{\"b\":\"2\",\"y\":\"1\"},\"podLabels\":{\"a\":\"2\",\"z\":\"1\"},"
	    "\"replicas\":2,\"image\":\"i\"},\"metadata\":{\"uid\":\"u\",\"namespace\":\"n\",\"name\":\"a\"}"
	    "}";
	const char *exe = "{\"metadata\":{\"name\":\"e\"},\"spec\":{\"createDeployment\":true,"
	                  "\"deploymentConfig\":{\"runtimeClassName\":\"rc\"}}}";
	_cleanup_json_ json_object *a1 = parse_json(app1), *a2 = parse_json(app2), *e = parse_json(exe);
	_cleanup_json_ json_object *d1 = NULL, *d2 = NULL, *d3 = NULL;
	struct render_deployment_input in = {
	    .app = a1, .executor = e, .runtime_config_secret = "a-0123456789"};
	struct sk_error err = {0};
	_cleanup_free_ char *s1 = NULL;

	is_int(render_deployment(&in, &d1, &err), 0, "render (%s)", err.message);
	is_int(render_deployment(&in, &d2, &err), 0, "render again");
	in.app = a2;
	is_int(render_deployment(&in, &d3, &err), 0, "render the reordered app");
	s1 = strdup(json_object_to_json_string_ext(d1, JSON_FLAGS));
	is_str(json_object_to_json_string_ext(d2, JSON_FLAGS), s1, "the same input renders the same bytes");
	is_str(json_object_to_json_string_ext(d3, JSON_FLAGS), s1,
	       "and key order in the input does not matter");
}

/* ---------------------------------------------------------------- lookups */

/* The lookup over a case's lookups.json. */
struct lookups {
	json_object *map;
};

static int lookup(void *ud, const char *kind, const char *name, const char *key, char **value)
{
	struct lookups *l = ud;
	char k[512];
	json_object *v;

	(void)snprintf(k, sizeof(k), "%s/%s/%s", kind, name, key);
	if (!l->map || !json_object_object_get_ex(l->map, k, &v))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_string))
		return -EACCES;
	*value = strdup(json_object_get_string(v));
	return *value ? 0 : -ENOMEM;
}

/* An app with one key-value store with the given options. */
#define STORE_APP                                                                                            \
	"{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"uid\":\"u\"},\"spec\":{\"image\":\"i\","        \
	"\"runtimeConfig\":{\"keyValueStores\":[{\"name\":\"s\",\"type\":\"redis\",\"options\":[%s]}]}}}"

/* Failures found without a golden file: what the TOML cannot hold and
 * what the callers might pass wrong. */
static void test_errors(void)
{
	static const struct {
		const char *options, *says;
	} bad[] = {
	    {"{\"name\":\"type\",\"value\":\"x\"}", "options[0] (\"type\"): an option cannot be called type"},
	    {"{\"name\":\"u\",\"value\":\"x\"},{\"name\":\"u\",\"value\":\"y\"}",
	     "options[1] (\"u\"): the same option"},
	    {"{\"value\":\"x\"}", "options[0]: name is missing"},
	    {"{\"name\":\"u\",\"valueFrom\":{}}", "valueFrom needs secretKeyRef or configMapKeyRef"},
	    {"{\"name\":\"u\",\"value\":\"x\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}"
	     "}",
	     "set value or valueFrom, not both"},
	    {"{\"name\":\"u\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\"}}}", "needs a name and a key"},
	    {"{\"name\":\"u\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}}",
	     "(no lookup given)"},
	};
	struct sk_error err = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char doc[1024];
		_cleanup_json_ json_object *app = NULL;
		_cleanup_free_ char *toml = NULL;
		int r;

		(void)snprintf(doc, sizeof(doc), STORE_APP, bad[i].options);
		app = parse_json(doc);
		sk_err_clear(&err);
		r = render_runtime_config(app, NULL, NULL, &toml, &err);
		is_int(r, -EINVAL, "runtime config with options %s is refused", bad[i].options);
		ok(strstr(err.message, bad[i].says) != NULL && toml == NULL, "and says so: %s", err.message);
	}

	/* A secret value that is not UTF-8 cannot go into TOML. */
	{
		_cleanup_json_ json_object *app = NULL;
		_cleanup_free_ char *toml = NULL;
		char doc[1024];
		_cleanup_json_ json_object *map = parse_json("{}");
		struct lookups l = {map};

		json_object_object_add(map, "Secret/s/k", json_object_new_string("caf\xe9"));
		(void)snprintf(
		    doc, sizeof(doc), STORE_APP,
		    "{\"name\":\"u\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}}");
		app = parse_json(doc);
		is_int(render_runtime_config(app, lookup, &l, &toml, &err), -EINVAL,
		       "a value that is not UTF-8 is refused");
		ok(strstr(err.message, "options[0] (\"u\"): the value is not valid UTF-8") != NULL,
		   "and says so: %s", err.message);
	}

	_cleanup_json_ json_object *app =
	    parse_json("{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"uid\":\"u\"},"
	               "\"spec\":{\"image\":\"i\"}}");
	_cleanup_json_ json_object *off =
	    parse_json("{\"metadata\":{\"name\":\"ext\"},\"spec\":{\"createDeployment\":false}}");
	_cleanup_json_ json_object *noapp =
	    parse_json("{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},\"spec\":{}}");
	struct render_deployment_input in = {.app = app, .executor = off};
	json_object *o = NULL;
	char *name = NULL;

	is_int(render_deployment(&in, &o, &err), -EINVAL,
	       "an executor that makes no Deployment renders none");
	ok(strstr(err.message, "SpinAppExecutor \"ext\": createDeployment is not true") != NULL,
	   "and says so: %s", err.message);
	in.executor = NULL;
	is_int(render_deployment(&in, &o, &err), -EINVAL, "no executor at all");
	is_int(render_deployment(NULL, &o, &err), -EINVAL, "no input at all");
	is_int(render_service(noapp, &o, &err), -EINVAL,
	       "an app without a uid has no owner reference to give");
	ok(strstr(err.message, "has no metadata.uid") != NULL, "and says so: %s", err.message);
	is_int(render_runtime_config_secret(app, NULL, &o, &name, &err), -EINVAL,
	       "a runtime-config Secret needs TOML");
	ok(o == NULL && name == NULL, "nothing is returned on failure");
}

/* ---------------------------------------------------------------- golden */

struct result {
	char *text[N_OUTPUTS];
};

static void result_free(struct result *r)
{
	for (size_t i = 0; i < N_OUTPUTS; i++)
		free(r->text[i]);
}

static int output_index(const char *name)
{
	for (size_t i = 0; i < N_OUTPUTS; i++)
		if (strcmp(outputs[i], name) == 0)
			return (int)i;
	abort();
}

static void set_text(struct result *r, const char *name, const char *text)
{
	int i = output_index(name);

	free(r->text[i]);
	r->text[i] = strdup(text);
}

static void set_json(struct result *r, const char *name, json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(o, JSON_FLAGS, &len);
	_cleanup_free_ char *t = malloc(len + 2);

	memcpy(t, s, len);
	t[len] = '\n';
	t[len + 1] = '\0';
	set_text(r, name, t);
}

static void set_error(struct result *r, int code, const struct sk_error *err)
{
	char t[SK_ERR_MESSAGE_MAX + 64];

	/* A failed case is its error: what rendered before it is not kept. */
	for (size_t i = 0; i < N_OUTPUTS; i++) {
		free(r->text[i]);
		r->text[i] = NULL;
	}
	(void)snprintf(t, sizeof(t), "%s: %s\n", strerrorname_np(-code), err->message);
	set_text(r, "error.txt", t);
}

static json_object *read_input(const char *dir, const char *file, bool yaml, bool required)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	struct sk_error err = {0};
	json_object *o = NULL;
	size_t len = 0;
	int r;

	if (asprintf(&path, "%s/%s", dir, file) < 0)
		return NULL;
	r = sk_read_file(path, FILE_MAX, &text, &len);
	if (r < 0) {
		if (required || r != -ENOENT)
			printf("# %s: %s\n", path, strerror(-r));
		return NULL;
	}
	r = yaml ? kube_yaml_parse(text, len, &o, &err) : sk_json_parse(text, len, &o, &err);
	if (r < 0) {
		printf("# %s: %s\n", path, err.message);
		return NULL;
	}
	return o;
}

/* The parsed form of a rendered object hashes as the object did: the hash
 * depends on content, not on json-c's text or key order. */
static void check_rehash(const char *cname, const char *file, json_object *o)
{
	_cleanup_json_ json_object *back = parse_json(json_object_to_json_string_ext(o, JSON_FLAGS));
	char h1[17], h2[17];

	render_object_hash(o, h1);
	render_object_hash(back, h2);
	ok(h1[0] && strcmp(h1, h2) == 0, "%s: %s hashes the same after a round trip (%s)", cname, file, h1);
}

/* What the reconciler would make of this case, in its order; returns the
 * first failure's code (its message in err). */
static int render_steps(const char *cname, json_object *app, json_object *exe, struct lookups *l,
                        const char *refs_hash, struct result *res, struct sk_error *err)
{
	_cleanup_json_ json_object *secret = NULL, *ca = NULL, *dep = NULL, *svc = NULL;
	_cleanup_free_ char *toml = NULL, *secret_name = NULL;
	const char *rc_secret = sk_json_str(app, "spec.runtimeConfig.loadFromSecret");
	const char *ns = sk_json_str(app, "metadata.namespace");
	int r;

	if (sk_json_bool(exe, "spec.createDeployment", false)) {
		if (!rc_secret) {
			if ((r = render_runtime_config(app, lookup, l, &toml, err)) < 0)
				return r;
			set_text(res, "runtime-config.toml", toml);
			if ((r = render_runtime_config_secret(app, toml, &secret, &secret_name, err)) < 0)
				return r;
			set_json(res, "secret.json", secret);
			check_rehash(cname, "secret.json", secret);
			is_str(sk_json_str(secret, "metadata.name"), secret_name,
			       "%s: name_out is the Secret's name", cname);
			rc_secret = secret_name;
		}
		if (sk_json_bool(exe, "spec.deploymentConfig.installDefaultCACerts", false)) {
			const char *name = sk_json_str(exe, "spec.deploymentConfig.caCertSecret");

			if (!name || !*name)
				name = SPIN_CA_SECRET_DEFAULT;
			if ((r = render_ca_secret(ns, name, TEST_BUNDLE, strlen(TEST_BUNDLE), &ca, err)) < 0)
				return r;
			set_json(res, "ca-secret.json", ca);
		}
		struct render_deployment_input in = {
		    .app = app,
		    .executor = exe,
		    .runtime_config_secret = rc_secret,
		    .references_hash = refs_hash,
		};
		if ((r = render_deployment(&in, &dep, err)) < 0)
			return r;
		set_json(res, "deployment.json", dep);
		check_rehash(cname, "deployment.json", dep);
	}
	if ((r = render_service(app, &svc, err)) < 0)
		return r;
	set_json(res, "service.json", svc);
	check_rehash(cname, "service.json", svc);
	return 0;
}

static void render_case(const char *cname, json_object *app, json_object *exe, struct lookups *l,
                        const char *refs_hash, struct result *res)
{
	struct sk_error err = {0};
	int r = render_steps(cname, app, exe, l, refs_hash, res, &err);

	if (r < 0)
		set_error(res, r, &err);
}

static int write_file(const char *path, const char *text)
{
	_cleanup_fclose_ FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0 || fflush(f) != 0)
		return -errno;
	return 0;
}

static void run_case(const char *root, const char *cname, bool update)
{
	_cleanup_free_ char *dir = NULL, *refs = NULL, *refs_path = NULL;
	_cleanup_json_ json_object *app = NULL, *exe = NULL, *lk = NULL;
	_cleanup_(result_free) struct result res = {0};
	struct lookups l;
	size_t len;

	if (asprintf(&dir, "%s/%s", root, cname) < 0 || asprintf(&refs_path, "%s/references-hash", dir) < 0)
		abort();
	app = read_input(dir, "app.yaml", true, true);
	exe = read_input(dir, "executor.yaml", true, true);
	lk = read_input(dir, "lookups.json", false, false);
	if (!ok(app && exe, "%s: inputs parse", cname))
		return;
	l.map = lk;
	if (sk_read_file(refs_path, 1024, &refs, &len) == 0)
		refs[strcspn(refs, "\n")] = '\0';

	render_case(cname, app, exe, &l, refs, &res);

	for (size_t i = 0; i < N_OUTPUTS; i++) {
		_cleanup_free_ char *path = NULL, *want = NULL;
		int r;

		if (asprintf(&path, "%s/%s", dir, outputs[i]) < 0)
			abort();
		r = sk_read_file(path, FILE_MAX, &want, &len);
		if (update) {
			if (res.text[i] && (!want || strcmp(want, res.text[i]) != 0))
				ok(write_file(path, res.text[i]) == 0, "%s: wrote %s", cname, outputs[i]);
			else if (!res.text[i] && r == 0)
				ok(unlink(path) == 0, "%s: removed %s", cname, outputs[i]);
			continue;
		}
		if (!res.text[i] && r == -ENOENT)
			continue;
		if (!res.text[i]) {
			ok(0, "%s: %s is expected but was not rendered", cname, outputs[i]);
			continue;
		}
		if (r < 0) {
			ok(0, "%s: %s was rendered but %s is missing (SPINKUBE_UPDATE_GOLDEN=1 writes it)",
			   cname, outputs[i], path);
			printf("# rendered:\n%s", res.text[i]);
			continue;
		}
		if (!ok(strcmp(want, res.text[i]) == 0, "%s: %s matches", cname, outputs[i]))
			printf("# rendered (diff against %s):\n%s", path, res.text[i]);
	}
}

static int only_dirs(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void test_golden(const char *root)
{
	struct dirent **list = NULL;
	bool update = getenv("SPINKUBE_UPDATE_GOLDEN") && strcmp(getenv("SPINKUBE_UPDATE_GOLDEN"), "1") == 0;
	int n = scandir(root, &list, only_dirs, alphasort);

	if (!ok(n > 0, "golden cases in %s", root))
		return;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		(void)snprintf(path, sizeof(path), "%s/%s", root, list[i]->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			run_case(root, list[i]->d_name, update);
		free(list[i]);
	}
	free(list);
	printf("# %d golden cases\n", n);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s GOLDEN_DIR\n", argv[0]);
		return 2;
	}
	test_quantity();
	test_toml();
	test_hashes();
	test_ca_secret_data();
	test_determinism();
	test_errors();
	test_golden(argv[1]);
	return tap_done();
}
