/* A growable byte buffer with a hard maximum.
 *
 * Every buffer fed from outside the process (response bodies, watch lines,
 * files) is an sk_buf with a max, so input past the cap is a clean -E2BIG, not
 * an allocation without end. The buffer owns data; sk_buf_free releases it.
 * data is always NUL-terminated (not counted in len) once anything was
 * appended, so text can be read in place. */
#ifndef SPINKUBE_BUF_H
#define SPINKUBE_BUF_H

#include <stddef.h>

struct sk_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* len never exceeds max */
};

/* An empty buffer that holds at most max bytes. */
static inline struct sk_buf sk_buf_make(size_t max)
{
	return (struct sk_buf){ .data = NULL, .len = 0, .cap = 0, .max = max };
}

/* Append n bytes. Returns 0, -E2BIG when len would pass max (nothing is
 * appended), or -ENOMEM. */
int sk_buf_append(struct sk_buf *b, const void *p, size_t n);

/* Drop the first n bytes (n <= len), keeping the rest. */
void sk_buf_consume(struct sk_buf *b, size_t n);

/* Forget the contents, keep the allocation. */
void sk_buf_reset(struct sk_buf *b);

/* Hand the contents to the caller (NUL-terminated, caller frees; never NULL
 * on success: an empty buffer yields ""); the buffer is left empty. Returns
 * NULL on -ENOMEM. */
char *sk_buf_steal(struct sk_buf *b, size_t *len);

/* End building into b with r, the result of the last step: when r < 0 the
 * buffer is freed and r returned; else its contents go to *out as
 * sk_buf_steal hands them (caller frees) and the return is 0 or -ENOMEM. */
int sk_buf_finish(struct sk_buf *b, int r, char **out);

void sk_buf_free(struct sk_buf *b);

/* Read a whole file of at most max bytes into *out (NUL-terminated, caller
 * frees). Returns 0, -E2BIG when larger, or a negative errno from open/read. */
int sk_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
