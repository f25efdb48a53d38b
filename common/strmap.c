#include "common/strmap.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a: short keys, no adversary who could pick colliding names cheaply
 * matters more than speed here (names come from the apiserver). */
static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

struct strmap_entry *strmap_find(const struct strmap *m, const char *key)
{
	uint32_t h;

	if (!m->nslots)
		return NULL;
	h = hash_str(key);
	for (struct strmap_entry *e = m->slots[h & (m->nslots - 1)]; e; e = e->next)
		if (e->hash == h && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static int grow(struct strmap *m)
{
	size_t n = m->nslots ? m->nslots * 2 : 64;
	struct strmap_entry **slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < m->nslots; i++) {
		struct strmap_entry *e = m->slots[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = slots[e->hash & (n - 1)];
			slots[e->hash & (n - 1)] = e;
		}
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
	return 0;
}

struct strmap_entry *strmap_put(struct strmap *m, const char *key, void *value, void **old)
{
	struct strmap_entry *e = strmap_find(m, key);
	size_t len;

	if (e) {
		if (old)
			*old = e->value;
		e->value = value;
		return e;
	}
	if (old)
		*old = NULL;
	/* Keep the load factor at or under 1. */
	if (m->size >= m->nslots && grow(m) < 0)
		return NULL;
	len = strlen(key);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->key, key, len + 1);
	e->hash = hash_str(key);
	e->mark = 0;
	e->value = value;
	e->next = m->slots[e->hash & (m->nslots - 1)];
	m->slots[e->hash & (m->nslots - 1)] = e;
	m->size++;
	return e;
}

void *strmap_remove(struct strmap *m, const char *key)
{
	uint32_t h;

	if (!m->nslots)
		return NULL;
	h = hash_str(key);
	for (struct strmap_entry **p = &m->slots[h & (m->nslots - 1)]; *p; p = &(*p)->next) {
		struct strmap_entry *e = *p;
		if (e->hash == h && strcmp(e->key, key) == 0) {
			void *v = e->value;
			*p = e->next;
			free(e);
			m->size--;
			return v;
		}
	}
	return NULL;
}

void strmap_foreach(const struct strmap *m, void (*fn)(struct strmap_entry *e, void *ud), void *ud)
{
	for (size_t i = 0; i < m->nslots; i++)
		for (struct strmap_entry *e = m->slots[i]; e; e = e->next)
			fn(e, ud);
}

void strmap_filter(struct strmap *m, int (*fn)(struct strmap_entry *e, void *ud), void *ud)
{
	for (size_t i = 0; i < m->nslots; i++) {
		struct strmap_entry **p = &m->slots[i];
		while (*p) {
			struct strmap_entry *e = *p;
			if (!fn || fn(e, ud)) {
				*p = e->next;
				free(e);
				m->size--;
			} else {
				p = &e->next;
			}
		}
	}
}

void strmap_clear(struct strmap *m)
{
	strmap_filter(m, NULL, NULL);
	free(m->slots);
	m->slots = NULL;
	m->nslots = 0;
	m->size = 0;
}

size_t strmap_bytes(const struct strmap *m)
{
	size_t bytes = m->nslots * sizeof(*m->slots);

	for (size_t i = 0; i < m->nslots; i++)
		for (struct strmap_entry *e = m->slots[i]; e; e = e->next)
			bytes += sizeof(*e) + strlen(e->key) + 1;
	return bytes;
}
