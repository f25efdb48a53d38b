#include "cli/creds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"

/* The password: the whole input up to AUTH_FIELD_MAX - 1 bytes, without a
 * final line end (what `echo pw |` adds). */
static int read_password(FILE *in, char **out, struct sk_error *err)
{
	char *buf = malloc(AUTH_FIELD_MAX + 1);
	size_t n;

	if (!buf)
		return sk_err(err, -ENOMEM, "out of memory");
	n = fread(buf, 1, AUTH_FIELD_MAX, in);
	if (n >= AUTH_FIELD_MAX) {
		free(buf);
		return sk_err(err, -E2BIG, "--password-stdin: the password is longer than %d bytes", AUTH_FIELD_MAX - 1);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (n == 0 || memchr(buf, '\0', n)) {
		free(buf);
		return sk_err(err, -EINVAL, "--password-stdin: the password on stdin is empty or holds a NUL byte");
	}
	*out = buf;
	return 0;
}

int creds_resolve(const struct creds_options *o, const struct oci_ref *ref, struct auth_cred *out,
                  struct sk_error *err)
{
	char path[4096];
	_cleanup_free_ char *text = NULL;
	struct auth_cred c = { 0 };
	size_t len;
	int r;

	*out = (struct auth_cred){ 0 };
	if (o->username) {
		if (!(c.username = strdup(o->username)))
			return sk_err(err, -ENOMEM, "out of memory");
		if (o->password_in && (r = read_password(o->password_in, &c.password, err)) < 0) {
			auth_cred_clear(&c);
			return r;
		}
		*out = c;
		return 0;
	}
	if (o->config)
		(void)snprintf(path, sizeof(path), "%s", o->config);
	else if (auth_config_path(path, sizeof(path)) < 0)
		return 0;
	if ((r = sk_read_file(path, AUTH_CONFIG_MAX, &text, &len)) < 0) {
		if (r == -ENOENT && !o->config)
			return 0;
		return sk_err(err, r, "docker config %s: %s", path, r == -E2BIG ? "larger than 1 MiB" : strerror(-r));
	}
	if ((r = auth_config_lookup(text, len, path, ref->host, &c, err)) < 0)
		return r;
	if (c.helper[0] && !c.username) {
		/* Docker hands helpers the index URL for Docker Hub, the host otherwise. */
		const char *server = strcmp(ref->host, "docker.io") == 0 ? "https://index.docker.io/v1/" : ref->host;
		if ((r = auth_helper_get(c.helper, server, &c, err)) < 0) {
			auth_cred_clear(&c);
			return r;
		}
	}
	*out = c;
	return 0;
}
