/* Docker config, credential helpers and WWW-Authenticate. */
#include "cli/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/http-field.h"


#define CONFIG_MAX_DEPTH 32

void auth_cred_clear(struct auth_cred *c)
{
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->username);
	free(c->password);
	*c = (struct auth_cred){ 0 };
}

static void json_putp(json_object **o)
{
	json_object_put(*o);
}

/* Parse exactly one JSON object of at most max bytes, nesting bounded.
 * *out is a new reference. */
static int parse_object(const char *text, size_t len, size_t max, json_object **out)
{
	json_tokener *tok;
	json_object *o;
	size_t used;

	if (len > max)
		return -E2BIG;
	if (!(tok = json_tokener_new_ex(CONFIG_MAX_DEPTH)))
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, text, (int)len);
	bool good = json_tokener_get_error(tok) == json_tokener_success;
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (good && used < len && strchr(" \t\r\n", text[used]))
		used++;
	if (!good || used != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	*out = o;
	return 0;
}

/* obj[key] when a string, else NULL (borrowed). */
static const char *str_member(json_object *obj, const char *key)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The host an auths/credHelpers key names: "https://host/v1/" -> "host".
 * Writes into buf; returns buf, or NULL when too long. */
static const char *key_host(const char *key, char *buf, size_t size)
{
	const char *p = key;
	size_t n;

	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	n = strcspn(p, "/");
	if (n >= size)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static bool host_matches(const char *key, const char *host)
{
	char buf[512];
	const char *k = key_host(key, buf, sizeof(buf));

	if (!k)
		return false;
	if (strcmp(k, host) == 0)
		return true;
	/* Docker Hub's entries are written for its index. */
	return strcmp(host, "docker.io") == 0 && (strcmp(k, "index.docker.io") == 0 || strcmp(k, "registry-1.docker.io") == 0);
}

/* The member of obj whose key names host (borrowed), or NULL. */
static json_object *find_host(json_object *obj, const char *host, const char **key_out)
{
	if (!obj || !json_object_is_type(obj, json_type_object))
		return NULL;
	json_object_object_foreach(obj, k, v) {
		if (host_matches(k, host)) {
			*key_out = k;
			return v;
		}
	}
	return NULL;
}

static int set_helper(struct auth_cred *c, const char *name, const char *file, const char *where,
                      struct sk_error *err)
{
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(c->helper) ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != n)
		return sk_err(err, -EINVAL, "%s: %s: helper name \"%.64s\" must be 1 to 63 of A-Z a-z 0-9 - _ .", file,
		              where, name);
	memcpy(c->helper, name, n + 1);
	return 0;
}

/* An auths entry: "auth" (base64 user:password) or username/password. */
static int auths_entry(json_object *e, const char *file, const char *key, struct auth_cred *c,
                       struct sk_error *err)
{
	const char *auth = str_member(e, "auth"), *user = str_member(e, "username"), *pass = str_member(e, "password");
	_cleanup_free_ unsigned char *dec = NULL;
	size_t declen;
	char *colon;

	if (!json_object_is_type(e, json_type_object))
		return sk_err(err, -EINVAL, "%s: auths[\"%.100s\"] must be an object", file, key);
	if (auth && auth[0]) {
		if (strlen(auth) > AUTH_FIELD_MAX * 2)
			return sk_err(err, -E2BIG, "%s: auths[\"%.100s\"].auth is longer than %d characters", file, key,
			              AUTH_FIELD_MAX * 2);
		int r = sk_base64_decode(auth, strlen(auth), 0, &dec, &declen);
		if (r == -ENOMEM)
			return sk_err(err, r, "%s: out of memory", file);
		if (r < 0 || memchr(dec, '\0', declen) || !(colon = strchr((char *)dec, ':')))
			return sk_err(err, -EINVAL, "%s: auths[\"%.100s\"].auth is not base64 of \"user:password\"; run docker login again",
			              file, key);
		*colon = '\0';
		if (!(c->username = strdup((char *)dec)) || !(c->password = strdup(colon + 1)))
			return sk_err(err, -ENOMEM, "%s: out of memory", file);
		explicit_bzero(dec, declen);
		return 0;
	}
	if (user && pass) {
		if (strlen(user) >= AUTH_FIELD_MAX || strlen(pass) >= AUTH_FIELD_MAX)
			return sk_err(err, -E2BIG, "%s: auths[\"%.100s\"]: username or password longer than %d characters",
			              file, key, AUTH_FIELD_MAX - 1);
		if (!(c->username = strdup(user)) || !(c->password = strdup(pass)))
			return sk_err(err, -ENOMEM, "%s: out of memory", file);
	}
	return 0;
}

int auth_config_lookup(const char *json, size_t len, const char *name, const char *host, struct auth_cred *out,
                       struct sk_error *err)
{
	_cleanup_(json_putp) json_object *root = NULL;
	struct auth_cred c = { 0 };
	json_object *helpers = NULL, *auths = NULL, *e;
	const char *key = NULL, *store;
	int r = parse_object(json, len, AUTH_CONFIG_MAX, &root);

	if (r == -E2BIG)
		return sk_err(err, r, "%s: larger than %d bytes", name, AUTH_CONFIG_MAX);
	if (r == -ENOMEM)
		return sk_err(err, r, "%s: out of memory", name);
	if (r < 0)
		return sk_err(err, r, "%s: not one JSON object; fix the file or point DOCKER_CONFIG elsewhere", name);
	json_object_object_get_ex(root, "credHelpers", &helpers);
	json_object_object_get_ex(root, "auths", &auths);
	if ((e = find_host(helpers, host, &key))) {
		if (!json_object_is_type(e, json_type_string))
			return sk_err(err, -EINVAL, "%s: credHelpers[\"%.100s\"] must be a string", name, key);
		r = set_helper(&c, json_object_get_string(e), name, "credHelpers", err);
	} else if ((e = find_host(auths, host, &key))) {
		r = auths_entry(e, name, key, &c, err);
	}
	if (r == 0 && !c.helper[0] && !c.username && (store = str_member(root, "credsStore")) && store[0])
		r = set_helper(&c, store, name, "credsStore", err);
	if (r < 0) {
		auth_cred_clear(&c);
		return r;
	}
	*out = c;
	return 0;
}

int auth_config_path(char *path, size_t size)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	int n;

	if (dir && dir[0])
		n = snprintf(path, size, "%s/config.json", dir);
	else if (home && home[0])
		n = snprintf(path, size, "%s/.docker/config.json", home);
	else
		return -ENOENT;
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* Write all of data to fd, then close it. */
static int write_all_close(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -EIO;
		}
		data += w, len -= (size_t)w;
	}
	return close(fd) < 0 ? -errno : 0;
}

int auth_helper_get(const char *name, const char *host, struct auth_cred *out, struct sk_error *err)
{
	char prog[AUTH_HELPER_NAME_MAX + 32];
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, status = 0, r;
	posix_spawn_file_actions_t fa;
	struct sk_buf b = sk_buf_make(AUTH_FIELD_MAX * 2);
	_cleanup_(json_putp) json_object *root = NULL;
	pid_t pid;
	char chunk[1024];

	(void)snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		r = -errno;
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (outp[i] >= 0)
				close(outp[i]);
		}
		return sk_err(err, r, "credential helper %s: pipe: %s", prog, strerror(-r));
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	char verb[] = "get";
	char *argv[] = { prog, verb, NULL };
	r = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outp[1]);
	if (r != 0) {
		close(in[1]);
		close(outp[0]);
		return sk_err(err, -r, "credential helper %s: cannot run it (%s); install it on PATH or remove it from the docker config",
		              prog, strerror(r));
	}
	/* The host is a short line: the pipe buffer takes it whole. */
	int wr = write_all_close(in[1], host, strlen(host));
	for (;;) {
		ssize_t n = read(outp[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (sk_buf_append(&b, chunk, (size_t)n) < 0) {
			kill(pid, SIGKILL);
			break;
		}
	}
	close(outp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (wr < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		bool none = b.data && strstr(b.data, "credentials not found");
		sk_buf_free(&b);
		if (none)
			return 0; /* the helper knows nothing of this host */
		return sk_err(err, -EACCES, "credential helper %s: \"get\" for %s failed (exit %d); check the helper with `%s get`",
		              prog, host, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), prog);
	}
	r = b.data ? parse_object(b.data, b.len, AUTH_FIELD_MAX * 2, &root) : -EINVAL;
	if (b.data)
		explicit_bzero(b.data, b.len);
	sk_buf_free(&b);
	const char *user = r == 0 ? str_member(root, "Username") : NULL, *secret = r == 0 ? str_member(root, "Secret") : NULL;
	if (!user || !secret)
		return sk_err(err, -EINVAL, "credential helper %s: its answer is not JSON with string Username and Secret", prog);
	if (!(out->username = strdup(user)) || !(out->password = strdup(secret))) {
		auth_cred_clear(out);
		return sk_err(err, -ENOMEM, "credential helper %s: out of memory", prog);
	}
	return 0;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A value at *pp: a token or a quoted string (backslash escapes one
 * character). Written to dst (size bytes). Returns 0, or -EINVAL when
 * malformed or too long. */
static int read_value(const char **pp, char *dst, size_t size)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return -EINVAL;
			if (*p == '\\' && *++p == '\0')
				return -EINVAL;
			if ((unsigned char)*p < 0x20 || *p == 0x7f || n + 1 >= size)
				return -EINVAL;
			dst[n++] = *p;
		}
		p++;
	} else {
		for (; sk_http_tchar((unsigned char)*p) || *p == '/' || *p == '='; p++) {
			if (n + 1 >= size)
				return -EINVAL;
			dst[n++] = *p;
		}
		if (n == 0)
			return -EINVAL;
	}
	dst[n] = '\0';
	*pp = p;
	return 0;
}

int auth_challenge_parse(const char *value, struct auth_challenge *out)
{
	const char *p = skip_ws(value);
	size_t n = 0;
	char name[32], scheme[16];

	memset(out, 0, sizeof(*out));
	while (sk_http_tchar((unsigned char)p[n]))
		n++;
	if (n == 0 || n >= sizeof(scheme))
		return -EINVAL;
	memcpy(scheme, p, n);
	scheme[n] = '\0';
	p = skip_ws(p + n);
	if (strcasecmp(scheme, "Basic") == 0)
		out->scheme = AUTH_BASIC;
	else if (strcasecmp(scheme, "Bearer") == 0)
		out->scheme = AUTH_BEARER;
	/* auth-params: name = value, separated by commas; the first param of a
	 * second challenge (a token followed by a space) ends the first. */
	while (*p) {
		size_t k = 0;
		char *dst = NULL, scratch[AUTH_FIELD_MAX];
		if (*p == ',') {
			p = skip_ws(p + 1);
			continue;
		}
		while (sk_http_tchar((unsigned char)p[k]))
			k++;
		if (k == 0 || k >= sizeof(name))
			return -EINVAL;
		memcpy(name, p, k);
		name[k] = '\0';
		p = skip_ws(p + k);
		if (*p != '=')
			break; /* the next challenge's scheme */
		p = skip_ws(p + 1);
		if (strcasecmp(name, "realm") == 0)
			dst = out->realm;
		else if (strcasecmp(name, "service") == 0)
			dst = out->service;
		else if (strcasecmp(name, "scope") == 0)
			dst = out->scope;
		if (read_value(&p, dst ? dst : scratch, AUTH_FIELD_MAX) < 0)
			return -EINVAL;
		p = skip_ws(p);
		if (*p && *p != ',')
			return -EINVAL;
	}
	if (out->scheme == AUTH_BEARER && !out->realm[0])
		return -EINVAL;
	return 0;
}
