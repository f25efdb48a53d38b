#include "common/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

int sk_buf_append(struct sk_buf *b, const void *p, size_t n)
{
	if (n > b->max - b->len)
		return -E2BIG;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		char *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void sk_buf_consume(struct sk_buf *b, size_t n)
{
	if (n >= b->len) {
		sk_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void sk_buf_reset(struct sk_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *sk_buf_steal(struct sk_buf *b, size_t *len)
{
	char *d = b->data;

	if (!d) {
		d = strdup("");
		if (!d)
			return NULL;
	}
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void sk_buf_free(struct sk_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int sk_read_file(const char *path, size_t max, char **out, size_t *len)
{
	_cleanup_close_ int fd = -1;
	struct sk_buf b = sk_buf_make(max);
	char chunk[16384];
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		r = sk_buf_append(&b, chunk, (size_t)n);
		if (r < 0)
			goto fail;
	}
	*out = sk_buf_steal(&b, len);
	return *out ? 0 : -ENOMEM;
fail:
	sk_buf_free(&b);
	return r;
}

int sk_buf_finish(struct sk_buf *b, int r, char **out)
{
	char *s;

	if (r < 0) {
		sk_buf_free(b);
		return r;
	}
	if (!(s = sk_buf_steal(b, NULL)))
		return -ENOMEM;
	*out = s;
	return 0;
}
