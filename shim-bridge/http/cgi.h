/* WAGI: running a WASI command as a CGI script (COMPAT.md section 3).
 *
 * Pure functions following what Spin's WAGI executor does
 * (crates/trigger-http/src/wagi.rs, crates/http/src/wagi/mod.rs):
 *   - cgi_build_env: the environment (CGI/1.1 variables, Spin's X_* ones,
 *     HTTP_<HEADER> per request header);
 *   - cgi_build_argv: argv from the executor's argv template, the request
 *     path and the query string split on '&' (not percent-decoded);
 *   - cgi_parse_output: the guest's stdout, CGI headers then the body.
 * Route matching lives elsewhere: the route-derived values come in. */
#ifndef SPINKUBE_HTTP_CGI_H
#define SPINKUBE_HTTP_CGI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/http-parser.h"

#define CGI_DEFAULT_ARGV "${SCRIPT_NAME} ${ARGS}"
#define CGI_MAX_HEAD (64u * 1024)   /* CGI header section of the output */
#define CGI_MAX_HEADERS 100u

/* A NULL-terminated array of owned strings ("NAME=value" for the
 * environment). Free with cgi_strv_free. */
struct cgi_strv {
	char **v;
	size_t n;
};

void cgi_strv_free(struct cgi_strv *s);

/* "NAME" -> value in an environment built by cgi_build_env, or NULL. */
const char *cgi_strv_get(const struct cgi_strv *env, const char *name);

/* A named wildcard of the route ("/users/:id" matched "42"). */
struct cgi_path_match {
	const char *name;
	const char *value;
};

/* What route matching decided. All borrowed; NULL means "" unless said. */
struct cgi_route {
	const char *script_name;         /* SCRIPT_NAME: the route without "/...", e.g. "/foo" */
	const char *path_info;           /* raw trailing part after the route, e.g. "/bar%20x" */
	const char *matched_route;       /* X_MATCHED_ROUTE, e.g. "/foo/..." */
	const char *base_path;           /* X_BASE_PATH; NULL means "/" */
	const char *raw_component_route; /* X_RAW_COMPONENT_ROUTE; NULL omits */
	const char *component_route;     /* X_COMPONENT_ROUTE; NULL omits */
	const struct cgi_path_match *matches; /* X_PATH_MATCH_<NAME> */
	size_t n_matches;
};

/* What the request says. All borrowed. */
struct cgi_request {
	const char *method;
	const char *path;  /* raw request path */
	const char *query; /* raw query, "" when none */
	bool has_query;
	int version_minor;
	const struct http_header *headers;
	size_t n_headers;
	size_t body_len;
	const char *client_addr;  /* "ip:port" */
	const char *client_ip;    /* "ip" */
	const char *default_host; /* SERVER_NAME without a Host field; NULL: "localhost" */
	const char *default_port; /* SERVER_PORT when Host has no port; NULL: "80" */
};

struct http_request;

/* Fill *out from a server request; everything stays borrowed from req.
 * default_host and default_port are left NULL. */
void cgi_request_from_http(struct cgi_request *out, const struct http_request *req);

/* Build the WAGI environment into *env (caller frees with cgi_strv_free).
 * Request headers become HTTP_<NAME> (upper case, '-' -> '_'), except
 * Authorization and Connection; repeated fields are joined with ", ".
 * PATH_INFO and X_RAW_PATH_INFO are the raw path info (Spin overrides
 * WAGI's decoded PATH_INFO); PATH_TRANSLATED is it percent-decoded.
 * Returns 0 or -ENOMEM. */
int cgi_build_env(const struct cgi_request *req, const struct cgi_route *route, struct cgi_strv *env,
		  struct sk_error *err);

/* Build argv from tmpl (NULL: CGI_DEFAULT_ARGV): every "${SCRIPT_NAME}" is
 * replaced by the request path, then every "${ARGS}" by the query with '&'
 * turned into ' ', and the result split on single spaces (empty parts
 * kept, as Spin does). Caller frees *argv. Returns 0, -E2BIG when the
 * result passes max_len bytes, -ENOMEM. */
int cgi_build_argv(const char *tmpl, const char *path, const char *query, size_t max_len, struct cgi_strv *argv,
		   struct sk_error *err);

/* A CGI response parsed from the guest's stdout. headers are owned copies
 * (NUL-terminated, CR removed); body points into the stdout buffer given
 * to cgi_parse_output (borrowed: keep that buffer alive). */
struct cgi_response {
	int status;
	struct http_header *headers; /* Status excluded */
	size_t n_headers;
	const char *body;
	size_t body_len;
	char *storage_; /* private */
};

/* Parse stdout: header lines ("Name: value", LF or CRLF) until a blank
 * line, then the body. "Status: NNN reason" sets the status (an invalid
 * one gives 502, as Spin); Location without Status means 302; no Status
 * means 200. Lines without ':' or with a name that is not a token are
 * skipped, as Spin does. Fails with -EBADMSG (answer 500) when there is no
 * blank line, none of Content-Type, Location and Status is present, or a
 * value holds a control character; -E2BIG past CGI_MAX_HEAD or
 * CGI_MAX_HEADERS. On success the caller frees *resp with
 * cgi_response_free. */
int cgi_parse_output(const char *out, size_t len, struct cgi_response *resp, struct sk_error *err);

void cgi_response_free(struct cgi_response *resp);

#endif
