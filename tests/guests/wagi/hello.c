/* WAGI hello: the smallest valid CGI response. */
#include <stdio.h>

int main(void)
{
	fputs("Content-Type: text/plain\n\nhello from wagi\n", stdout);
	return 0;
}
