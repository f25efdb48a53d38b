/* WAGI trap: writes a complete-looking response, then traps. The runtime must
 * answer 500 and not pass the partial output on as a success. */
#include <stdio.h>

int main(void)
{
	fputs("Content-Type: text/plain\n\nbefore the trap\n", stdout);
	fflush(stdout);
	fputs("wagi trap: about to trap\nsecond line\n", stderr);
	__builtin_trap();
}
