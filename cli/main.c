/* spinkube: push Spin apps to OCI registries, pull them back, scaffold
 * their SpinApp manifests. A thin main: options in, one verb, one line per
 * error on stderr; exit 0 ok, 1 error, 2 usage. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim-bridge/app/app.h"
#include "common/cleanup.h"
#include "cli/creds.h"
#include "cli/pull.h"
#include "cli/push.h"
#include "cli/ref.h"
#include "cli/registry.h"
#include "cli/scaffold.h"
#include "spinkube-version.h"

#define EXIT_USAGE 2

static const char usage_main[] =
	"Usage: spinkube COMMAND [OPTIONS]\n"
	"\n"
	"Ship Spin apps to Kubernetes:\n"
	"  push      push a Spin app to an OCI registry as Spin does\n"
	"  pull      fetch a pushed app into a folder spin-bridge serves\n"
	"  scaffold  print the SpinApp YAML for a pushed app\n"
	"\n"
	"spinkube COMMAND --help shows a command's options; spinkube --version the version.\n";

static const char usage_push[] =
	"Usage: spinkube push [OPTIONS] REFERENCE\n"
	"\n"
	"Build the app's locked form (spin.toml -> locked-app JSON, every component's\n"
	"wasm and files by digest) and push it to REFERENCE (HOST[:PORT]/PATH[:TAG]) as an\n"
	"OCI artifact with Spin's media types. Blobs the registry has are not sent again.\n"
	"Prints the manifest digest.\n"
	"\n"
	"  -f, --from DIR|FILE     the app: a folder with spin.toml, or the file (default .)\n"
	"  -u, --username NAME     registry user (with --password-stdin)\n"
	"      --password-stdin    read the password (or token) from stdin\n"
	"      --docker-config F   docker config file (default $DOCKER_CONFIG/config.json\n"
	"                          or ~/.docker/config.json): auths, credHelpers, credsStore\n"
	"      --ca-file FILE      PEM CA bundle to verify the registry's certificate\n"
	"      --tls               HTTPS also to loopback registries (default: plain HTTP\n"
	"                          to 127.0.0.1, localhost and [::1], HTTPS elsewhere)\n"
	"      --chunk-size BYTES  upload blobs in PATCH chunks of this size (default: one PUT)\n"
	"  -q, --quiet             print only the digest\n"
	"  -h, --help              this text\n";

static const char usage_pull[] =
	"Usage: spinkube pull [OPTIONS] REFERENCE DIR\n"
	"\n"
	"Fetch the Spin app at REFERENCE into DIR: DIR/locked-app.json and\n"
	"DIR/blobs/sha256/<hex>, every blob checked against its size and digest, so that\n"
	"`spin-bridge up --from DIR` serves it. Prints the manifest digest.\n"
	"\n"
	"  -u, --username NAME, --password-stdin, --docker-config F, --ca-file FILE, --tls\n"
	"                          as for push\n"
	"  -q, --quiet             print only the digest\n"
	"  -h, --help              this text\n";

enum {
	OPT_PASSWORD_STDIN = 1000,
	OPT_DOCKER_CONFIG,
	OPT_CA_FILE,
	OPT_TLS,
	OPT_CHUNK,
};

static const struct option registry_options[] = {
	{ "from", required_argument, NULL, 'f' },
	{ "username", required_argument, NULL, 'u' },
	{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
	{ "docker-config", required_argument, NULL, OPT_DOCKER_CONFIG },
	{ "ca-file", required_argument, NULL, OPT_CA_FILE },
	{ "tls", no_argument, NULL, OPT_TLS },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct reg_cmd {
	const char *from;
	bool quiet;
	struct creds_options creds;
	struct reg_options reg;
};

static int usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spinkube %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see spinkube %s --help\n", verb);
	return EXIT_USAGE;
}

static int fail(const char *verb, const struct sk_error *err)
{
	fprintf(stderr, "spinkube %s: error: %s\n", verb, err->message);
	return EXIT_FAILURE;
}

/* Options shared by push and pull. Returns -1 to go on, else an exit code. */
static int parse_registry_options(const char *verb, const char *usage, bool allow_from, int argc, char **argv,
                                  struct reg_cmd *c)
{
	bool pw_stdin = false;
	int o;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+:f:u:qh", registry_options, NULL)) != -1) {
		switch (o) {
		case 'f':
			if (!allow_from)
				return usage_error(verb, "%s takes no --from", verb);
			c->from = optarg;
			break;
		case 'u':
			c->creds.username = optarg;
			break;
		case OPT_PASSWORD_STDIN:
			pw_stdin = true;
			break;
		case OPT_DOCKER_CONFIG:
			c->creds.config = optarg;
			break;
		case OPT_CA_FILE:
			c->reg.ca_file = optarg;
			break;
		case OPT_TLS:
			c->reg.tls = true;
			break;
		case OPT_CHUNK: {
			char *end;
			errno = 0;
			long long v = strtoll(optarg, &end, 10);
			if (errno || *end || v < 1024 || v > (1LL << 30))
				return usage_error(verb, "--chunk-size \"%s\" must be a number of bytes from 1024 to 1 GiB", optarg);
			c->reg.chunk_size = (size_t)v;
			break;
		}
		case 'q':
			c->quiet = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_SUCCESS;
		case ':':
			return usage_error(verb, "%s needs a value", argv[optind - 1]);
		default:
			return usage_error(verb, "unknown option %s", argv[optind - 1]);
		}
	}
	if (pw_stdin && !c->creds.username)
		return usage_error(verb, "%s--password-stdin needs --username", "");
	if (c->creds.username && !pw_stdin)
		return usage_error(verb, "%s--username needs --password-stdin (passwords are never taken as arguments)", "");
	if (pw_stdin)
		c->creds.password_in = stdin;
	return -1;
}

static int open_registry(const char *verb, struct reg_cmd *c, const struct oci_ref *ref, struct registry *reg)
{
	struct sk_error err = { 0 };
	struct auth_cred cred = { 0 };

	if (creds_resolve(&c->creds, ref, &cred, &err) < 0)
		return fail(verb, &err);
	if (reg_open(reg, ref, &c->reg, &cred, &err) < 0) {
		auth_cred_clear(&cred);
		return fail(verb, &err);
	}
	return -1;
}

static int cmd_push(int argc, char **argv)
{
	struct reg_cmd c = { .from = "." };
	struct sk_error err = { 0 };
	struct app *app = NULL;
	struct registry reg = { 0 };
	struct push_result res;
	struct oci_ref ref;
	int rc = parse_registry_options("push", usage_push, true, argc, argv, &c);

	if (rc >= 0)
		return rc;
	if (argc - optind != 1)
		return usage_error("push", "%sgive exactly one REFERENCE", "");
	if (oci_ref_parse(argv[optind], &ref, &err) < 0)
		return usage_error("push", "%s", err.message);
	if (app_load(c.from, &app, &err) < 0)
		return fail("push", &err);
	for (size_t i = 0; i < app->n_warnings; i++)
		fprintf(stderr, "spinkube push: warning: %s\n", app->warnings[i]);
	if ((rc = open_registry("push", &c, &ref, &reg)) >= 0) {
		app_free(app);
		return rc;
	}
	if (push_app(&reg, &ref, app, &res, &err) < 0) {
		rc = fail("push", &err);
	} else {
		if (!c.quiet)
			fprintf(stderr, "spinkube push: %s/%s:%s: %zu blobs, %zu uploaded (%lld bytes, %lu POST, %lu PATCH, %lu PUT)\n",
			        ref.host, ref.repo, oci_ref_target(&ref), res.blobs, res.uploaded,
			        (long long)res.uploaded_bytes, reg.posts, reg.patches, reg.puts);
		printf("%s\n", res.digest);
		rc = EXIT_SUCCESS;
	}
	reg_close(&reg);
	app_free(app);
	return rc;
}

static int cmd_pull(int argc, char **argv)
{
	struct reg_cmd c = { 0 };
	struct sk_error err = { 0 };
	struct registry reg = { 0 };
	struct pull_result res;
	struct app *app = NULL;
	struct oci_ref ref;
	int rc = parse_registry_options("pull", usage_pull, false, argc, argv, &c);

	if (rc >= 0)
		return rc;
	if (argc - optind != 2)
		return usage_error("pull", "%sgive REFERENCE and DIR", "");
	if (oci_ref_parse(argv[optind], &ref, &err) < 0)
		return usage_error("pull", "%s", err.message);
	if ((rc = open_registry("pull", &c, &ref, &reg)) >= 0)
		return rc;
	const char *dir = argv[optind + 1];
	if (pull_app(&reg, &ref, dir, &res, &err) < 0) {
		rc = fail("pull", &err);
	} else if (app_load(dir, &app, &err) < 0) {
		/* The shared loader is the last check: what spin-bridge would say.
		 * The folder must not look like an app then; the verified blobs
		 * stay for the next pull. */
		char lock[4096];
		(void)snprintf(lock, sizeof(lock), "%s/locked-app.json", dir);
		(void)unlink(lock);
		sk_err_prefix(&err, "pull: %s does not load as a Spin app", dir);
		rc = fail("pull", &err);
	} else {
		if (!c.quiet)
			fprintf(stderr, "spinkube pull: %s/%s:%s -> %s: %zu blobs, %zu downloaded\n", ref.host, ref.repo,
			        oci_ref_target(&ref), dir, res.blobs, res.downloaded);
		printf("%s\n", res.digest);
		rc = EXIT_SUCCESS;
	}
	app_free(app);
	reg_close(&reg);
	return rc;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return fputs(usage_main, stderr), EXIT_USAGE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
		return fputs(usage_main, stdout), EXIT_SUCCESS;
	if (strcmp(argv[1], "--version") == 0)
		return printf("spinkube %s\n", SPINKUBE_VERSION), EXIT_SUCCESS;
	if (strcmp(argv[1], "scaffold") == 0)
		return scaffold_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "push") != 0 && strcmp(argv[1], "pull") != 0) {
		fprintf(stderr, "spinkube: unknown command \"%s\"; see spinkube --help\n", argv[1]);
		return EXIT_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("spinkube: error: cannot start libcurl\n", stderr);
		return EXIT_FAILURE;
	}
	rc = strcmp(argv[1], "push") == 0 ? cmd_push(argc - 1, argv + 1) : cmd_pull(argc - 1, argv + 1);
	curl_global_cleanup();
	return rc;
}
