/* Sending one OTLP/HTTP export request (see telemetry-int.h): a POST of the
 * encoded body, with the configured headers, bounded by the signal's
 * timeout. Runs on the exporter thread only. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shim-bridge/telemetry/telemetry-int.h"

/* The collector's answer is read for its status only; its body is capped. */
#define ANSWER_MAX 4096

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct sk_buf *b = ud;
	size_t len = size * n;

	if (b->len < b->max)
		(void)sk_buf_append(b, p, len < b->max - b->len ? len : b->max - b->len);
	return len;
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool retryable(CURLcode rc, long status)
{
	if (rc == CURLE_OK)
		return status == 429 || status == 502 || status == 503 || status == 504;
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
	       rc == CURLE_GOT_NOTHING;
}

int tel_post(struct tel *t, enum tel_signal s, const char *body, size_t len, struct sk_error *err)
{
	const struct tel_signal_config *c = &t->cfg.sig[s];
	struct curl_slist *hdr = NULL, *h;
	struct sk_buf answer = sk_buf_make(ANSWER_MAX);
	char errbuf[CURL_ERROR_SIZE];
	long deadline = mono_ms() + (long)c->timeout_ms, status = 0;
	CURLcode rc = CURLE_OK;
	int r = 0;

	if (!t->ex.curl && !(t->ex.curl = curl_easy_init()))
		return sk_err(err, -ENOMEM, "cannot make a libcurl handle");
	CURL *cu = t->ex.curl;
	h = curl_slist_append(hdr, c->json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf");
	for (size_t i = 0; h && i < c->n_headers; i++)
		h = curl_slist_append(hdr = h, c->headers[i]);
	if (!h) {
		curl_slist_free_all(hdr);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	hdr = h;
	for (int attempt = 0; attempt < 3; attempt++) {
		long left = deadline - mono_ms();
		if (left <= 0)
			break;
		curl_easy_reset(cu);
		errbuf[0] = '\0';
		sk_buf_reset(&answer);
		curl_easy_setopt(cu, CURLOPT_URL, c->url);
		curl_easy_setopt(cu, CURLOPT_POST, 1L);
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, left);
		curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(cu, CURLOPT_PROXY, "");
		curl_easy_setopt(cu, CURLOPT_USERAGENT, "spinkube-c-otlp");
		curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(cu, CURLOPT_WRITEDATA, &answer);
		rc = curl_easy_perform(cu);
		status = 0;
		if (rc == CURLE_OK)
			curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
		if (rc == CURLE_OK && status >= 200 && status < 300)
			goto out;
		if (!retryable(rc, status) || t->stopping)
			break;
		struct timespec pause = { 0, (attempt + 1) * 200L * 1000000L };
		if (deadline - mono_ms() < (attempt + 1) * 200L)
			break;
		nanosleep(&pause, NULL);
	}
	if (rc != CURLE_OK)
		r = sk_err(err, -EIO, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else if (status >= 200 && status < 300)
		r = 0;
	else {
		/* the collector's message, the first line of it */
		size_t n = strcspn(answer.data ? answer.data : "", "\r\n");
		r = sk_err(err, -EPROTO, "HTTP %ld%s%.*s", status, n ? ": " : "", (int)(n > 200 ? 200 : n),
			   answer.data ? answer.data : "");
	}
out:
	curl_slist_free_all(hdr);
	sk_buf_free(&answer);
	return r;
}

void tel_export_free(struct tel_export *ex)
{
	if (ex->curl)
		curl_easy_cleanup(ex->curl);
	ex->curl = NULL;
}
