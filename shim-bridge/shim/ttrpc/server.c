/* The ttrpc server: the method table, the accept loop, one reader thread per
 * connection and one thread per request in flight (see server.h). */
#include "shim-bridge/shim/ttrpc/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/unix-socket.h"
#include "shim-bridge/shim/ttrpc/frame.h"
#include "shim-bridge/shim/ttrpc/message.h"

#define DEFAULT_MAX_STREAMS 32
#define DEFAULT_MAX_CONNS 64
#define MAX_METHODS 64

struct method {
	char *service;
	char *method;
	sk_ttrpc_handler_fn fn;
	void *ud;
};

/* A thread's place: a connection's reader on the server, a handler on a
 * connection. Free, running, or done and waiting to be joined: threads are
 * joined, never detached, so none is left running when a connection, the
 * server, or the program ends. */
enum slot_state { SLOT_FREE, SLOT_RUNNING, SLOT_DONE };
struct slot {
	pthread_t thread;
	enum slot_state state;
	int fd; /* a connection's socket (server slots only) */
};

struct sk_ttrpc_server {
	struct sk_ttrpc_server_config cfg;
	struct method methods[MAX_METHODS];
	size_t n_methods;
	int listen_fd;
	int wake[2]; /* shutdown writes a byte to wake[1] */
	pthread_mutex_t mu;
	pthread_cond_t conns_done;
	struct slot *conns; /* cfg.max_conns reader threads */
	unsigned n_conns;
};

/* One connection: its socket, the lock that keeps response frames whole,
 * and max_streams slots for its handler threads (the connection lives until
 * every one is joined). */
struct conn {
	struct sk_ttrpc_server *srv;
	int fd;
	uint32_t last_stream;
	pthread_mutex_t write_mu;
	pthread_mutex_t mu;
	pthread_cond_t idle;
	struct slot *slots; /* srv->cfg.max_streams */
	unsigned in_flight; /* slots running */
};

/* A request handed to its handler thread; the thread frees it. */
struct job {
	struct conn *c;
	const struct method *m;
	Ttrpc__Request *req;
	uint32_t stream;
	unsigned slot;
};

int sk_ttrpc_fail(struct sk_ttrpc_reply *reply, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)sk_vformat_line(reply->message, sizeof(reply->message), fmt, ap);
	va_end(ap);
	reply->code = code;
	return code;
}

const char *sk_ttrpc_call_metadata(const struct sk_ttrpc_call *call, const char *key)
{
	for (size_t i = 0; i < call->n_metadata; i++)
		if (call->metadata[i]->key && strcmp(call->metadata[i]->key, key) == 0)
			return call->metadata[i]->value;
	return NULL;
}

int sk_ttrpc_reply_pack(struct sk_ttrpc_reply *reply, const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	if (n > SK_TTRPC_MAX_PAYLOAD)
		return sk_ttrpc_fail(reply, SK_RPC_INTERNAL, "the %s reply of %zu bytes is over the frame cap",
			msg->descriptor->short_name, n);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return sk_ttrpc_fail(reply, SK_RPC_INTERNAL, "out of memory for a %s reply",
			msg->descriptor->short_name);
	free(reply->payload);
	reply->len = protobuf_c_message_pack(msg, buf);
	reply->payload = buf;
	return SK_RPC_OK;
}

int sk_ttrpc_server_new(const struct sk_ttrpc_server_config *cfg, struct sk_ttrpc_server **out,
	struct sk_error *err)
{
	struct sk_ttrpc_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return sk_err(err, -ENOMEM, "ttrpc server: out of memory");
	srv->cfg = *cfg;
	if (srv->cfg.max_streams == 0)
		srv->cfg.max_streams = DEFAULT_MAX_STREAMS;
	if (srv->cfg.max_conns == 0)
		srv->cfg.max_conns = DEFAULT_MAX_CONNS;
	srv->listen_fd = -1;
	srv->wake[0] = srv->wake[1] = -1;
	pthread_mutex_init(&srv->mu, NULL);
	pthread_cond_init(&srv->conns_done, NULL);
	srv->conns = calloc(srv->cfg.max_conns, sizeof(*srv->conns));
	if (!srv->conns || pipe2(srv->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		int e = srv->conns ? errno : ENOMEM;
		sk_ttrpc_server_free(srv);
		return sk_err(err, -e, "ttrpc server: %s", strerror(e));
	}
	*out = srv;
	return 0;
}

static const struct method *find_method(const struct sk_ttrpc_server *srv, const char *service, const char *method,
	int *service_known)
{
	*service_known = 0;
	for (size_t i = 0; i < srv->n_methods; i++) {
		if (strcmp(srv->methods[i].service, service) != 0)
			continue;
		*service_known = 1;
		if (strcmp(srv->methods[i].method, method) == 0)
			return &srv->methods[i];
	}
	return NULL;
}

int sk_ttrpc_server_register(struct sk_ttrpc_server *srv, const char *service, const char *method,
	sk_ttrpc_handler_fn fn, void *ud, struct sk_error *err)
{
	int known;
	if (!service || !*service || strlen(service) > SK_TTRPC_NAME_MAX || !method || !*method ||
		strlen(method) > SK_TTRPC_NAME_MAX || strpbrk(service, " /") || strpbrk(method, " /"))
		return sk_err(err, -EINVAL, "ttrpc server: \"%s/%s\" is not a service and method name",
			service ? service : "", method ? method : "");
	if (find_method(srv, service, method, &known))
		return sk_err(err, -EEXIST, "ttrpc server: %s/%s is registered already", service, method);
	if (srv->n_methods == MAX_METHODS)
		return sk_err(err, -ENOSPC, "ttrpc server: more than %d methods", MAX_METHODS);
	struct method *m = &srv->methods[srv->n_methods];
	m->service = strdup(service);
	m->method = strdup(method);
	if (!m->service || !m->method) {
		free(m->service);
		free(m->method);
		return sk_err(err, -ENOMEM, "ttrpc server: out of memory");
	}
	m->fn = fn;
	m->ud = ud;
	srv->n_methods++;
	return 0;
}

int sk_ttrpc_server_listen(struct sk_ttrpc_server *srv, const char *path, struct sk_error *err)
{
	int fd = sk_unix_listen("ttrpc server", path, 128, err);

	if (fd < 0)
		return fd;
	sk_ttrpc_server_listen_fd(srv, fd);
	return 0;
}

void sk_ttrpc_server_listen_fd(struct sk_ttrpc_server *srv, int fd)
{
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	srv->listen_fd = fd;
}

/* Send one Response frame on stream: the payload when code is OK, else the
 * status. A failed write is left to the reader, which sees the peer gone. */
static void respond(struct conn *c, uint32_t stream, int code, const char *message, const uint8_t *payload,
	size_t len)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t n = 0;
	struct sk_error e = { 0 };
	if (sk_ttrpc_response_encode(code, message, payload, len, &data, &n, &e) < 0) {
		/* Only a reply over the cap or out of memory: answer without it. */
		if (sk_ttrpc_response_encode(SK_RPC_INTERNAL, e.message, NULL, 0, &data, &n, NULL) < 0)
			return;
	}
	struct sk_ttrpc_header h = { .length = (uint32_t)n, .stream = stream, .type = SK_TTRPC_RESPONSE };
	pthread_mutex_lock(&c->write_mu);
	(void)sk_ttrpc_frame_write(c->fd, &h, data, NULL);
	pthread_mutex_unlock(&c->write_mu);
}

static void *run_job(void *arg)
{
	struct job *j = arg;
	struct conn *c = j->c;
	struct sk_ttrpc_call call = {
		.service = j->req->service,
		.method = j->req->method,
		.payload = j->req->payload.data,
		.len = j->req->payload.len,
		.timeout_nano = j->req->timeout_nano,
		.stream = j->stream,
		.metadata = j->req->metadata,
		.n_metadata = j->req->n_metadata,
	};
	struct sk_ttrpc_reply reply = { 0 };
	int code = j->m->fn(j->m->ud, &call, &reply);
	if (code != SK_RPC_OK && !reply.message[0])
		snprintf(reply.message, sizeof(reply.message), "%s/%s failed", call.service, call.method);
	if (code == SK_RPC_OK)
		respond(c, j->stream, SK_RPC_OK, NULL, reply.payload, reply.len);
	else
		respond(c, j->stream, code, reply.message, NULL, 0);
	free(reply.payload);
	ttrpc__request__free_unpacked(j->req, NULL);
	pthread_mutex_lock(&c->mu);
	c->slots[j->slot].state = SLOT_DONE;
	c->in_flight--;
	pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->mu);
	free(j);
	return NULL;
}

/* Join the threads of n slots that are done and free the slots. With the
 * lock that guards the slots held: a done thread no longer takes it. */
static void reap(struct slot *slots, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (slots[i].state == SLOT_DONE) {
			pthread_join(slots[i].thread, NULL);
			slots[i].state = SLOT_FREE;
		}
}

/* Start the handler of req on a thread of its own, or answer at once when
 * the connection has max_streams calls in flight. Takes req. */
static void dispatch(struct conn *c, const struct method *m, Ttrpc__Request *req, uint32_t stream)
{
	pthread_mutex_lock(&c->mu);
	reap(c->slots, c->srv->cfg.max_streams);
	unsigned slot = 0;
	while (slot < c->srv->cfg.max_streams && c->slots[slot].state != SLOT_FREE)
		slot++;
	struct job *j = slot < c->srv->cfg.max_streams ? malloc(sizeof(*j)) : NULL;
	int r = -1;
	if (j) {
		*j = (struct job){ .c = c, .m = m, .req = req, .stream = stream, .slot = slot };
		r = pthread_create(&c->slots[slot].thread, NULL, run_job, j);
		if (r == 0) {
			c->slots[slot].state = SLOT_RUNNING;
			c->in_flight++;
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (r == 0)
		return;
	free(j);
	char msg[160];
	if (slot == c->srv->cfg.max_streams)
		snprintf(msg, sizeof(msg), "%u requests are in flight on this connection already, the most it takes",
			c->srv->cfg.max_streams);
	else
		snprintf(msg, sizeof(msg), "no thread for this request");
	respond(c, stream, SK_RPC_RESOURCE_EXHAUSTED, msg, NULL, 0);
	ttrpc__request__free_unpacked(req, NULL);
}

static const char *type_name(uint8_t type)
{
	return type == SK_TTRPC_RESPONSE ? "response" : type == SK_TTRPC_DATA ? "data" : "request";
}

/* One frame from the client. Returns 0 (answered or dispatched) or a
 * negative errno with *err saying why the connection must close. */
static int handle_frame(struct conn *c, const struct sk_ttrpc_header *h, const uint8_t *data, struct sk_error *err)
{
	if (h->type != SK_TTRPC_REQUEST)
		return sk_err(err, -EPROTO, "ttrpc: a %s frame on stream %u from a client (this server takes unary requests only)",
			type_name(h->type), h->stream);
	if (h->stream % 2 == 0)
		return sk_err(err, -EPROTO, "ttrpc: a request on even stream id %u (client streams are odd)", h->stream);
	if (h->stream <= c->last_stream)
		return sk_err(err, -EPROTO, "ttrpc: a request on stream id %u, not above the last one (%u)", h->stream,
			c->last_stream);
	c->last_stream = h->stream;

	struct sk_error e = { 0 };
	Ttrpc__Request *req = NULL;
	if (sk_ttrpc_request_decode(data, h->length, &req, &e) < 0) {
		respond(c, h->stream, SK_RPC_INVALID_ARGUMENT, e.message, NULL, 0);
		return 0;
	}
	char msg[SK_ERR_MESSAGE_MAX];
	int known;
	const struct method *m = find_method(c->srv, req->service, req->method, &known);
	if (h->flags != 0) {
		snprintf(msg, sizeof(msg), "%s/%s: streaming requests are not supported", req->service, req->method);
		respond(c, h->stream, SK_RPC_UNIMPLEMENTED, msg, NULL, 0);
	} else if (!m) {
		if (known)
			snprintf(msg, sizeof(msg), "service %s: method %s is not implemented", req->service, req->method);
		else
			snprintf(msg, sizeof(msg), "service %s is not implemented", req->service);
		respond(c, h->stream, SK_RPC_UNIMPLEMENTED, msg, NULL, 0);
	} else {
		dispatch(c, m, req, h->stream);
		return 0;
	}
	ttrpc__request__free_unpacked(req, NULL);
	return 0;
}

/* Read and handle frames until the peer closes (0) or breaks the protocol
 * (negative errno, logged); then wait for the handlers still running. Does
 * not close fd. */
static int serve_fd(struct sk_ttrpc_server *srv, int fd, struct sk_error *err)
{
	struct conn c = { .srv = srv, .fd = fd };
	c.slots = calloc(srv->cfg.max_streams, sizeof(*c.slots));
	if (!c.slots)
		return sk_err(err, -ENOMEM, "ttrpc: out of memory for a connection");
	pthread_mutex_init(&c.write_mu, NULL);
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.idle, NULL);
	int r;
	struct sk_error e = { 0 };
	for (;;) {
		struct sk_ttrpc_header h;
		_cleanup_free_ uint8_t *data = NULL;
		r = sk_ttrpc_frame_read(fd, SK_TTRPC_MAX_PAYLOAD, &h, &data, &e);
		if (r == 1) {
			r = 0;
			break;
		}
		if (r == 0)
			r = handle_frame(&c, &h, data, &e);
		if (r < 0)
			break;
	}
	if (r < 0) {
		char q[SK_ERR_MESSAGE_MAX * 2];
		sk_report(&srv->cfg.log, LOG_WARN, "ttrpc connection closed", "reason=%s",
			log_quote(e.message, q, sizeof(q)));
		if (err)
			*err = e;
		/* Handlers still running see their replies fail, not block. */
		shutdown(fd, SHUT_RDWR);
	}
	pthread_mutex_lock(&c.mu);
	while (c.in_flight > 0)
		pthread_cond_wait(&c.idle, &c.mu);
	reap(c.slots, srv->cfg.max_streams);
	pthread_mutex_unlock(&c.mu);
	free(c.slots);
	pthread_cond_destroy(&c.idle);
	pthread_mutex_destroy(&c.mu);
	pthread_mutex_destroy(&c.write_mu);
	return r;
}

int sk_ttrpc_server_serve_conn(struct sk_ttrpc_server *srv, int fd, struct sk_error *err)
{
	int r = serve_fd(srv, fd, err);
	close(fd);
	return r;
}

struct conn_start {
	struct sk_ttrpc_server *srv;
	unsigned slot;
};

static void *conn_thread(void *arg)
{
	struct conn_start *cs = arg;
	struct sk_ttrpc_server *srv = cs->srv;
	struct slot *sl = &srv->conns[cs->slot];
	free(cs);
	(void)serve_fd(srv, sl->fd, NULL);
	pthread_mutex_lock(&srv->mu);
	close(sl->fd);
	sl->fd = -1;
	sl->state = SLOT_DONE;
	srv->n_conns--;
	pthread_cond_broadcast(&srv->conns_done);
	pthread_mutex_unlock(&srv->mu);
	return NULL;
}

/* Give the accepted fd a slot and a reader thread, or close it when all
 * max_conns slots are taken. */
static void start_conn(struct sk_ttrpc_server *srv, int fd)
{
	pthread_mutex_lock(&srv->mu);
	reap(srv->conns, srv->cfg.max_conns);
	unsigned slot = 0;
	while (slot < srv->cfg.max_conns && srv->conns[slot].state != SLOT_FREE)
		slot++;
	struct conn_start *cs = slot < srv->cfg.max_conns ? malloc(sizeof(*cs)) : NULL;
	int r = -1;
	if (cs) {
		*cs = (struct conn_start){ .srv = srv, .slot = slot };
		srv->conns[slot].fd = fd;
		r = pthread_create(&srv->conns[slot].thread, NULL, conn_thread, cs);
		if (r == 0) {
			srv->conns[slot].state = SLOT_RUNNING;
			srv->n_conns++;
		}
	}
	pthread_mutex_unlock(&srv->mu);
	if (r == 0)
		return;
	free(cs);
	close(fd);
	sk_report(&srv->cfg.log, LOG_WARN, "ttrpc connection refused",
		"reason=\"%u connections are open, the most the server takes\"", srv->cfg.max_conns);
}

int sk_ttrpc_server_serve(struct sk_ttrpc_server *srv, struct sk_error *err)
{
	if (srv->listen_fd < 0)
		return sk_err(err, -EBADF, "ttrpc server: no socket to serve on (listen first)");
	int r = 0;
	for (;;) {
		struct pollfd p[2] = { { .fd = srv->listen_fd, .events = POLLIN }, { .fd = srv->wake[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = sk_err(err, -errno, "ttrpc server: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors or memory for now: the pending
				 * connection stays queued; wait a little instead of
				 * spinning on it (a shutdown still ends the wait). */
				sk_report(&srv->cfg.log, LOG_WARN, "ttrpc accept failed, retrying in 100 ms", "error=\"%s\"",
					strerror(errno));
				(void)poll(&p[1], 1, 100);
				continue;
			}
			r = sk_err(err, -errno, "ttrpc server: accept: %s", strerror(errno));
			break;
		}
		start_conn(srv, fd);
	}
	/* Close every connection for reading; each reader ends, waits for its
	 * handlers and gives its slot back. */
	pthread_mutex_lock(&srv->mu);
	for (unsigned i = 0; i < srv->cfg.max_conns; i++)
		if (srv->conns[i].state == SLOT_RUNNING)
			shutdown(srv->conns[i].fd, SHUT_RD);
	while (srv->n_conns > 0)
		pthread_cond_wait(&srv->conns_done, &srv->mu);
	reap(srv->conns, srv->cfg.max_conns);
	pthread_mutex_unlock(&srv->mu);
	char c;
	while (read(srv->wake[0], &c, 1) == 1)
		;
	return r;
}

void sk_ttrpc_server_shutdown(struct sk_ttrpc_server *srv)
{
	char c = 1;
	ssize_t k = write(srv->wake[1], &c, 1);
	(void)k;
}

void sk_ttrpc_server_free(struct sk_ttrpc_server *srv)
{
	if (!srv)
		return;
	for (size_t i = 0; i < srv->n_methods; i++) {
		free(srv->methods[i].service);
		free(srv->methods[i].method);
	}
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->wake[0] >= 0)
		close(srv->wake[0]);
	if (srv->wake[1] >= 0)
		close(srv->wake[1]);
	free(srv->conns);
	pthread_cond_destroy(&srv->conns_done);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}
