/* libFuzzer target: a guest's fermyon:spin/mysql address (outside input:
 * any bytes a component passes to open) through wh_mysql_url_parse, and so
 * db-url.c's parser. Nothing may crash, leak or hang; an address taken has
 * a host within the cap and of the allowed characters, a port in range and
 * parts within their cap without NUL; a refusal is one line with a
 * negative code, and never quotes the password (an "s3cr3t" before the
 * last '@' of the authority, and nowhere after it). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"
#include "shim-bridge/wasi/mysql-conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_part(const char *s)
{
	if (s && strlen(s) > WH_DB_URL_PART_MAX)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wh_mysql_url m = {0};
	struct sk_error err = {0};
	int r;

	if (size > WH_DB_URL_MAX + 16)
		return 0;
	r = wh_mysql_url_parse((const char *)data, size, &m, &err);
	if (r == 0) {
		const char *h = m.u.host;
		size_t hl = strlen(h);
		if (hl == 0 || hl > WH_DB_URL_HOST_MAX || m.u.port < 1 || m.u.port > 65535 ||
		    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:") != hl ||
		    m.u.n_params > WH_DB_URL_PARAMS_MAX)
			__builtin_trap();
		check_part(m.u.user);
		check_part(m.u.password);
		check_part(m.u.database);
		for (size_t i = 0; i < m.u.n_params; i++) {
			check_part(m.u.params[i].key);
			check_part(m.u.params[i].value);
		}
	} else if (r != err.code || err.message[0] == '\0' || !sk_is_one_line(err.message)) {
		__builtin_trap();
	} else if (size > 8 && memcmp(data, "mysql://", 8) == 0) {
		/* the authority is up to the first '/' or '?'; the password sits
		 * before its last '@' */
		const char *a = (const char *)data + 8, *end = (const char *)data + size, *ae = a, *at = NULL;
		for (; ae < end && *ae != '/' && *ae != '?'; ae++)
			if (*ae == '@')
				at = ae;
		/* (quoting the same text from elsewhere, a query key, is fine) */
		if (at && memmem(a, (size_t)(at - a), "s3cr3t", 6) &&
		    !memmem(at, (size_t)(end - at), "s3cr3t", 6) && strstr(err.message, "s3cr3t"))
			__builtin_trap();
	}
	wh_mysql_url_clear(&m);
	return 0;
}
