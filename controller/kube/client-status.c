/* HTTP statuses and failed transfers as errno values (see client.h): the
 * decoded metav1.Status kept on the error so callers branch on -ESTALE or
 * -EIDRM and users read the apiserver's own words; curl's failures worded
 * with the server they concern and a hint at the fix. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "controller/kube/client-internal.h"

int kube_status_error(long status, const char *body, size_t len, struct sk_error *err)
{
	_cleanup_json_ json_object *st = NULL;
	const char *reason = NULL, *message = NULL;
	int code;

	if (status >= 200 && status < 300)
		return 0;
	if (body && len && sk_json_parse(body, len, &st, NULL) == 0 && json_object_is_type(st, json_type_object)) {
		reason = sk_json_str(st, "reason");
		message = sk_json_str(st, "message");
	}
	switch (status) {
	case 400: code = -EINVAL; break;
	case 401: code = -EKEYREJECTED; break;
	case 403: code = -EACCES; break;
	case 404: code = -ENOENT; break;
	case 409: code = (reason && strcmp(reason, "AlreadyExists") == 0) ? -EEXIST : -ESTALE; break;
	case 410: code = -EIDRM; break;
	case 422: code = -EINVAL; break;
	case 429: case 503: case 504: code = -EAGAIN; break;
	default: code = -EPROTO; break;
	}
	sk_err(err, code, "HTTP %ld %s: %s", status, reason ? reason : "(no Status reason)",
	       message ? message : (len ? "(response is not a Status object)" : "(empty response)"));
	if (err) {
		err->http_status = status;
		if (reason)
			(void)snprintf(err->reason, sizeof(err->reason), "%s", reason);
	}
	return code;
}

int kube_client_transport_error(struct kube_client *c, struct kube_req *q, CURLcode cc, struct sk_error *err)
{
	const char *detail = q->errbuf[0] ? q->errbuf : curl_easy_strerror(cc);
	const char *hint = "";
	int code;

	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		code = -ECONNREFUSED;
		hint = " (is the apiserver running and the server address right?)";
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		code = -EHOSTUNREACH;
		hint = " (check the server or proxy-url host name)";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		code = -ETIMEDOUT;
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
		code = -EPROTO;
		hint = " (check certificate-authority and tls-server-name in the kubeconfig)";
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_ABORTED_BY_CALLBACK:
		if (q->write_error == -E2BIG)
			return sk_err(err, -E2BIG, "%s %s: response body larger than %zu bytes", q->method, q->url,
				      c->opts.max_body);
		code = q->write_error ? q->write_error : -EIO;
		break;
	default:
		code = -ECONNRESET;
		break;
	}
	return sk_err(err, code, "%s %s: %s%s", q->method, q->url, detail, hint);
}
