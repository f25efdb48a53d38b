/* A hash map from strings to pointers, with the key stored inline in each
 * entry (one allocation per entry). Built for large, long-lived sets, such as
 * the informer's store and the work queue: an entry costs its key, the value
 * pointer, and 24 bytes of bookkeeping plus one slot of the table.
 *
 * Ownership: the map copies keys; values are the caller's (the map never frees
 * them). Pointers returned by strmap_get and strmap_key stay valid until the
 * entry is removed. */
#ifndef SPINKUBE_STRMAP_H
#define SPINKUBE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_entry {
	struct strmap_entry *next; /* chain */
	uint32_t hash;
	uint32_t mark;             /* free for the user (generation marks) */
	void *value;
	char key[];
};

struct strmap {
	struct strmap_entry **slots;
	size_t nslots; /* power of two, or 0 */
	size_t size;
};

/* The entry for key, or NULL. */
struct strmap_entry *strmap_find(const struct strmap *m, const char *key);

static inline void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry *e = strmap_find(m, key);
	return e ? e->value : (void *)0;
}

/* Insert or replace. When old is not NULL it receives the previous value
 * (NULL when the key was new). Returns the entry, or NULL on -ENOMEM. */
struct strmap_entry *strmap_put(struct strmap *m, const char *key, void *value, void **old);

/* Remove key; returns its value (NULL when absent). */
void *strmap_remove(struct strmap *m, const char *key);

/* Visit every entry; fn may not add or remove entries. */
void strmap_foreach(const struct strmap *m, void (*fn)(struct strmap_entry *e, void *ud), void *ud);

/* Visit every entry; fn returns non-zero to remove the entry after the call
 * (it must release the value itself). */
void strmap_filter(struct strmap *m, int (*fn)(struct strmap_entry *e, void *ud), void *ud);

/* Free all entries (values untouched) and the table. */
void strmap_clear(struct strmap *m);

/* Bytes the map itself holds (entries and table), for memory figures. */
size_t strmap_bytes(const struct strmap *m);

#endif
