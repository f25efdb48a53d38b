/* WAGI status: CGI status handling.
 *   (default)        Status: 201 Created, X-Test: 1, a body
 *   ?mode=redirect   Location only, which CGI turns into 302
 *   ?mode=teapot     Status: 418 with a reason and no Content-Type */
#include <stdio.h>
#include <string.h>

#include "cgi.h"

int main(void)
{
	char mode[32];

	if (!query_param("mode", mode, sizeof(mode)))
		mode[0] = '\0';
	if (!strcmp(mode, "redirect"))
		fputs("Location: /hello\n\n", stdout);
	else if (!strcmp(mode, "teapot"))
		fputs("Status: 418 I'm a teapot\n\nshort and stout\n", stdout);
	else
		fputs("Status: 201 Created\nContent-Type: text/plain\nX-Test: 1\n\ncreated\n", stdout);
	return 0;
}
