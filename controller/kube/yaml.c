/* YAML to JSON through libyaml's event parser (see yaml.h).
 *
 * The tree is built top-down: each new container is attached to its parent
 * as soon as it starts, so on any error putting the root frees everything
 * built so far; the only other owned memory is the pending mapping key of each
 * open frame. */
/* <yaml.h> is this folder's yaml.h, which then pulls in libyaml's (see its end). */
#define KUBE_YAML_INCLUDE_LIBYAML
#include <yaml.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

/* Input larger than this is refused before libyaml sees it. */
#define KUBE_YAML_MAX_INPUT (16u << 20)
/* Values (scalars and containers) in one document: a JSON node costs some
 * 50-100 bytes against 2 bytes of YAML ("1,"), so the tree gets a cap of its
 * own. */
#define KUBE_YAML_MAX_NODES (1u << 20)

struct frame {
	json_object *obj; /* borrowed: owned by the parent (or by the root) */
	char *key;        /* owned: a mapping key waiting for its value */
};

struct builder {
	struct frame stack[SK_JSON_MAX_DEPTH];
	int depth;         /* open containers */
	unsigned nodes;    /* values seen so far */
	json_object *root; /* owned; NULL (JSON null) until a value arrives */
};

static void builder_free(struct builder *b)
{
	for (int i = 0; i < b->depth; i++)
		free(b->stack[i].key);
	b->depth = 0;
	if (b->root)
		json_object_put(b->root);
	b->root = NULL;
}

static int mark_err(struct sk_error *err, int code, const yaml_mark_t *m, const char *what)
{
	return sk_err(err, code, "invalid YAML at line %zu, column %zu: %s", m->line + 1, m->column + 1,
	              what);
}

/* Does the frame on top wait for a mapping key (rather than a value)? */
static bool wants_key(const struct builder *b)
{
	const struct frame *f;

	if (b->depth == 0)
		return false;
	f = &b->stack[b->depth - 1];
	return json_object_is_type(f->obj, json_type_object) && !f->key;
}

/* Attach value (a new reference, taken in every case; NULL is JSON null)
 * where the parser is: as the root, into the open sequence, or under the
 * pending key. */
static int attach(struct builder *b, json_object *value)
{
	struct frame *f;
	int r = 0;

	if (b->depth == 0) {
		b->root = value;
		return 0;
	}
	f = &b->stack[b->depth - 1];
	if (json_object_is_type(f->obj, json_type_array))
		r = json_object_array_add(f->obj, value);
	else
		r = json_object_object_add(f->obj, f->key, value);
	free(f->key);
	f->key = NULL;
	if (r < 0) {
		json_object_put(value);
		return -ENOMEM;
	}
	return 0;
}

/* A decimal integer as YAML core schema writes it: [-+]?(0|[1-9][0-9]*),
 * within int64. */
static bool parse_int(const char *s, size_t n, int64_t *out)
{
	char *end;
	size_t i = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
	long long v;

	if (i == n || (s[i] == '0' && n - i > 1))
		return false;
	for (size_t j = i; j < n; j++)
		if (s[j] < '0' || s[j] > '9')
			return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || end != s + n)
		return false;
	*out = v;
	return true;
}

static bool word_is(const char *s, size_t n, const char *lower, const char *title, const char *upper)
{
	size_t w = strlen(lower);

	return n == w && (!memcmp(s, lower, n) || !memcmp(s, title, n) || !memcmp(s, upper, n));
}

/* The JSON value of a scalar into *out (a new reference; NULL is JSON
 * null): typed only when plain and not tagged !!str. Returns 0 or -ENOMEM. */
static int scalar_value(const yaml_event_t *ev, json_object **out)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	int64_t v;

	*out = NULL;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || (tag && !strcmp(tag, YAML_STR_TAG)))
		*out = json_object_new_string_len(s, (int)n);
	else if (n == 0 || word_is(s, n, "null", "Null", "NULL") || (n == 1 && s[0] == '~'))
		return 0;
	else if (word_is(s, n, "true", "True", "TRUE"))
		*out = json_object_new_boolean(1);
	else if (word_is(s, n, "false", "False", "FALSE"))
		*out = json_object_new_boolean(0);
	else if (parse_int(s, n, &v))
		*out = json_object_new_int64(v);
	else
		*out = json_object_new_string_len(s, (int)n);
	return *out ? 0 : -ENOMEM;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev, struct sk_error *err)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	json_object *value;

	if (wants_key(b)) {
		if (memchr(s, '\0', n))
			return mark_err(err, -EINVAL, &ev->start_mark, "a mapping key holds a NUL character");
		b->stack[b->depth - 1].key = strndup(s, n);
		return b->stack[b->depth - 1].key ? 0 : sk_err(err, -ENOMEM, "out of memory");
	}
	if (scalar_value(ev, &value) < 0 || attach(b, value) < 0)
		return sk_err(err, -ENOMEM, "out of memory");
	return 0;
}

static int on_start(struct builder *b, const yaml_event_t *ev, bool mapping, struct sk_error *err)
{
	json_object *obj;

	if (wants_key(b))
		return mark_err(err, -EINVAL, &ev->start_mark, "mapping keys must be scalars");
	if (b->depth >= SK_JSON_MAX_DEPTH)
		return sk_err(err, -EINVAL,
		              "invalid YAML at line %zu, column %zu: nested deeper than %d levels",
		              ev->start_mark.line + 1, ev->start_mark.column + 1, SK_JSON_MAX_DEPTH);
	obj = mapping ? json_object_new_object() : json_object_new_array();
	if (!obj)
		return sk_err(err, -ENOMEM, "out of memory");
	/* attach() takes the reference; the frame borrows it. */
	if (attach(b, json_object_get(obj)) < 0) {
		json_object_put(obj);
		return sk_err(err, -ENOMEM, "out of memory");
	}
	b->stack[b->depth++] = (struct frame){.obj = obj, .key = NULL};
	json_object_put(obj);
	return 0;
}

static void on_end(struct builder *b)
{
	if (b->depth > 0)
		b->depth--;
}

/* Feed one event to the builder. Returns 1 when the first document is
 * complete, 0 to go on, or a negative errno. */
static int on_event(struct builder *b, const yaml_event_t *ev, struct sk_error *err)
{
	bool value = ev->type == YAML_SCALAR_EVENT || ev->type == YAML_SEQUENCE_START_EVENT ||
	             ev->type == YAML_MAPPING_START_EVENT;

	if (value && ++b->nodes > KUBE_YAML_MAX_NODES)
		return sk_err(err, -E2BIG, "invalid YAML at line %zu, column %zu: more than %u values",
		              ev->start_mark.line + 1, ev->start_mark.column + 1, KUBE_YAML_MAX_NODES);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev, err);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, ev, false, err);
	case YAML_MAPPING_START_EVENT:
		return on_start(b, ev, true, err);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_end(b);
		return 0;
	case YAML_ALIAS_EVENT:
		return mark_err(err, -EINVAL, &ev->start_mark, "aliases (*name) are not supported");
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_DOCUMENT_START_EVENT:
		return 0;
	}
	return 0;
}

static int parser_err(const yaml_parser_t *p, struct sk_error *err)
{
	const char *problem = p->problem ? p->problem : "cannot parse";

	if (p->error == YAML_MEMORY_ERROR)
		return sk_err(err, -ENOMEM, "out of memory");
	if (p->context)
		return sk_err(err, -EINVAL, "invalid YAML at line %zu, column %zu: %s (%s)",
		              p->problem_mark.line + 1, p->problem_mark.column + 1, problem, p->context);
	return mark_err(err, -EINVAL, &p->problem_mark, problem);
}

/* Run the parser over the first document into b. */
static int build(yaml_parser_t *p, struct builder *b, struct sk_error *err)
{
	for (;;) {
		yaml_event_t ev;
		int r;

		if (!yaml_parser_parse(p, &ev))
			return parser_err(p, err);
		r = on_event(b, &ev, err);
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
		if (r > 0)
			return 0;
	}
}

int kube_yaml_parse(const char *text, size_t len, json_object **out, struct sk_error *err)
{
	struct builder b = {.depth = 0, .nodes = 0, .root = NULL};
	yaml_parser_t parser;
	int r;

	if (len > KUBE_YAML_MAX_INPUT)
		return sk_err(err, -E2BIG, "YAML document of %zu bytes is larger than %u MiB", len,
		              KUBE_YAML_MAX_INPUT >> 20);
	if (!yaml_parser_initialize(&parser))
		return sk_err(err, -ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	r = build(&parser, &b, err);
	yaml_parser_delete(&parser);
	if (r < 0) {
		builder_free(&b);
		return r;
	}
	if (!b.root || json_object_is_type(b.root, json_type_null)) {
		builder_free(&b);
		b.root = json_object_new_object();
		if (!b.root)
			return sk_err(err, -ENOMEM, "out of memory");
	}
	*out = b.root;
	return 0;
}
