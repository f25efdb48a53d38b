/* Scope-cleanup helpers.
 *
 * Every owning local starts as NULL (or -1 for descriptors) and carries a
 * _cleanup_ attribute, so that each early return releases what was acquired.
 * Ownership leaves a scope only through TAKE_PTR / TAKE_FD, which also reset
 * the local so the cleanup handler sees nothing to free. */
#ifndef SPINKUBE_CLEANUP_H
#define SPINKUBE_CLEANUP_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand the pointer out and leave NULL behind. */
#define TAKE_PTR(p)                        \
	__extension__({                    \
		__typeof__(p) _ptr_ = (p); \
		(p) = NULL;                \
		_ptr_;                     \
	})

/* Hand the descriptor out and leave -1 behind. */
#define TAKE_FD(fd)                \
	__extension__({            \
		int _fd_ = (fd);   \
		(fd) = -1;         \
		_fd_;              \
	})

#endif
