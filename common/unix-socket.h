/* Unix stream sockets by path: the one place that checks a path against
 * sun_path's 108 bytes, binds and connects (the shim's ttrpc server and
 * client, and its start command). */
#ifndef SPINKUBE_COMMON_UNIX_SOCKET_H
#define SPINKUBE_COMMON_UNIX_SOCKET_H

#include "common/err.h"

/* Bind a close-on-exec stream socket to path (which must not exist) and
 * listen with backlog. Returns the descriptor, or -ENAMETOOLONG or a
 * negative errno from socket/bind/listen, with one line in err naming the
 * path (what is the caller's: "ttrpc server"). */
int sk_unix_listen(const char *what, const char *path, int backlog, struct sk_error *err);

/* Connect a close-on-exec stream socket to path. Returns the descriptor or
 * a negative errno (-ENAMETOOLONG, or connect's: -ENOENT, -ECONNREFUSED). */
int sk_unix_connect(const char *what, const char *path, struct sk_error *err);

#endif
