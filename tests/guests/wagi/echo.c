/* WAGI echo: reports what the runtime handed the module, one item per line,
 * so that tests can parse it:
 *
 *   arg N VALUE            for each argv entry
 *   env NAME=VALUE         for each environment variable, sorted by name
 *   body-bytes N           length of stdin
 *   body-fnv1a64 HEX       FNV-1a 64 of stdin (16 lowercase hex digits)
 *   body                   marker; exactly N bytes of stdin follow
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgi.h"

extern char **environ;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	size_t cap = 64 * 1024, len = 0, nenv = 0;
	char *body = malloc(cap);
	uint64_t h = 14695981039346656037ull;

	if (!body)
		return 1;
	for (;;) {
		if (len == cap) {
			char *nb = realloc(body, cap * 2);
			if (!nb)
				return 1;
			body = nb;
			cap *= 2;
		}
		ssize_t n = read(STDIN_FILENO, body + len, cap - len);
		if (n < 0)
			return 1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)body[i];
		h *= 1099511628211ull;
	}

	while (environ && environ[nenv])
		nenv++;
	char **env = calloc(nenv + 1, sizeof(*env));
	if (!env)
		return 1;
	memcpy(env, environ, nenv * sizeof(*env));
	qsort(env, nenv, sizeof(*env), cmp_str);

	printf("Content-Type: text/plain\n\n");
	for (int i = 0; i < argc; i++)
		printf("arg %d %s\n", i, argv[i]);
	for (size_t i = 0; i < nenv; i++)
		printf("env %s\n", env[i]);
	printf("body-bytes %zu\nbody-fnv1a64 %016llx\nbody\n", len, (unsigned long long)h);
	fflush(stdout);
	return write_all(body, len) ? 1 : 0;
}
