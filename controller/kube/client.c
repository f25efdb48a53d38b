/* The REST client and its event loop (see client.h): setup from a
 * kube_config, the queue of requests behind the rate limiter, starting them
 * on curl's multi handle, streams with backpressure and stall checks,
 * finishing (with one retry after a 401), timers and the blocking call.
 * Credentials are client-auth.c's, errno mapping client-status.c's. */
#include "controller/kube/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/cleanup.h"
#include "controller/kube/client-internal.h"
#include "controller/kube/config.h"
#include "common/json.h"
#include "spinkube-version.h"

/* Bytes a stream may hold between two turns of the loop before curl is asked
 * to pause it; keeps a fast watch from filling memory. */
#define STREAM_PENDING_MAX (1u << 20)
/* libcurl's receive buffer for a request that is not a watch. */
#define REQ_RECV_BUFFER 4096
/* Body of an error response to a stream, kept to decode the Status. */
#define STREAM_ERROR_BODY_MAX (1u << 20)

int64_t kube_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kube_response_clear(struct kube_response *r)
{
	if (!r)
		return;
	sk_buf_free(&r->body);
	if (r->json)
		json_object_put(r->json);
	r->json = NULL;
	r->status = 0;
}

/* --- client ---------------------------------------------------------------------- */

/* Split "https://host:port/prefix" to build the URL curl uses. With
 * tls-server-name, the URL carries that name (so SNI and certificate checks use
 * it) and CONNECT_TO sends the connection to the real host. */
static int setup_server(struct kube_client *c, struct sk_error *err)
{
	const char *server = c->cfg->server;
	const char *tls = c->cfg->tls_server_name;
	_cleanup_free_ char *host = NULL, *port = NULL, *scheme = NULL, *path = NULL;
	CURLU *u = curl_url();
	int r = 0;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, server, 0) != CURLUE_OK) {
		r = sk_err(err, -EINVAL, "%s: server \"%s\" is not a valid URL", c->cfg->origin, server);
		goto out;
	}
	if (!tls || !*tls) {
		c->base_url = strdup(server);
		r = c->base_url ? 0 : -ENOMEM;
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		r = sk_err(err, -EINVAL, "%s: server \"%s\" is not a valid URL", c->cfg->origin, server);
		goto out;
	}
	{
		_cleanup_free_ char *ct = NULL;
		size_t pl = strlen(path);
		while (pl > 0 && path[pl - 1] == '/')
			path[--pl] = '\0';
		if (asprintf(&c->base_url, "%s://%s:%s%s", scheme, tls, port, path) < 0 ||
		    asprintf(&ct, "%s:%s:%s:%s", tls, port, host, port) < 0) {
			r = -ENOMEM;
			goto out;
		}
		c->connect_to = curl_slist_append(NULL, ct);
		if (!c->connect_to)
			r = -ENOMEM;
	}
out:
	curl_url_cleanup(u);
	return r;
}

int kube_client_new(const struct kube_config *cfg, const struct kube_client_opts *opts,
		    struct kube_client **out, struct sk_error *err)
{
	struct kube_client *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return sk_err(err, -ENOMEM, "out of memory");
	c->cfg = cfg;
	if (opts)
		c->opts = *opts;
	if (c->opts.qps <= 0)
		c->opts.qps = 50;
	if (c->opts.burst <= 0)
		c->opts.burst = 100;
	if (c->opts.timeout_ms <= 0)
		c->opts.timeout_ms = 30000;
	if (c->opts.connect_timeout_ms <= 0)
		c->opts.connect_timeout_ms = 10000;
	if (c->opts.max_in_flight <= 0)
		c->opts.max_in_flight = 64;
	if (c->opts.max_body == 0)
		c->opts.max_body = 256u << 20;
	(void)snprintf(c->user_agent, sizeof(c->user_agent), "%s",
		       c->opts.user_agent ? c->opts.user_agent : "spinkube-c/" SPINKUBE_VERSION);
	c->opts.user_agent = NULL;
	c->tokens = c->opts.burst;
	c->refill_ms = kube_now_ms();
	c->next_id = 1;
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		return sk_err(err, -ENOMEM, "curl_multi_init failed");
	}
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
	r = setup_server(c, err);
	if (r < 0) {
		kube_client_free(c);
		return r;
	}
	*out = c;
	return 0;
}

static void req_free(struct kube_req *q)
{
	if (!q)
		return;
	if (q->easy) {
		if (q->c && q->c->multi)
			curl_multi_remove_handle(q->c->multi, q->easy);
		curl_easy_cleanup(q->easy);
	}
	curl_slist_free_all(q->headers);
	free(q->url);
	free(q->method);
	free(q->body);
	free(q->content_type);
	kube_response_clear(&q->resp);
	sk_buf_free(&q->pending);
	free(q);
}

static void list_unlink(struct kube_req **head, struct kube_req **tail, struct kube_req *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		*head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else if (tail)
		*tail = q->prev;
	q->prev = q->next = NULL;
}

void kube_client_free(struct kube_client *c)
{
	struct kube_timer *t;

	if (!c)
		return;
	while (c->active) {
		struct kube_req *q = c->active;
		list_unlink(&c->active, NULL, q);
		req_free(q);
	}
	while (c->pending_head) {
		struct kube_req *q = c->pending_head;
		list_unlink(&c->pending_head, &c->pending_tail, q);
		req_free(q);
	}
	while ((t = c->timers)) {
		c->timers = t->next;
		free(t);
	}
	if (c->multi)
		curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->connect_to);
	free(c->base_url);
	free(c->token);
	kube_exec_result_clear(&c->exec);
	free(c);
}

/* --- transfers ------------------------------------------------------------------ */

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct kube_req *q = userdata;
	size_t n = size * nmemb;
	long status = 0;
	int r;

	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	q->last_byte_ms = kube_now_ms();
	if (q->stream && status >= 200 && status < 300) {
		if (q->pending.len > 0 && q->pending.len + n > STREAM_PENDING_MAX) {
			q->paused = true;
			return CURL_WRITEFUNC_PAUSE;
		}
		r = sk_buf_append(&q->pending, data, n);
	} else {
		r = sk_buf_append(&q->resp.body, data, n);
	}
	if (r < 0) {
		q->write_error = r;
		return 0;
	}
	return n;
}

/* Prepare the curl handle of a request and add it to the multi. */
static int req_start(struct kube_client *c, struct kube_req *q, struct sk_error *err)
{
	int r;

	q->easy = curl_easy_init();
	if (!q->easy)
		return sk_err(err, -ENOMEM, "curl_easy_init failed");
	/* Our bodies are a few KiB: the smallest upload buffer libcurl allows
	 * (16 KiB, default 64 KiB) keeps a burst of requests in flight from
	 * costing 48 KiB more each. */
	curl_easy_setopt(q->easy, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	/* Likewise the receive buffer of a request (16 KiB by default): its
	 * answer is a few KiB, read in a few calls. Watches keep the default:
	 * they carry every event. */
	if (!q->stream)
		curl_easy_setopt(q->easy, CURLOPT_BUFFERSIZE, (long)REQ_RECV_BUFFER);
	curl_slist_free_all(q->headers);
	q->headers = NULL;
	q->errbuf[0] = '\0';
	q->write_error = 0;
	q->paused = false;
	sk_buf_reset(&q->resp.body);
	sk_buf_reset(&q->pending);
	q->resp.status = 0;

	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	if (!h)
		return -ENOMEM;
	q->headers = h;
	if (q->body) {
		_cleanup_free_ char *ct = NULL;
		if (asprintf(&ct, "Content-Type: %s", q->content_type ? q->content_type : "application/json") < 0)
			return -ENOMEM;
		if (!(h = curl_slist_append(q->headers, ct)))
			return -ENOMEM;
		q->headers = h;
	}
	r = kube_client_apply_credentials(c, q, err);
	if (r < 0)
		return r;

	CURL *e = q->easy;
	curl_easy_setopt(e, CURLOPT_URL, q->url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
	if (strcmp(q->method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (q->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(e, CURLOPT_PRIVATE, q);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
			 c->opts.http1_only ? (long)CURL_HTTP_VERSION_1_1 : (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	if (q->stream) {
		/* Stalls are detected by the loop (check_stalls), to the
		 * millisecond; curl's low-speed check works in whole seconds
		 * over a moving window. */
		if (q->stall_ms <= 0)
			q->stall_ms = 300000;
		q->last_byte_ms = kube_now_ms();
	} else {
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
	}
	if (c->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
	if (c->cfg->proxy_url)
		curl_easy_setopt(e, CURLOPT_PROXY, c->cfg->proxy_url);
	else
		curl_easy_setopt(e, CURLOPT_PROXY, "");
	if (c->cfg->insecure_skip_tls_verify) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->cfg->ca_pem) {
		struct curl_blob b = { .data = c->cfg->ca_pem, .len = c->cfg->ca_pem_len, .flags = CURL_BLOB_COPY };
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
		return sk_err(err, -ENOMEM, "curl_multi_add_handle failed");
	q->prev = NULL;
	q->next = c->active;
	if (c->active)
		c->active->prev = q;
	c->active = q;
	c->n_active++;
	if (!q->stream)
		c->n_running++;
	return 0;
}

/* Start waiting requests as the token bucket allows. Returns the delay until
 * the next token when requests still wait, else -1. */
static long start_pending(struct kube_client *c)
{
	int64_t now = kube_now_ms();

	c->tokens += (double)(now - c->refill_ms) * c->opts.qps / 1000.0;
	if (c->tokens > c->opts.burst)
		c->tokens = c->opts.burst;
	c->refill_ms = now;
	while (c->pending_head && c->tokens >= 1.0 &&
	       (c->pending_head->stream || c->n_running < (size_t)c->opts.max_in_flight)) {
		struct kube_req *q = c->pending_head;
		struct sk_error err = { 0 };
		int r;

		list_unlink(&c->pending_head, &c->pending_tail, q);
		c->n_pending--;
		c->tokens -= 1.0;
		r = req_start(c, q, &err);
		if (r < 0) {
			if (!err.code)
				sk_err(&err, r, "%s %s: cannot start the request", q->method, q->url);
			if (q->done)
				q->done(r, &q->resp, &err, q->ud);
			req_free(q);
		}
	}
	if (!c->pending_head || c->tokens >= 1.0)
		return -1; /* nothing waits, or only for a running request to end */
	return (long)((1.0 - c->tokens) * 1000.0 / c->opts.qps) + 1;
}

static int64_t enqueue(struct kube_client *c, const struct kube_request *req, bool stream, long stall_ms,
		       kube_chunk_fn chunk, kube_done_fn done, void *ud)
{
	struct kube_req *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->c = c;
	q->id = c->next_id++;
	q->stream = stream;
	q->stall_ms = stall_ms;
	q->chunk = chunk;
	q->done = done;
	q->ud = ud;
	q->resp.body = sk_buf_make(stream ? STREAM_ERROR_BODY_MAX : c->opts.max_body);
	q->pending = sk_buf_make(STREAM_PENDING_MAX + CURL_MAX_WRITE_SIZE);
	if (asprintf(&q->url, "%s%s", c->base_url, req->path) < 0) {
		q->url = NULL;
		req_free(q);
		return -ENOMEM;
	}
	q->method = strdup(req->method ? req->method : "GET");
	if (!q->method || (req->content_type && !(q->content_type = strdup(req->content_type)))) {
		req_free(q);
		return -ENOMEM;
	}
	if (req->body) {
		q->body = malloc(req->body_len + 1);
		if (!q->body) {
			req_free(q);
			return -ENOMEM;
		}
		memcpy(q->body, req->body, req->body_len);
		q->body[req->body_len] = '\0';
		q->body_len = req->body_len;
	}
	q->prev = c->pending_tail;
	if (c->pending_tail)
		c->pending_tail->next = q;
	else
		c->pending_head = q;
	c->pending_tail = q;
	c->n_pending++;
	(void)start_pending(c);
	return q->id;
}

int64_t kube_client_do(struct kube_client *c, const struct kube_request *req, kube_done_fn done, void *userdata)
{
	return enqueue(c, req, false, 0, NULL, done, userdata);
}

int64_t kube_client_stream(struct kube_client *c, const struct kube_request *req, long stall_ms,
			   kube_chunk_fn chunk, kube_done_fn done, void *userdata)
{
	return enqueue(c, req, true, stall_ms, chunk, done, userdata);
}

static struct kube_req *find_active(struct kube_client *c, int64_t id)
{
	for (struct kube_req *q = c->active; q; q = q->next)
		if (q->id == id)
			return q;
	return NULL;
}

void kube_client_cancel(struct kube_client *c, int64_t id)
{
	struct kube_req *q = find_active(c, id);

	if (q) {
		list_unlink(&c->active, NULL, q);
		c->n_active--;
		if (!q->stream)
			c->n_running--;
		req_free(q);
		return;
	}
	for (q = c->pending_head; q; q = q->next) {
		if (q->id == id) {
			list_unlink(&c->pending_head, &c->pending_tail, q);
			c->n_pending--;
			req_free(q);
			return;
		}
	}
}

/* End a started request now with error r (its consumer refused the data). */
static void abort_req(struct kube_client *c, struct kube_req *q, int r)
{
	struct sk_error err = { 0 };

	list_unlink(&c->active, NULL, q);
	c->n_active--;
	if (!q->stream)
		c->n_running--;
	curl_multi_remove_handle(c->multi, q->easy);
	sk_err(&err, r, "%s %s: stream aborted: %s", q->method, q->url, strerror(-r));
	if (q->done)
		q->done(r, &q->resp, &err, q->ud);
	req_free(q);
}

/* Hand buffered stream bytes to their chunk callbacks, outside curl's own
 * callbacks so that they may start or cancel requests. */
static void drain_streams(struct kube_client *c)
{
	bool again = true;

	while (again) {
		again = false;
		for (struct kube_req *q = c->active; q; q = q->next) {
			if (!q->stream || (q->pending.len == 0 && !q->paused))
				continue;
			int64_t id = q->id;
			int r = 0;
			if (q->pending.len) {
				struct sk_buf data = q->pending;
				q->pending = sk_buf_make(q->pending.max);
				r = q->chunk ? q->chunk(data.data, data.len, q->ud) : 0;
				sk_buf_free(&data);
				/* The callback may have cancelled this or other requests. */
				q = find_active(c, id);
				if (!q) {
					again = true;
					break;
				}
			}
			if (r < 0) {
				abort_req(c, q, r);
				again = true;
				break;
			} else if (q->paused) {
				q->paused = false;
				curl_easy_pause(q->easy, CURLPAUSE_CONT);
			}
		}
	}
}

/* A transfer finished: decode, retry once after a 401 when credentials can
 * change, and call done. */
static void finish(struct kube_client *c, struct kube_req *q, CURLcode cc)
{
	struct sk_error err = { 0 };
	long status = 0, nconn = 0;
	int r = 0;

	if (q->stream && q->pending.len && q->chunk && cc == CURLE_OK) {
		/* The last bytes of a stream, while the request is still listed, so
		 * that the consumer may cancel it from its callback. */
		int64_t id = q->id;
		struct sk_buf data = q->pending;
		q->pending = sk_buf_make(q->pending.max);
		r = q->chunk(data.data, data.len, q->ud);
		sk_buf_free(&data);
		if (!(q = find_active(c, id)))
			return;
	}
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(q->easy, CURLINFO_NUM_CONNECTS, &nconn);
	if (c->observe)
		c->observe(q->method, cc == CURLE_OK || status >= 400 ? status : 0, c->observe_ud);
	c->connects += nconn;
	list_unlink(&c->active, NULL, q);
	c->n_active--;
	if (!q->stream)
		c->n_running--;
	curl_multi_remove_handle(c->multi, q->easy);
	q->resp.status = status;
	/* A server that refuses a request before reading its body (a 401 on a
	 * POST) may reset the HTTP/2 stream after its answer; the answer is
	 * still the answer. */
	if (cc != CURLE_OK && status >= 400 && !q->stream && !q->write_error &&
	    (cc == CURLE_PARTIAL_FILE || cc == CURLE_HTTP2_STREAM || cc == CURLE_RECV_ERROR ||
	     cc == CURLE_SEND_ERROR || cc == CURLE_HTTP2))
		cc = CURLE_OK;
	if (cc != CURLE_OK) {
		r = kube_client_transport_error(c, q, cc, &err);
	} else if (r < 0) {
		sk_err(&err, r, "%s %s: stream aborted", q->method, q->url);
	} else {
		r = kube_status_error(status, q->resp.body.data, q->resp.body.len, &err);
		if (r == -EKEYREJECTED && !q->retried_auth && kube_client_invalidate_credentials(c)) {
			curl_easy_cleanup(q->easy);
			q->easy = NULL;
			q->retried_auth = true;
			if (req_start(c, q, &err) == 0)
				return;
			r = err.code ? err.code : -EIO;
		}
		if (r == 0 && q->resp.body.len &&
		    sk_json_parse(q->resp.body.data, q->resp.body.len, &q->resp.json, NULL) < 0)
			q->resp.json = NULL;
	}
	if (r < 0 && err.code == 0)
		sk_err(&err, r, "%s %s failed", q->method, q->url);
	if (q->done)
		q->done(r, &q->resp, r < 0 ? &err : NULL, q->ud);
	req_free(q);
}

static long fire_timers(struct kube_client *c)
{
	int64_t now = kube_now_ms();
	struct kube_timer *t;

	while ((t = c->timers) && t->due_ms <= now) {
		c->timers = t->next;
		kube_timer_fn fire = t->fire;
		void *ud = t->ud;
		free(t);
		fire(ud);
		now = kube_now_ms();
	}
	return c->timers ? (long)(c->timers->due_ms - now) : -1;
}

/* Milliseconds until the first open stream passes its stall limit, or -1. */
static long stream_deadline_ms(struct kube_client *c)
{
	int64_t now = kube_now_ms();
	long best = -1;

	for (struct kube_req *q = c->active; q; q = q->next) {
		if (!q->stream || q->paused)
			continue;
		long left = (long)(q->last_byte_ms + q->stall_ms - now);
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best;
}

/* End streams that received no byte for their stall limit. */
static void check_stalls(struct kube_client *c)
{
	int64_t now = kube_now_ms();
	bool again = true;

	while (again) {
		again = false;
		for (struct kube_req *q = c->active; q; q = q->next) {
			if (!q->stream || q->paused || now - q->last_byte_ms < q->stall_ms)
				continue;
			struct sk_error err = { 0 };
			list_unlink(&c->active, NULL, q);
			c->n_active--;
			curl_multi_remove_handle(c->multi, q->easy);
			sk_err(&err, -ETIMEDOUT, "%s %s: no byte for %ld ms; the stream is too slow or stalled",
			       q->method, q->url, q->stall_ms);
			if (q->done)
				q->done(-ETIMEDOUT, &q->resp, &err, q->ud);
			req_free(q);
			again = true; /* the callback may have changed the list */
			break;
		}
	}
}

int kube_client_run(struct kube_client *c, int timeout_ms)
{
	long wait = timeout_ms, t;
	int running = 0, numfds = 0;
	CURLMsg *m;
	int left;

	t = start_pending(c);
	if (t >= 0 && t < wait)
		wait = t;
	if (c->timers) {
		/* An overdue timer means no wait at all. */
		t = (long)(c->timers->due_ms - kube_now_ms());
		if (t < 0)
			t = 0;
		if (t < wait)
			wait = t;
	}
	t = stream_deadline_ms(c);
	if (t >= 0 && t < wait)
		wait = t;
	if (wait < 0)
		wait = 0;
	struct curl_waitfd extra[KUBE_CLIENT_MAX_FDS];
	struct kube_fd_watch seen[KUBE_CLIENT_MAX_FDS];
	size_t nextra = c->nfds;
	for (size_t i = 0; i < nextra; i++) {
		seen[i] = c->fds[i];
		extra[i] = (struct curl_waitfd){ .fd = c->fds[i].fd, .events = c->fds[i].events };
	}
	if (curl_multi_poll(c->multi, extra, (unsigned)nextra, (int)wait, &numfds) != CURLM_OK)
		return -EIO;
	/* A callback may unwatch fds: each is called only while still watched. */
	for (size_t i = 0; i < nextra; i++) {
		if (!extra[i].revents)
			continue;
		for (size_t j = 0; j < c->nfds; j++)
			if (c->fds[j].fd == seen[i].fd && c->fds[j].fn == seen[i].fn && c->fds[j].ud == seen[i].ud) {
				seen[i].fn(seen[i].fd, extra[i].revents, seen[i].ud);
				break;
			}
	}
	if (curl_multi_perform(c->multi, &running) != CURLM_OK)
		return -EIO;
	drain_streams(c);
	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct kube_req *q = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		CURLcode cc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		if (q)
			finish(c, q, cc);
	}
	check_stalls(c);
	(void)fire_timers(c);
	(void)start_pending(c);
	return 0;
}

int kube_client_watch_fd(struct kube_client *c, int fd, short events, kube_fd_fn fn, void *userdata)
{
	size_t i;

	for (i = 0; i < c->nfds && c->fds[i].fd != fd; i++)
		;
	if (i == c->nfds) {
		if (c->nfds == KUBE_CLIENT_MAX_FDS)
			return -ENOSPC;
		c->nfds++;
	}
	c->fds[i] = (struct kube_fd_watch){ .fd = fd, .events = events, .fn = fn, .ud = userdata };
	return 0;
}

void kube_client_unwatch_fd(struct kube_client *c, int fd)
{
	for (size_t i = 0; i < c->nfds; i++)
		if (c->fds[i].fd == fd) {
			c->fds[i] = c->fds[--c->nfds];
			return;
		}
}

void kube_client_observe(struct kube_client *c, kube_request_observer_fn fn, void *userdata)
{
	c->observe = fn;
	c->observe_ud = userdata;
}

void kube_client_wakeup(struct kube_client *c)
{
	curl_multi_wakeup(c->multi);
}

struct sync_call {
	bool done;
	int rc;
	struct kube_response *resp;
	struct sk_error *err;
};

static void sync_done(int rc, struct kube_response *r, const struct sk_error *err, void *ud)
{
	struct sync_call *s = ud;

	s->done = true;
	s->rc = rc;
	/* Move the response out of the request before it is freed. */
	*s->resp = *r;
	r->body = sk_buf_make(r->body.max);
	r->json = NULL;
	if (err && s->err)
		*s->err = *err;
}

int kube_client_call(struct kube_client *c, const struct kube_request *req, struct kube_response *resp,
		     struct sk_error *err)
{
	struct sync_call s = { .resp = resp, .err = err };
	int64_t id;
	int r;

	memset(resp, 0, sizeof(*resp));
	id = kube_client_do(c, req, sync_done, &s);
	if (id < 0)
		return sk_err(err, (int)id, "%s %s: cannot queue the request", req->method, req->path);
	while (!s.done) {
		r = kube_client_run(c, 1000);
		if (r < 0)
			return sk_err(err, r, "event loop failed");
	}
	return s.rc;
}

int64_t kube_client_timer(struct kube_client *c, long delay_ms, kube_timer_fn fire, void *userdata)
{
	struct kube_timer *t = calloc(1, sizeof(*t)), **p;

	if (!t)
		return -ENOMEM;
	t->id = c->next_id++;
	t->due_ms = kube_now_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->fire = fire;
	t->ud = userdata;
	for (p = &c->timers; *p && (*p)->due_ms <= t->due_ms; p = &(*p)->next)
		;
	t->next = *p;
	*p = t;
	return t->id;
}

void kube_client_timer_cancel(struct kube_client *c, int64_t id)
{
	for (struct kube_timer **p = &c->timers; *p; p = &(*p)->next) {
		if ((*p)->id == id) {
			struct kube_timer *t = *p;
			*p = t->next;
			free(t);
			return;
		}
	}
}

size_t kube_client_active(const struct kube_client *c)
{
	return c->n_active + c->n_pending;
}

long kube_client_connections(const struct kube_client *c)
{
	return c->connects;
}
