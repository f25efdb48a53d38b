/* WAGI loop: never returns, for request timeouts (epoch interruption). */
#include <stdio.h>

int main(void)
{
	volatile unsigned long spins = 0;

	fputs("Content-Type: text/plain\n\n", stdout);
	fflush(stdout);
	for (;;)
		spins++;
}
