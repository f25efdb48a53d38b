/* Internals shared by server.c (lifecycle, listener, workers, event loop),
 * conn.c (one connection's state machine) and response.c (serialising
 * responses). Not installed; nothing outside shim-bridge/http includes it.
 *
 * Threading: everything in struct conn and most of struct http_server is
 * touched only by the network thread. A connection handed to a worker
 * (phase CONN_BUSY) is touched by that worker only (its req and resp; for a
 * streaming request also the socket, the staging buffer, the parser and the
 * flags stream.c names) until it comes back through the done list; the
 * queue and done-list mutexes order those hand-overs. Counters are
 * atomics. */
#ifndef SPINKUBE_HTTP_SERVER_INT_H
#define SPINKUBE_HTTP_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "shim-bridge/http/server.h"

#define CONN_IN_CAP (16u * 1024) /* read staging buffer per connection */
#define RESP_MAX_HEAD (64u * 1024)
#define RESP_MAX_HEADERS 100u
#define STAGING_POOL_MAX 256u

enum conn_phase {
	CONN_IDLE,   /* between requests, nothing buffered */
	CONN_HEAD,   /* reading a request head */
	CONN_BODY,   /* reading a request body */
	CONN_BUSY,   /* the request is queued or at a worker */
	CONN_WRITE,  /* writing a response */
	CONN_LINGER, /* error sent, write side shut, discarding input */
};

/* Timer lists: each has one timeout, so appending at the tail keeps it
 * sorted by deadline and expiry only looks at heads. */
enum timer_list { TL_IDLE, TL_HEAD, TL_BODY, TL_WRITE, TL_LINGER, TL_COUNT, TL_NONE = -1 };

struct conn {
	struct http_server *srv;
	int fd;
	enum conn_phase phase;
	struct http_parser parser;
	char *in; /* staging: in[in_off..in_len) read but not fed yet */
	size_t in_off, in_len;
	struct http_request req;
	struct http_response resp;
	struct sk_buf out; /* response head (and 100 Continue) to write */
	size_t out_off;
	const char *wbody; /* body to write after out, borrowed from resp */
	size_t wbody_len, wbody_off;
	bool can_read, can_write; /* edge-triggered readiness we have not used up */
	bool peer_eof, keep_alive, close_after, head_method, dead, at_worker;
	int timer; /* enum timer_list */
	uint64_t deadline;
	struct conn *tprev, *tnext;   /* timer list */
	struct conn *aprev, *anext;   /* every connection */
	struct conn *done_next;       /* done list */
	struct conn *gnext;           /* closed this round, to be freed */
	unsigned local_port;
	char client_addr[64], client_ip[48], local_addr[64];
};

struct timer_head {
	struct conn *head, *tail;
	unsigned timeout_ms;
};

struct http_server {
	struct http_server_config cfg;
	char *listen_copy, *name_copy;
	http_handler_fn handler;
	void *user;
	int lfd, epfd, evfd;
	unsigned port;

	pthread_t net;
	pthread_t *workers;
	unsigned n_workers, n_started;
	bool net_started, joined;
	pthread_mutex_t stop_lock;

	/* request queue (network thread -> workers) */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct conn **ring;
	unsigned qhead, qlen, qcap, idle_workers;
	bool workers_stop;
	atomic_bool abort_jobs;

	/* done list (workers -> network thread) */
	pthread_mutex_t dlock;
	struct conn *done_head, *done_tail;

	/* network thread only */
	struct timer_head timers[TL_COUNT];
	struct conn *all;
	struct conn *graveyard;
	char *pool[STAGING_POOL_MAX]; /* spare staging buffers */
	unsigned pool_n;
	unsigned n_conns;
	uint64_t now_ms;
	bool draining, accept_paused;
	bool closing;         /* shutdown requested, drain at drain_at (shutdown_delay_ms) */
	uint64_t drain_at;
	uint64_t drain_deadline, accept_resume_ms;
	time_t date_sec;
	char date[48];

	atomic_bool drain_requested;
	atomic_uint drain_ms;
	int result;

	atomic_uint_fast64_t st_requests, st_4xx, st_5xx, st_herr, st_busy, st_rconns, st_active,
		st_in_flight;
};

/* conn.c */
struct conn *conn_new(struct http_server *srv, int fd);
void conn_run(struct conn *c);
void conn_close(struct conn *c);
void conn_reap(struct http_server *srv);
void conn_free(struct conn *c);
void conn_job_done(struct conn *c);
void conn_expire(struct conn *c);
void conn_drain(struct conn *c);

/* server.c */
void timer_set(struct http_server *srv, struct conn *c, int list);
void timer_clear(struct http_server *srv, struct conn *c);
int server_enqueue(struct http_server *srv, struct conn *c);
void server_count_response(struct http_server *srv, int status);
const char *server_date(struct http_server *srv);

/* response.c */
void response_init(struct http_response *r, size_t max_body);
void response_reset(struct http_response *r);
void response_free(struct http_response *r);
struct response_meta {
	int version_minor;
	bool keep_alive;
	bool head_method;
	const char *date;
	const char *server_name;
};
int response_serialize(struct sk_buf *out, struct http_response *r, const struct response_meta *m,
		       size_t *body_to_send);
int response_simple(struct http_response *r, int status, const char *text);

#endif
