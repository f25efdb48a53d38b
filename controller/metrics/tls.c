/* The metrics endpoint's TLS context (see server.h): a certificate from a
 * directory, as kubebuilder's scaffold mounts one (tls.crt, tls.key), or one
 * made at start. */
#include "controller/metrics/server.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>

/* OpenSSL's last error as text, for a message. */
static const char *ossl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (!e)
		return "unknown error";
	ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* A self-signed certificate for localhost and 127.0.0.1, valid for a year
 * from a minute ago, with a fresh P-256 key, into ctx. */
static int self_signed(SSL_CTX *ctx, struct sk_error *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_EXTENSION *san = NULL;
	X509V3_CTX v3;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	char why[256];
	int r = -EIO;

	if (!key || !x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* positive */
	if (!(bn = BN_bin2bn(serial, sizeof(serial), NULL)) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	X509_NAME *name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 || !X509_gmtime_adj(X509_getm_notBefore(x), -60) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600) ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"spinkube-c", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"spin-controller", -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1)
		goto out;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
	if (!san || X509_add_ext(x, san, -1) != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
		goto out;
	r = 0;
out:
	if (r < 0)
		sk_err(err, r, "metrics: cannot make a self-signed certificate: %s", ossl_reason(why, sizeof(why)));
	X509_EXTENSION_free(san);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

static int from_dir(SSL_CTX *ctx, const char *dir, struct sk_error *err)
{
	char crt[4096], key[4096], why[256];

	if ((size_t)snprintf(crt, sizeof(crt), "%s/tls.crt", dir) >= sizeof(crt) ||
	    (size_t)snprintf(key, sizeof(key), "%s/tls.key", dir) >= sizeof(key))
		return sk_err(err, -ENAMETOOLONG, "--metrics-cert-path %s: the path is too long", dir);
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1)
		return sk_err(err, -EINVAL, "--metrics-cert-path: %s is not a readable PEM certificate: %s", crt,
			      ossl_reason(why, sizeof(why)));
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return sk_err(err, -EINVAL, "--metrics-cert-path: %s is not a readable PEM private key: %s", key,
			      ossl_reason(why, sizeof(why)));
	if (SSL_CTX_check_private_key(ctx) != 1)
		return sk_err(err, -EINVAL, "--metrics-cert-path: %s is not the key of %s", key, crt);
	return 0;
}

int metrics_tls_context(const char *cert_dir, SSL_CTX **out, struct sk_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int r;

	if (!ctx)
		return sk_err(err, -ENOMEM, "metrics: cannot make a TLS context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	r = cert_dir ? from_dir(ctx, cert_dir, err) : self_signed(ctx, err);
	if (r < 0) {
		SSL_CTX_free(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}
