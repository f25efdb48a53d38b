/* WAGI badcgi: a body with no CGI headers and no blank line. */
#include <stdio.h>

int main(void)
{
	fputs("this is not a CGI response\n", stdout);
	return 0;
}
