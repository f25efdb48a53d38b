/* WAGI files: serves the files the component maps in.
 *   ?path=/FILE   prints the file (text/plain)
 *   ?path=/DIR    lists the directory, one "file NAME" or "dir NAME" per line,
 *                 sorted
 * Missing paths answer 404, anything else 500, each with the errno text. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgi.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int fail(const char *path, int err)
{
	printf("Status: %s\nContent-Type: text/plain\n\n%s: %s\n",
	       err == ENOENT ? "404 Not Found" : "500 Internal Server Error", path, strerror(err));
	return 0;
}

static int list_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return fail(path, errno);
	while ((e = readdir(d))) {
		char full[4096];
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				return 1;
		}
		char line[512];
		snprintf(line, sizeof(line), "%s %s",
		         stat(full, &st) == 0 && S_ISDIR(st.st_mode) ? "dir" : "file", e->d_name);
		names[n++] = strdup(line);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	printf("Content-Type: text/plain\n\n");
	for (size_t i = 0; i < n; i++)
		printf("%s\n", names[i]);
	return 0;
}

int main(void)
{
	char path[1024];
	struct stat st;
	FILE *f;
	char buf[16384];
	size_t n;

	if (!query_param("path", path, sizeof(path)))
		snprintf(path, sizeof(path), "/");
	if (stat(path, &st) != 0)
		return fail(path, errno);
	if (S_ISDIR(st.st_mode))
		return list_dir(path);
	f = fopen(path, "rb");
	if (!f)
		return fail(path, errno);
	printf("Content-Type: text/plain\n\n");
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	return 0;
}
