/* Token files and the other files a kubeconfig or a service account names:
 * regular files only, capped, and a token trimmed and checked to be one
 * line of printable text. */
#include "controller/kube/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "controller/kube/config-internal.h"

bool kc_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int kc_read_regular(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	return sk_read_file(path, max, out, len);
}

const char *kc_read_error(int r)
{
	return r == -EINVAL ? "not a regular file" : strerror(-r);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int kc_read_token(const char *path, const char *label, char **out, struct sk_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0, start = 0;
	int r;

	r = kc_read_regular(path, KUBE_CONFIG_MAX_TOKEN, &text, &len);
	if (r == -E2BIG)
		return sk_err(err, r, "%s %s is larger than %u KiB", label, path,
		              KUBE_CONFIG_MAX_TOKEN >> 10);
	if (r < 0)
		return sk_err(err, r, "%s %s: cannot read: %s", label, path, kc_read_error(r));
	while (len > 0 && is_blank(text[len - 1]))
		len--;
	while (start < len && is_blank(text[start]))
		start++;
	text[len] = '\0';
	if (start == len)
		return sk_err(err, -ENODATA, "%s %s is empty", label, path);
	if (strlen(text + start) != len - start || kc_has_control(text + start))
		return sk_err(err, -EINVAL, "%s %s holds control characters (one token expected)", label,
		              path);
	memmove(text, text + start, len - start + 1);
	*out = text;
	text = NULL;
	return 0;
}

int kube_read_token_file(const char *path, char **out, struct sk_error *err)
{
	return kc_read_token(path, "token file", out, err);
}
