/* Where things are at the top level of a TOML text: the span of the value
 * of `imports`, the line after `version`, the first [table] line. Only for
 * text the TOML parser (common/toml.h) has accepted: the scanner steps
 * over strings, arrays, inline tables and comments, and trusts the rest.
 * Pure; nothing is allocated. */
#ifndef SPINKUBE_NODE_INSTALLER_SCAN_H
#define SPINKUBE_NODE_INSTALLER_SCAN_H

#include <stdbool.h>
#include <stddef.h>

struct ni_toplevel {
	bool has_imports;
	size_t imports_start, imports_end; /* the value's span, [start, end) */
	bool has_version;
	size_t version_next; /* the start of the line after `version` */
	size_t first_header; /* the start of the first [table] line, or the length */
};

void ni_scan_toplevel(const char *t, size_t len, struct ni_toplevel *tl);

#endif
