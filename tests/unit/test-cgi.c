/* WAGI's CGI rules: the environment, argv and parsing the guest's stdout,
 * checked against what Spin's WAGI executor produces. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shim-bridge/http/cgi.h"
#include "tests/tap.h"

static const struct http_header headers[] = {
	{ "Host", "example.com:3000", 4, 16 },
	{ "Content-Type", "application/json", 12, 16 },
	{ "User-Agent", "curl/8", 10, 6 },
	{ "Authorization", "Bearer secret", 13, 13 },
	{ "Connection", "keep-alive", 10, 10 },
	{ "X-Multi", "a", 7, 1 },
	{ "x-multi", "b", 7, 1 },
	{ "Accept-Encoding", "gzip", 15, 4 },
};

static void test_env(void)
{
	struct cgi_request req = {
		.method = "POST", .path = "/foo/42/bar%20baz", .query = "a=1&b=2", .has_query = true,
		.version_minor = 1, .headers = headers, .n_headers = sizeof(headers) / sizeof(headers[0]),
		.body_len = 7, .client_addr = "10.0.0.9:5555", .client_ip = "10.0.0.9",
	};
	const struct cgi_path_match matches[] = { { "userid", "42" } };
	struct cgi_route route = {
		.script_name = "/foo/:userid", .path_info = "/bar%20baz", .matched_route = "/foo/:userid/...",
		.raw_component_route = "/foo/:userid/...", .component_route = "/foo/:userid",
		.matches = matches, .n_matches = 1,
	};
	struct cgi_strv env = { 0 };
	static const char *want[][2] = {
		{ "REQUEST_METHOD", "POST" },
		{ "QUERY_STRING", "a=1&b=2" },
		{ "CONTENT_TYPE", "application/json" },
		{ "CONTENT_LENGTH", "7" },
		{ "PATH_INFO", "/bar%20baz" },
		{ "X_RAW_PATH_INFO", "/bar%20baz" },
		{ "PATH_TRANSLATED", "/bar baz" },
		{ "SCRIPT_NAME", "/foo/:userid" },
		{ "SERVER_NAME", "example.com" },
		{ "SERVER_PORT", "3000" },
		{ "SERVER_PROTOCOL", "HTTP/1.1" },
		{ "REMOTE_ADDR", "10.0.0.9" },
		{ "REMOTE_HOST", "10.0.0.9" },
		{ "GATEWAY_INTERFACE", "CGI/1.1" },
		{ "SERVER_SOFTWARE", "WAGI/1" },
		{ "X_FULL_URL", "http://example.com:3000/foo/42/bar%20baz?a=1&b=2" },
		{ "X_MATCHED_ROUTE", "/foo/:userid/..." },
		{ "X_BASE_PATH", "/" },
		{ "X_CLIENT_ADDR", "10.0.0.9:5555" },
		{ "X_RAW_COMPONENT_ROUTE", "/foo/:userid/..." },
		{ "X_COMPONENT_ROUTE", "/foo/:userid" },
		{ "X_PATH_MATCH_USERID", "42" },
		{ "HTTP_HOST", "example.com:3000" },
		{ "HTTP_USER_AGENT", "curl/8" },
		{ "HTTP_CONTENT_TYPE", "application/json" },
		{ "HTTP_ACCEPT_ENCODING", "gzip" },
		{ "HTTP_X_MULTI", "a, b" },
		{ "AUTH_TYPE", "" },
	};

	is_int(cgi_build_env(&req, &route, &env, NULL), 0, "the environment builds");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		is_str(cgi_strv_get(&env, want[i][0]), want[i][1], "%s", want[i][0]);
	ok(!cgi_strv_get(&env, "HTTP_AUTHORIZATION"), "Authorization is not passed");
	ok(!cgi_strv_get(&env, "HTTP_CONNECTION"), "Connection is not passed");
	ok(env.v[env.n] == NULL, "the array is NULL-terminated");
	int names_ok = 1;
	for (size_t i = 0; i < env.n; i++)
		for (size_t j = i + 1; j < env.n; j++)
			if (strncmp(env.v[i], env.v[j], strcspn(env.v[i], "=") + 1) == 0)
				names_ok = 0;
	ok(names_ok, "every name appears once");
	cgi_strv_free(&env);

	/* No Host, no query, HTTP/1.0, defaults given. */
	struct cgi_request bare = {
		.method = "GET", .path = "/", .query = "", .version_minor = 0, .client_addr = "[::1]:1",
		.client_ip = "::1", .default_host = "spin.local", .default_port = "8080",
	};
	struct cgi_route r2 = { .script_name = "", .path_info = "", .matched_route = "/..." };
	is_int(cgi_build_env(&bare, &r2, &env, NULL), 0, "a bare request builds");
	is_str(cgi_strv_get(&env, "SERVER_NAME"), "spin.local", "SERVER_NAME falls back to the default host");
	is_str(cgi_strv_get(&env, "SERVER_PORT"), "8080", "SERVER_PORT falls back to the default port");
	is_str(cgi_strv_get(&env, "X_FULL_URL"), "http://localhost/", "X_FULL_URL uses localhost without Host");
	is_str(cgi_strv_get(&env, "CONTENT_TYPE"), "", "CONTENT_TYPE empty without Content-Type");
	is_str(cgi_strv_get(&env, "CONTENT_LENGTH"), "0", "CONTENT_LENGTH 0 without a body");
	is_str(cgi_strv_get(&env, "SERVER_PROTOCOL"), "HTTP/1.0", "SERVER_PROTOCOL follows the request");
	cgi_strv_free(&env);

	static const struct http_header v6host[] = { { "Host", "[::1]:9000", 4, 10 } };
	bare.headers = v6host;
	bare.n_headers = 1;
	cgi_build_env(&bare, &r2, &env, NULL);
	is_str(cgi_strv_get(&env, "SERVER_NAME"), "[::1]", "an IPv6 Host keeps its brackets in SERVER_NAME");
	is_str(cgi_strv_get(&env, "SERVER_PORT"), "9000", "and its port in SERVER_PORT");
	cgi_strv_free(&env);
}

static void check_argv(const char *tmpl, const char *path, const char *query, const char *want, const char *name)
{
	struct cgi_strv argv = { 0 };
	char got[512] = "";

	if (cgi_build_argv(tmpl, path, query, 4096, &argv, NULL) == 0) {
		for (size_t i = 0; i < argv.n; i++) {
			strncat(got, "<", sizeof(got) - strlen(got) - 1);
			strncat(got, argv.v[i], sizeof(got) - strlen(got) - 1);
			strncat(got, ">", sizeof(got) - strlen(got) - 1);
		}
		ok(argv.v[argv.n] == NULL && strcmp(got, want) == 0, "%s: %s", name, got);
		if (strcmp(got, want))
			printf("#   want %s\n", want);
	} else {
		ok(0, "%s: failed", name);
	}
	cgi_strv_free(&argv);
}

static void test_argv(void)
{
	struct cgi_strv argv = { 0 };
	struct sk_error err = { 0 };

	check_argv(NULL, "/hello", "a=1&b=%20x", "</hello><a=1><b=%20x>", "default template, query split on &, not decoded");
	check_argv(NULL, "/hello", "", "</hello><>", "no query leaves an empty argument, as Spin does");
	check_argv("${SCRIPT_NAME} --flag ${ARGS}", "/x", "q", "</x><--flag><q>", "a custom template");
	check_argv("run ${ARGS} ${ARGS}", "/x", "a&b", "<run><a><b><a><b>", "every ${ARGS} is replaced");
	check_argv("${SCRIPT_NAME}", "/p", "a&b", "</p>", "a template without ${ARGS} drops the query");
	is_int(cgi_build_argv(NULL, "/x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 16, &argv, &err), -E2BIG,
	       "argv past its cap is -E2BIG");
	ok(strstr(err.message, "query") != NULL, "naming the fix: %s", err.message);
}

static int parse(const char *out, struct cgi_response *r, struct sk_error *err)
{
	return cgi_parse_output(out, strlen(out), r, err);
}

static void test_output(void)
{
	struct cgi_response r;
	struct sk_error err = { 0 };

	is_int(parse("Content-Type: text/plain\n\nhello\n", &r, NULL), 0, "LF output parses");
	ok(r.status == 200 && r.n_headers == 1 && strcmp(r.headers[0].name, "Content-Type") == 0 &&
		   strcmp(r.headers[0].value, "text/plain") == 0,
	   "Content-Type passes, status 200");
	ok(r.body_len == 6 && memcmp(r.body, "hello\n", 6) == 0, "the rest is the body");
	cgi_response_free(&r);

	is_int(parse("Status: 404 Not Found\r\nContent-Type: text/html\r\nX-Custom:  v  \r\n\r\n<p>\r\n", &r, NULL), 0,
	       "CRLF output parses");
	ok(r.status == 404 && r.n_headers == 2 && strcmp(r.headers[1].value, "v") == 0,
	   "Status sets the status and is not passed on; values trimmed");
	ok(r.body_len == 5 && memcmp(r.body, "<p>\r\n", 5) == 0, "CRs in the body are kept");
	cgi_response_free(&r);

	is_int(parse("Location: /elsewhere\n\n", &r, NULL), 0, "Location alone parses");
	ok(r.status == 302 && strcmp(r.headers[0].value, "/elsewhere") == 0, "Location alone means 302");
	cgi_response_free(&r);
	is_int(parse("Location: /x\nStatus: 301\n\n", &r, NULL), 0, "Location with Status");
	is_int(r.status, 301, "keeps the given status");
	cgi_response_free(&r);
	is_int(parse("Status: 204\n\n", &r, NULL), 0, "Status alone is enough");
	is_int(r.status, 204, "and sets it");
	cgi_response_free(&r);
	is_int(parse("Status: abc\n\n", &r, NULL), 0, "a bad Status still parses");
	is_int(r.status, 502, "as 502, as Spin does");
	cgi_response_free(&r);
	is_int(parse("garbage line\nContent-Type: a/b\nbad name: x\n\n", &r, NULL), 0,
	       "lines without a colon or with a bad name are skipped");
	is_int((int)r.n_headers, 1, "only the good header remains");
	cgi_response_free(&r);
	is_int(parse("Content-Type: a/b\n\n", &r, NULL), 0, "an empty body");
	is_int((int)r.body_len, 0, "has length 0");
	cgi_response_free(&r);

	is_int(parse("X-Only: 1\n\nbody", &r, &err), -EBADMSG, "no Content-Type, Location or Status is malformed");
	ok(strstr(err.message, "Content-Type") != NULL, "the message names what is missing: %s", err.message);
	is_int(parse("Content-Type: text/plain\nhello", &r, &err), -EBADMSG, "no blank line is malformed");
	ok(strstr(err.message, "blank line") != NULL, "the message says so: %s", err.message);
	is_int(cgi_parse_output("", 0, &r, &err), -EBADMSG, "empty output is malformed");
	ok(strstr(err.message, "executor") != NULL, "pointing at the executor setting: %s", err.message);
	is_int(parse("Content-Type: a\x01b\n\n", &r, &err), -EBADMSG, "a control character in a value is refused");

	static char big[CGI_MAX_HEAD + 100];
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "X: ", 3);
	is_int(cgi_parse_output(big, sizeof(big) - 1, &r, &err), -E2BIG, "a header section past the cap is -E2BIG");
	char many[8192] = "Content-Type: a\n";
	for (int i = 0; i < 120; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "X-%d: v\n", i);
	strncat(many, "\n", sizeof(many) - strlen(many) - 1);
	is_int(parse(many, &r, &err), -E2BIG, "more header lines than the cap is -E2BIG");
}

int main(void)
{
	test_env();
	test_argv();
	test_output();
	return tap_done();
}
