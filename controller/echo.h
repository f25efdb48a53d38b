/* Waiting for the echo of a write: after we apply an object, its informer
 * brings the new copy a moment later. Until then the cache still shows the
 * old one, and a pass that compared against it would send the same apply
 * again. echo_decide says what a pass should do with an object whose
 * desired hash it knows, given the hash the cache holds and the hash we last
 * sent and when. Pure: no I/O, time passed in. */
#ifndef SPINKUBE_CONTROLLER_ECHO_H
#define SPINKUBE_CONTROLLER_ECHO_H

#include <stdint.h>

/* How long a sent apply waits for its echo before it is sent again (the
 * object was deleted meanwhile, or the informer lost the event). */
#define ECHO_WAIT_MS 10000

enum echo_action {
	ECHO_IN_PLACE, /* the cache holds what we want: nothing to send */
	ECHO_SEND,     /* send the apply */
	ECHO_WAIT,     /* the same apply is on its way: look again after *wait_ms */
};

/* want: the desired hash. cached: the hash of the cached copy, or NULL when
 * there is none. sent: the hash last sent, or NULL; sent_ms: when. On
 * ECHO_WAIT, *wait_ms (when wait_ms is not NULL) gets the time left. */
enum echo_action echo_decide(const char *want, const char *cached, const char *sent, int64_t sent_ms,
			     int64_t now_ms, long *wait_ms);

#endif
