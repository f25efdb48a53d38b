/* WAGI hog: allocates 1 MiB blocks and writes every page of each, until
 * malloc fails (linear memory cannot grow) or ?mib=N is reached. It reports
 * how far it got: 200 "allocated N MiB" when it reached N, 500 "malloc failed
 * after N MiB" otherwise (if the runtime lets it run that far). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgi.h"

/* Where each block ends up, so that the compiler cannot drop the malloc and
 * the writes as unobservable. */
static void *volatile last_block;

int main(void)
{
	long limit = query_long("mib", -1), mib = 0;

	while (limit < 0 || mib < limit) {
		char *p = malloc(1 << 20);
		if (!p) {
			printf("Status: 500 Internal Server Error\nContent-Type: text/plain\n\n"
			       "malloc failed after %ld MiB\n",
			       mib);
			return 0;
		}
		for (size_t i = 0; i < (1 << 20); i += 4096)
			p[i] = (char)i | 1;
		last_block = p;
		mib++;
	}
	printf("Content-Type: text/plain\n\nallocated %ld MiB\n", mib);
	return 0;
}
