/* libFuzzer target: any text as containerd's main configuration, as
 * MicroK8s' template and as a k3s template through the node installer's
 * edits (node-installer/edit.c). Nothing may crash, leak or hang; every
 * message is one line; every TOML result parses, names the drop-in or the
 * shim, and a second edit of it changes nothing; the import taken out again
 * still parses; taking the block out of
 * an appended result gives the input back (plus at most the newline the
 * append added). */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/escape.h"
#include "common/toml.h"
#include "node-installer/edit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SHIM   "/opt/spinkube/bin/containerd-shim-spin-v2"
#define DROPIN "/etc/containerd/conf.d/spinkube-c-spin.toml"

static void check_toml(const char *text)
{
	json_object *tree = NULL;
	if (sk_toml_parse(text, strlen(text), "out", &tree, NULL) < 0)
		__builtin_trap();
	json_object_put(tree);
}

static void one_line(const struct sk_error *err)
{
	if (!sk_is_one_line(err->message))
		__builtin_trap();
}

/* remove(appended) is the input, or the input and one newline. */
static void check_removal(const char *in, size_t size, const char *out)
{
	struct sk_error err = {0};
	char *back = NULL;

	if (ni_remove_section(out, strlen(out), "out", &back, &err) < 0 || !back)
		__builtin_trap();
	size_t n = strlen(back);
	/* Only when the input had no block of its own is it a prefix. */
	if (!memmem(in, size, NI_MARK_BEGIN, strlen(NI_MARK_BEGIN)) &&
	    !(n >= size && memcmp(back, in, size) == 0 &&
	      (n == size || (n == size + 1 && back[size] == '\n'))))
		__builtin_trap();
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct sk_error err = {0};
	char *out = NULL, *again = NULL;
	int version = 0;

	if (ni_containerd_main(in, size, "main.toml", DROPIN, &version, &out, &err) == 0) {
		if (version != 2 && version != 3)
			__builtin_trap();
		if (out) {
			check_toml(out);
			if (ni_containerd_main(out, strlen(out), "main.toml", DROPIN, &version, &again,
			                       &err) < 0 ||
			    again)
				__builtin_trap();
			char *back = NULL;
			if (ni_containerd_unimport(out, strlen(out), "main.toml", DROPIN, &back, &err) < 0 ||
			    !back)
				__builtin_trap();
			check_toml(back);
			free(back);
			free(out);
			out = NULL;
		}
	}
	one_line(&err);

	if (ni_append_section(in, size, "tmpl.toml", NI_FORMAT_TOML, 0, SHIM, &out, &err) == 0 && out) {
		check_toml(out);
		if (ni_append_section(out, strlen(out), "tmpl.toml", NI_FORMAT_TOML, 0, SHIM, &again, &err) <
		        0 ||
		    again)
			__builtin_trap();
		check_removal(in, size, out);
		free(out);
		out = NULL;
	}
	one_line(&err);

	if (ni_append_section(in, size, "config.toml.tmpl", NI_FORMAT_TEMPLATE, 2, SHIM, &out, &err) == 0 &&
	    out) {
		if (!strstr(out, SHIM))
			__builtin_trap();
		if (ni_append_section(out, strlen(out), "config.toml.tmpl", NI_FORMAT_TEMPLATE, 2, SHIM,
		                      &again, &err) < 0 ||
		    again)
			__builtin_trap();
		check_removal(in, size, out);
		free(out);
		out = NULL;
	}
	one_line(&err);

	if (ni_remove_section(in, size, "any", &out, &err) == 0)
		free(out);
	one_line(&err);
	return 0;
}
