/* The runtime test's driver of the shim's gRPC client
 * (shim-bridge/shim/containerd/grpc.h): one call, its outcome printed.
 *
 *   runtime-grpc-call ADDRESS NAMESPACE METHOD unary|stream [REQUEST]
 *
 * REQUEST (default empty) is sent as the message. stdout gets one line
 * "msg LEN TEXT" per message received (a unary call's one answer, or each
 * streamed message as it comes), then "r=N" (0 or the negative errno);
 * stderr gets the error line, if any. Exits 0 whenever the call ran. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim-bridge/shim/containerd/grpc.h"

static int print_msg(void *ud, const uint8_t *msg, size_t len)
{
	(void)ud;
	printf("msg %zu %.*s\n", len, (int)len, (const char *)msg);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctrd_client *c = NULL;
	struct sk_error err = { 0 };
	const char *req = argc > 5 ? argv[5] : "";
	int r;

	if (argc < 5 || (strcmp(argv[4], "unary") != 0 && strcmp(argv[4], "stream") != 0)) {
		fprintf(stderr, "usage: %s ADDRESS NAMESPACE METHOD unary|stream [REQUEST]\n", argv[0]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((r = ctrd_client_new(argv[1], argv[2], &c, &err)) == 0) {
		if (strcmp(argv[4], "unary") == 0) {
			uint8_t *resp = NULL;
			size_t len = 0;
			r = ctrd_call_unary(c, argv[3], (const uint8_t *)req, strlen(req), 1024, &resp, &len, &err);
			if (r == 0)
				(void)print_msg(NULL, resp, len);
			free(resp);
		} else {
			r = ctrd_call_stream(c, argv[3], (const uint8_t *)req, strlen(req), 1024, print_msg, NULL, &err);
		}
		ctrd_client_free(c);
	}
	printf("r=%d\n", r);
	if (r < 0)
		fprintf(stderr, "%s\n", err.message);
	curl_global_cleanup();
	return 0;
}
