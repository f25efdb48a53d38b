/* Internals shared by server.c (lifecycle, workers, event loop), site.c
 * (listeners: accepting, adding and removing sites), conn.c (one
 * connection's state machine) and response.c (serialising responses). Not installed; nothing outside shim-bridge/http includes it.
 *
 * Threading: everything in struct conn and most of struct http_server is
 * touched only by the network thread. A connection handed to a worker
 * (phase CONN_BUSY) is touched by that worker only (its req and resp; for a
 * streaming request also the socket, the staging buffer, the parser and the
 * flags stream.c names) until it comes back through the done list; the
 * queue and done-list mutexes order those hand-overs. Counters are
 * atomics. The site list is the network thread's too, except that
 * http_server_add_site links a new site under site_lock and a site being
 * removed is handed over through the removal list (site_lock, site_cond). */
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

/* What an epoll tag points at: a connection or a site's listener (the
 * first member of both); the eventfd and shutdown_fd have tags of their
 * own. */
enum ep_kind { EP_CONN = 1, EP_SITE };

/* Counters kept per server and per site (http_server_stats). */
struct counters {
	atomic_uint_fast64_t requests, r4xx, r5xx, herr, busy, rconns, active, in_flight;
};

/* One listener and what serves it (http_server_add_site; the server's own
 * listener from its config is a site too). */
struct http_site {
	enum ep_kind kind; /* EP_SITE */
	struct http_server *srv;
	int lfd;
	unsigned port;
	http_handler_fn handler;
	void *user;
	bool (*stream_request)(void *user, const struct http_request *req);
	unsigned max_conns, max_in_flight; /* 0: only the server's caps */
	struct http_site *prev, *next;     /* srv->sites */

	/* network thread only */
	unsigned n_conns; /* open */
	unsigned n_live;  /* allocated (open, or closed and not yet freed) */
	bool accept_paused;
	uint64_t accept_resume_ms;
	bool removing;
	uint64_t remove_deadline;

	/* removal hand-over, guarded by srv->site_lock */
	struct http_site *rm_next;
	bool rm_queued, removed;
	unsigned rm_ms;
	int result;

	atomic_bool abort_jobs; /* queued requests get 503 instead of the handler */
	atomic_bool cut_now;    /* http_site_cut: the removal's deadline is now */
	struct counters st;
};

/* Timer lists: each has one timeout, so appending at the tail keeps it
 * sorted by deadline and expiry only looks at heads. */
enum timer_list { TL_IDLE, TL_HEAD, TL_BODY, TL_WRITE, TL_LINGER, TL_COUNT, TL_NONE = -1 };

struct conn {
	enum ep_kind kind; /* EP_CONN */
	struct http_server *srv;
	struct http_site *site;
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
	int epfd, evfd;
	struct http_site *main_site; /* from cfg.listen / cfg.listen_fd, or NULL */

	/* sites: linked by add_site under site_lock, else the network thread's */
	pthread_mutex_t site_lock;
	pthread_cond_t site_cond;
	struct http_site *sites;
	struct http_site *rm_head; /* removal requests (site_lock) */
	bool sites_closed;         /* drain began: no new sites (site_lock) */
	bool net_done;             /* the network thread returned (site_lock) */
	unsigned n_paused, n_removing; /* network thread */

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
	unsigned n_conns; /* open */
	unsigned n_live;  /* allocated: open, or closed and not yet freed */
	uint64_t now_ms;
	bool draining;
	bool closing;         /* shutdown requested, drain at drain_at (shutdown_delay_ms) */
	uint64_t drain_at;
	uint64_t drain_deadline;
	time_t date_sec;
	char date[48];

	atomic_bool drain_requested;
	atomic_uint drain_ms;
	int result;

	struct counters st;
};

/* conn.c */
struct conn *conn_new(struct http_site *site, int fd);
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
const char *server_date(struct http_server *srv);
uint64_t server_now_ms(void);
int server_epoll_add(struct http_server *srv, int fd, void *tag);

/* Count on the connection's site and its server. */
#define COUNT(c, field, n) do { \
		atomic_fetch_add_explicit(&(c)->srv->st.field, (n), memory_order_relaxed); \
		atomic_fetch_add_explicit(&(c)->site->st.field, (n), memory_order_relaxed); \
	} while (0)
#define UNCOUNT(c, field, n) do { \
		atomic_fetch_sub_explicit(&(c)->srv->st.field, (n), memory_order_relaxed); \
		atomic_fetch_sub_explicit(&(c)->site->st.field, (n), memory_order_relaxed); \
	} while (0)
void count_response(struct conn *c, int status);

/* site.c */
void site_accept(struct http_site *site);
void site_resume_accepting(struct http_server *srv);
void site_close_listener(struct http_site *site);
void site_take_removals(struct http_server *srv);
void site_check_removals(struct http_server *srv);
uint64_t site_next_deadline(struct http_server *srv);
int site_make(struct http_server *srv, int lfd, const struct http_site_config *cfg, struct http_site **out,
	      struct sk_error *err);
void site_free(struct http_site *site);

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
