/* WAGI bigout: ?mib=N (default 1) MiB of body, a repeating line pattern so
 * that truncation and reordering show. */
#include <stdio.h>
#include <string.h>

#include "cgi.h"

int main(void)
{
	static char chunk[65536];
	long mib = query_long("mib", 1);

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (i % 64 == 63) ? '\n' : (char)('a' + (i / 64) % 26);
	fputs("Content-Type: application/octet-stream\n\n", stdout);
	fflush(stdout);
	for (long i = 0; i < mib * 16; i++)
		if (write_all(chunk, sizeof(chunk)))
			return 1;
	return 0;
}
