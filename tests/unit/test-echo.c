/* echo_decide: an apply whose echo is on its way is not sent again, but
 * only for ECHO_WAIT_MS, and only when it is the same apply. */
#include "controller/echo.h"
#include "tests/tap.h"

int main(void)
{
	long wait = -1;

	is_int(echo_decide("aaaa", "aaaa", NULL, 0, 1000, &wait), ECHO_IN_PLACE, "cache holds what we want: in place");
	is_int(echo_decide("aaaa", "aaaa", "aaaa", 900, 1000, &wait), ECHO_IN_PLACE,
	       "in place even while a send is remembered");
	is_int(echo_decide("aaaa", NULL, NULL, 0, 1000, &wait), ECHO_SEND, "no cached copy, nothing sent: send");
	is_int(echo_decide("aaaa", "bbbb", NULL, 0, 1000, &wait), ECHO_SEND, "cached copy differs: send");
	wait = -1;
	is_int(echo_decide("aaaa", NULL, "aaaa", 1000, 3500, &wait), ECHO_WAIT, "the same apply sent 2.5 s ago: wait");
	is_int(wait, ECHO_WAIT_MS - 2500, "for the rest of the echo window");
	is_int(echo_decide("aaaa", "bbbb", "aaaa", 1000, 1000, &wait), ECHO_WAIT, "sent just now, cache still old: wait");
	is_int(wait, ECHO_WAIT_MS, "the whole window");
	is_int(echo_decide("cccc", "bbbb", "aaaa", 1000, 1500, &wait), ECHO_SEND,
	       "a different apply than the one sent: send at once");
	is_int(echo_decide("aaaa", NULL, "aaaa", 1000, 1000 + ECHO_WAIT_MS, &wait), ECHO_SEND,
	       "no echo within the window: send again");
	is_int(echo_decide("aaaa", NULL, "aaaa", 5000, 1000, &wait), ECHO_SEND, "a stamp from the future does not hold it back");
	is_int(echo_decide("aaaa", NULL, "aaaa", 1000, 1200, NULL), ECHO_WAIT, "wait_ms may be NULL");
	return tap_done();
}
