/* libFuzzer target: a WAGI guest's stdout. The parser must accept or refuse
 * it cleanly: a status in range, the body inside the input, headers within
 * the caps and free of CR/LF; and argv building from the same bytes must
 * stay within its cap. No crash, leak or unbounded memory. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/http/cgi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_output(const char *out, size_t size)
{
	struct cgi_response r;
	struct sk_error err = { 0 };
	int rc = cgi_parse_output(out, size, &r, &err);

	if (rc < 0) {
		if ((rc != -EBADMSG && rc != -E2BIG && rc != -ENOMEM) || !err.message[0])
			abort();
		return;
	}
	if (r.status < 100 || r.status > 599 || r.body < out || r.body + r.body_len != out + size ||
	    r.n_headers > CGI_MAX_HEADERS)
		abort();
	for (size_t i = 0; i < r.n_headers; i++)
		if (!r.headers[i].name[0] || strpbrk(r.headers[i].name, "\r\n:") || strpbrk(r.headers[i].value, "\r\n") ||
		    strlen(r.headers[i].value) != r.headers[i].value_len)
			abort();
	cgi_response_free(&r);
}

/* Up to the first NUL: the argv template; the rest (NUL-free): the query. */
static void check_argv(const char *in, size_t size)
{
	char *tmpl = strndup(in, size);
	const char *nul = memchr(in, '\0', size);
	char *query = nul ? strndup(nul + 1, size - (size_t)(nul + 1 - in)) : strdup("a&b");
	struct cgi_strv argv = { 0 };

	if (tmpl && query && cgi_build_argv(tmpl, "/p", query, 4096, &argv, NULL) == 0) {
		size_t total = 0;
		for (size_t i = 0; i < argv.n; i++)
			total += strlen(argv.v[i]) + 1;
		if (total > 4096 + 1 || argv.v[argv.n] != NULL)
			abort();
		cgi_strv_free(&argv);
	}
	free(tmpl);
	free(query);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy, so reads past the end are caught */
	char *out = malloc(size ? size : 1);

	if (!out)
		return 0;
	memcpy(out, data, size);
	check_output(out, size);
	check_argv(out, size);
	free(out);
	return 0;
}
