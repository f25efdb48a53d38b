/* What the pieces of the REST client share (see client.h for the API): one
 * request in flight (struct kube_req), a timer, the client itself, and the
 * functions one piece offers the others.
 *
 *   client.c        setup, the request queue and rate limiter, the event loop, timers
 *   client-auth.c   credentials: bearer tokens (static, file, exec plugin), client certificates
 *   client-status.c HTTP statuses and failed transfers as errno values and messages
 *
 * Private to controller/kube. */
#ifndef SPINKUBE_CONTROLLER_KUBE_CLIENT_INTERNAL_H
#define SPINKUBE_CONTROLLER_KUBE_CLIENT_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"
#include "controller/kube/client.h"
#include "controller/kube/config.h"

struct kube_req {
	int64_t id;
	struct kube_client *c;
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	char *method;
	char *body;
	size_t body_len;
	char *content_type;
	bool stream;
	long stall_ms;
	kube_chunk_fn chunk;
	kube_done_fn done;
	void *ud;
	struct kube_response resp;
	struct sk_buf pending; /* stream bytes not yet handed to chunk */
	bool paused;
	int64_t last_byte_ms;  /* streams: when the last byte (or the start) was */
	int write_error;       /* set when the write callback aborted */
	bool retried_auth;
	char errbuf[CURL_ERROR_SIZE];
	struct kube_req *prev, *next;
};

struct kube_timer {
	int64_t id;
	int64_t due_ms;
	kube_timer_fn fire;
	void *ud;
	struct kube_timer *next;
};

struct kube_fd_watch {
	int fd;
	short events;
	kube_fd_fn fn;
	void *ud;
};

struct kube_client {
	const struct kube_config *cfg;
	struct kube_client_opts opts;
	CURLM *multi;
	char *base_url;            /* scheme://host:port[/prefix], host maybe tls-server-name */
	struct curl_slist *connect_to;
	char user_agent[128];

	/* Credentials that change: token file contents, exec plugin output. */
	char *token;
	struct timespec token_mtime;
	ino_t token_ino;
	off_t token_size;
	struct kube_exec_result exec;
	bool exec_valid;

	double tokens; /* rate limiter bucket */
	int64_t refill_ms;

	struct kube_req *pending_head, *pending_tail; /* waiting for the rate limiter */
	struct kube_req *active;                      /* started */
	size_t n_pending, n_active;
	size_t n_running;      /* active requests that are not streams */
	struct kube_timer *timers;                    /* sorted by due_ms */
	int64_t next_id;
	long connects;
	struct kube_fd_watch fds[KUBE_CLIENT_MAX_FDS]; /* watched beside curl's */
	size_t nfds;
	kube_request_observer_fn observe;
	void *observe_ud;
};

/* --- client-auth.c --------------------------------------------------------------- */

/* Set the credential options of one transfer: the exec plugin's output
 * (run again when missing or about to expire), else the token file (re-read
 * when it changed), else the static token; and the client certificate. */
int kube_client_apply_credentials(struct kube_client *c, struct kube_req *q, struct sk_error *err);
/* Drop cached credentials after a 401 so the next request fetches new ones.
 * Returns true when there is something that could change. */
bool kube_client_invalidate_credentials(struct kube_client *c);

/* --- client-status.c ------------------------------------------------------------- */

/* Map a failed transfer to an errno and a message that names the server. */
int kube_client_transport_error(struct kube_client *c, struct kube_req *q, CURLcode cc, struct sk_error *err);

#endif
