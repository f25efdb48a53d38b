/* The event publisher (see shim.h): one thread sends the queued task events
 * to containerd in order. A send that fails (containerd restarting) drops
 * the connection and is tried again on a new one, every 200 ms, for at
 * most 60 s per event; then the event is logged and dropped (containerd
 * asks the shim for State when it comes back). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "shim-bridge/shim/events.h"
#include "shim-bridge/shim/shim.h"

struct shim_event {
	struct shim_event *next;
	const char *topic;     /* static */
	const char *type_name; /* static (the descriptor's) */
	int64_t time_ns;
	size_t len;
	uint8_t data[];
};

#define PUBLISH_RETRY_MS 200
#define PUBLISH_GIVE_UP_MS 60000
#define PUBLISH_CALL_MS 5000

void shim_publish(struct shim *s, const char *topic, const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	struct shim_event *e = malloc(sizeof(*e) + n + 1);

	if (!e) {
		log_error("event dropped", "topic=%s reason=\"out of memory\"", topic);
		return;
	}
	e->next = NULL;
	e->topic = topic;
	e->type_name = msg->descriptor->name;
	e->time_ns = shim_now_ns();
	e->len = protobuf_c_message_pack(msg, e->data);
	pthread_mutex_lock(&s->ev_mu);
	if (s->ev_tail)
		s->ev_tail->next = e;
	else
		s->ev_head = e;
	s->ev_tail = e;
	pthread_cond_signal(&s->ev_cond);
	pthread_mutex_unlock(&s->ev_mu);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Send e, reconnecting as needed. Returns 0, or -ETIMEDOUT after giving up
 * (or when stop is set and the deadline passed). */
static int send_one(struct shim *s, struct sk_ttrpc_client **c, const struct shim_event *e, int64_t deadline_ns)
{
	struct sk_error err = { 0 };

	for (;;) {
		if (!*c && sk_ttrpc_client_connect(s->ttrpc_address, c, &err) < 0)
			*c = NULL;
		if (*c && sk_events_forward_packed(*c, s->ns, e->topic, e->type_name, e->data, e->len, e->time_ns,
						   PUBLISH_CALL_MS, &err) == 0)
			return 0;
		sk_ttrpc_client_free(*c);
		*c = NULL;
		if (shim_now_ns() >= deadline_ns) {
			char q[768];
			log_error("event dropped", "topic=%s reason=%s", e->topic, log_quote(err.message, q, sizeof(q)));
			return -ETIMEDOUT;
		}
		sleep_ms(PUBLISH_RETRY_MS);
	}
}

static void *publisher(void *ud)
{
	struct shim *s = ud;
	struct sk_ttrpc_client *c = NULL;
	int64_t stop_deadline = 0;

	pthread_mutex_lock(&s->ev_mu);
	for (;;) {
		while (!s->ev_head && !s->ev_stop)
			pthread_cond_wait(&s->ev_cond, &s->ev_mu);
		if (!s->ev_head)
			break;
		struct shim_event *e = s->ev_head;
		s->ev_head = e->next;
		if (!s->ev_head)
			s->ev_tail = NULL;
		if (s->ev_stop && !stop_deadline)
			stop_deadline = shim_now_ns() + 2000000000LL;
		int64_t deadline = stop_deadline ? stop_deadline : shim_now_ns() + PUBLISH_GIVE_UP_MS * 1000000LL;
		pthread_mutex_unlock(&s->ev_mu);
		(void)send_one(s, &c, e, deadline);
		free(e);
		pthread_mutex_lock(&s->ev_mu);
	}
	pthread_mutex_unlock(&s->ev_mu);
	sk_ttrpc_client_free(c);
	return NULL;
}

int shim_publish_start(struct shim *s, struct sk_error *err)
{
	pthread_mutex_init(&s->ev_mu, NULL);
	pthread_cond_init(&s->ev_cond, NULL);
	int r = pthread_create(&s->pub_thread, NULL, publisher, s);
	return r ? sk_err(err, -r, "cannot start the event publisher: %s", strerror(r)) : 0;
}

void shim_publish_stop(struct shim *s)
{
	pthread_mutex_lock(&s->ev_mu);
	s->ev_stop = true;
	pthread_cond_signal(&s->ev_cond);
	pthread_mutex_unlock(&s->ev_mu);
	pthread_join(s->pub_thread, NULL);
}
