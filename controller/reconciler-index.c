/* The reconciler's reference index: which apps reference which Secret or
 * ConfigMap ("Secret/ns/name" -> app keys, and back), which runtime-config
 * Secrets and ReplicaSets belong to each app, and the hash of everything an
 * app references (a change there rolls its pods). The index lists are
 * struct strlist values in strmaps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/strmap.h"
#include "controller/reconciler-internal.h"
#include "controller/render/render.h"

void strlist_free(struct strlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l);
}

bool strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* Add value under key in a multimap (no duplicates). */
int rec_index_add(struct strmap *m, const char *key, const char *value)
{
	struct strlist *l = strmap_get(m, key);

	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || !strmap_put(m, key, l, NULL)) {
			free(l);
			return -ENOMEM;
		}
	}
	if (strlist_has(l, value))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(value)))
		return -ENOMEM;
	l->n++;
	return 0;
}

void rec_index_remove(struct strmap *m, const char *key, const char *value)
{
	struct strlist *l = strmap_get(m, key);

	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], value) == 0) {
			free(l->v[i]);
			l->v[i] = l->v[--l->n];
			break;
		}
	}
	if (l->n == 0)
		strlist_free(strmap_remove(m, key));
}

int rec_free_list_entry(struct strmap_entry *e, void *ud)
{
	strlist_free(e->value);
	return 1;
}

int rec_free_plain_entry(struct strmap_entry *e, void *ud)
{
	free(e->value);
	return 1;
}

/* Apps that reference kind/key ("Secret/ns/name"). */
void rec_refs_touched(struct reconciler *r, const char *kind, const char *key)
{
	char rk[600];
	struct strlist *l;

	snprintf(rk, sizeof(rk), "%s/%s", kind, key);
	l = strmap_get(&r->refs, rk);
	for (size_t i = 0; l && i < l->n; i++)
		rec_enqueue(r, l->v[i]);
}

/* The app key owning a runtime-config Secret ("ns/A-hash" with label A). */
bool rec_owner_key(const char *key, const char *app, char *out, size_t size)
{
	char ns[256], name[256];

	if (!app || rec_split_key(key, ns, sizeof(ns), name, sizeof(name)) < 0)
		return false;
	snprintf(out, size, "%s/%s", ns, app);
	return true;
}

/* --- references ------------------------------------------------------------------ */

struct refs_ctx {
	struct reconciler *r;
	const char *ns;
	const char *app_key;
	struct strlist *seen;  /* "Kind/ns/name" */
	char missing[512];     /* first missing required reference */
};

/* Note one reference; remember the first required one that does not exist. */
static void note_ref(struct refs_ctx *x, const char *kind, json_object *ref, bool required)
{
	const char *name = sk_json_str(ref, "name");
	char key[600], rk[700];

	if (!name)
		return;
	snprintf(key, sizeof(key), "%s/%s", x->ns, name);
	snprintf(rk, sizeof(rk), "%s/%s", kind, key);
	if (!strlist_has(x->seen, rk)) {
		rec_index_add(&x->r->refs, rk, x->app_key);
		if (x->seen->n == x->seen->cap) {
			size_t cap = x->seen->cap ? x->seen->cap * 2 : 8;
			char **v = realloc(x->seen->v, cap * sizeof(*v));
			if (!v)
				return;
			x->seen->v = v;
			x->seen->cap = cap;
		}
		x->seen->v[x->seen->n] = strdup(rk);
		if (x->seen->v[x->seen->n])
			x->seen->n++;
	}
	if (required && !x->missing[0] &&
	    !kube_informer_get(strcmp(kind, "Secret") == 0 ? x->r->secrets : x->r->cms, key))
		snprintf(x->missing, sizeof(x->missing), "%s \"%s\" does not exist in namespace %s", kind, name, x->ns);
}

static void note_value_from(struct refs_ctx *x, json_object *vf)
{
	json_object *s = sk_json_obj(vf, "secretKeyRef"), *c = sk_json_obj(vf, "configMapKeyRef");

	if (s)
		note_ref(x, "Secret", s, !sk_json_bool(s, "optional", false));
	if (c)
		note_ref(x, "ConfigMap", c, !sk_json_bool(c, "optional", false));
}

static void note_options(struct refs_ctx *x, json_object *opts)
{
	for (size_t i = 0; opts && i < json_object_array_length(opts); i++)
		note_value_from(x, sk_json_obj(json_object_array_get_idx(opts, i), "valueFrom"));
}

/* Collect the app's references into the index (replacing its old ones) and
 * hash what they hold now. */
void rec_collect_refs(struct reconciler *r, json_object *app, const char *key, const char *ns, char *missing,
			 size_t msize, char refs_hash[17])
{
	struct strlist *seen = calloc(1, sizeof(*seen)), *old;
	struct refs_ctx x = { r, ns, key, seen, "" };
	json_object *vars = sk_json_arr(app, "spec.variables"), *rc = sk_json_obj(app, "spec.runtimeConfig");
	struct sk_buf h = sk_buf_make(1u << 20);

	if (!seen)
		return;
	for (size_t i = 0; vars && i < json_object_array_length(vars); i++)
		note_value_from(&x, sk_json_obj(json_object_array_get_idx(vars, i), "valueFrom"));
	if (rc && sk_json_str(rc, "loadFromSecret")) {
		json_object *ref = json_object_new_object();
		sk_json_set_str(ref, "name", sk_json_str(rc, "loadFromSecret"));
		note_ref(&x, "Secret", ref, true);
		json_object_put(ref);
	} else if (rc) {
		json_object *stores[] = { sk_json_arr(rc, "keyValueStores"), sk_json_arr(rc, "sqliteDatabases") };
		for (size_t s = 0; s < 2; s++)
			for (size_t i = 0; stores[s] && i < json_object_array_length(stores[s]); i++)
				note_options(&x, sk_json_arr(json_object_array_get_idx(stores[s], i), "options"));
		note_options(&x, sk_json_arr(rc, "llmCompute.options"));
	}
	/* Drop index entries of references the app no longer has. */
	old = strmap_get(&r->app_refs, key);
	for (size_t i = 0; old && i < old->n; i++)
		if (!strlist_has(seen, old->v[i]))
			rec_index_remove(&r->refs, old->v[i], key);
	old = NULL;
	strmap_put(&r->app_refs, key, seen, (void **)&old);
	strlist_free(old);
	/* The hash of everything referenced: a change there rolls the pods. */
	for (size_t i = 0; i < seen->n; i++) {
		const char *rk = seen->v[i];
		bool secret = strncmp(rk, "Secret/", 7) == 0;
		const struct small_obj *o = kube_informer_get(secret ? r->secrets : r->cms, strchr(rk, '/') + 1);
		sk_buf_append(&h, rk, strlen(rk));
		sk_buf_append(&h, "=", 1);
		if (o)
			sk_buf_append(&h, o->data_hash, strlen(o->data_hash));
		sk_buf_append(&h, "\n", 1);
	}
	refs_hash[0] = '\0';
	if (seen->n)
		render_hash(h.data, h.len, 16, refs_hash);
	sk_buf_free(&h);
	snprintf(missing, msize, "%s", x.missing);
}

/* Lookup of Secret and ConfigMap values for the runtime config: a GET each
 * (rare, and only when the runtime config changes). */
