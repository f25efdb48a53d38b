/* Spin's allowed_outbound_hosts: which scheme://host:port a component may
 * reach. Pure (no I/O, no allocation, no state), so start-up validation and
 * the check before every outbound request share one parser.
 *
 * An entry is scheme://host[:port][/] as Spin defines it
 * (spin-outbound-networking's AllowedHostConfig):
 *   scheme  "*" or letters ("http", "https", "redis"...), compared without case
 *   host    "*" (any host);
 *           "*.example.com": any name ending in ".example.com", at any depth,
 *             but not example.com itself;
 *           a DNS name, compared without case ("localhost", "example.com");
 *           an IPv4 address, or an IPv6 address in brackets ("[::1]");
 *           a CIDR ("10.0.0.0/8", "[fd00::/8]", or Spin's unbracketed
 *             "fd00::/8:443"): matches hosts written as an IP address in it;
 *           "self": Spin's relative "self" requests; matches no absolute URL
 *   port    omitted: the scheme's well-known port (http 80, https 443,
 *             postgres 5432, mysql 3306, redis and rediss 6379, mqtt 1883; "*://"
 *             entries need a port);
 *           "*" (any port), a number, or "a..b": a to b-1 (a half-open
 *             range, as Spin's)
 * A request's host is never resolved for the check: an entry naming a host
 * does not allow that host's IP address, nor the other way round.
 *
 * Refused by wh_allowed_hosts_validate, and matching nothing if they reach
 * the check anyway: "insecure:allow-all" (Spin refuses it too; write
 * "*://" "*:*" to allow all), "{a,b}" lists (Spin does not support them either), paths,
 * unbracketed IPv6 addresses, and "{{ variable }}" templates (Spin
 * resolves those with the app's variables; a caller that wants them
 * expands each entry first, shim-bridge/app/vars.h app_template_expand). */
#ifndef SPIN_BRIDGE_WASI_ALLOWED_HOSTS_H
#define SPIN_BRIDGE_WASI_ALLOWED_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Longest entry accepted, after trimming surrounding whitespace. */
#define WH_ALLOWED_HOST_MAX 1024
/* Room for a host from wh_authority_split (a DNS name is at most 253). */
#define WH_HOST_SIZE 256

/* 0 when entry is a valid allowed_outbound_hosts entry; else -EINVAL with a
 * one-line message in err (may be NULL) saying what is wrong and how to
 * write it; the caller names the component and the entry. E.g. for
 * "example.com": no scheme; write "https://example.com" (or ...). */
int wh_allowed_hosts_validate(const char *entry, struct sk_error *err);

/* Does any of the n entries allow scheme://host:port? host is a DNS name or
 * an IP address (IPv6 without brackets); port is explicit (use the scheme's
 * default when the URL has none: wh_authority_split does that). Invalid
 * entries allow nothing. */
bool wh_allowed_hosts_match(const char *const *entries, size_t n, const char *scheme, const char *host,
                            unsigned port);

/* Does any entry allow a relative ("self") request over scheme: a valid
 * entry whose host is "self" or "*" and whose scheme matches? */
bool wh_allowed_hosts_self(const char *const *entries, size_t n, const char *scheme);

/* Split a request's authority, "host", "host:port", "[v6]" or "[v6]:port",
 * into host (NUL-terminated, IPv6 without brackets, at most host_size-1
 * bytes) and port (the default of scheme, "http" 80 or "https" 443, when
 * absent). Strict: a host is letters, digits, '.', '-' and '_', an IPv4
 * address or a bracketed IPv6 address (no zone); a port is 1-65535; no
 * userinfo. 0, or -EINVAL when malformed (or no default port is known). */
int wh_authority_split(const char *scheme, const char *authority, char *host, size_t host_size,
                       unsigned *port);

#endif
