#include "controller/echo.h"

#include <string.h>

enum echo_action echo_decide(const char *want, const char *cached, const char *sent, int64_t sent_ms,
			     int64_t now_ms, long *wait_ms)
{
	if (cached && strcmp(cached, want) == 0)
		return ECHO_IN_PLACE;
	/* A clock that went back (or a stamp from the future) counts as
	 * expired, so a bad stamp can never hold an apply back for long. */
	if (sent && strcmp(sent, want) == 0 && now_ms >= sent_ms && now_ms - sent_ms < ECHO_WAIT_MS) {
		if (wait_ms)
			*wait_ms = (long)(ECHO_WAIT_MS - (now_ms - sent_ms));
		return ECHO_WAIT;
	}
	return ECHO_SEND;
}
