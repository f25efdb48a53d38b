/* Small file-system helpers the programs share. */
#ifndef SPINKUBE_COMMON_FSUTIL_H
#define SPINKUBE_COMMON_FSUTIL_H

#include <sys/types.h>

/* Create path and every missing folder above it, like mkdir -p, with mode
 * for the new ones. Folders that exist are fine. Returns 0 or a negative
 * errno (-ENAMETOOLONG past PATH_MAX). */
int sk_mkdir_p(const char *path, mode_t mode);

#endif
