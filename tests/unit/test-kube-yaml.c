/* YAML to JSON: scalar typing, structure, and the bounds (aliases, keys,
 * depth, size) with errors that say where. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "tests/tap.h"
#include "controller/kube/yaml.h"

/* Parse text; NULL on failure with err filled. The caller puts the result. */
static json_object *parse(const char *text, struct sk_error *err)
{
	json_object *o = NULL;

	if (kube_yaml_parse(text, strlen(text), &o, err) < 0)
		return NULL;
	return o;
}

static void test_scalars(void)
{
	struct sk_error err = {0};
	const char *doc = "t: true\nT: True\nf: false\nn: null\ntilde: ~\nempty:\ni: 42\nneg: -7\nplus: +3\n"
	                  "dq: \"42\"\nsq: 'true'\nfl: 1.5\noct: 007\nword: hello world\ntagged: !!str 12\n"
	                  "big: 99999999999999999999\nyes: yes\nblock: |\n  line one\n  line two\n";
	json_object *o = parse(doc, &err);
	int64_t v = 0;

	ok(o != NULL, "a document of scalars parses (%s)", err.message);
	ok(json_object_is_type(sk_json_get(o, "t"), json_type_boolean) && sk_json_bool(o, "t", false),
	   "true is a boolean");
	ok(sk_json_bool(o, "T", false), "True is a boolean too");
	ok(json_object_is_type(sk_json_get(o, "f"), json_type_boolean) && !sk_json_bool(o, "f", true),
	   "false is a boolean");
	ok(json_object_object_get_ex(o, "n", NULL) && sk_json_get(o, "n") == NULL, "null is JSON null (present)");
	ok(json_object_object_get_ex(o, "tilde", NULL) && sk_json_get(o, "tilde") == NULL, "~ is null");
	ok(json_object_object_get_ex(o, "empty", NULL) && sk_json_get(o, "empty") == NULL,
	   "an empty value is null");
	is_int(sk_json_int64(o, "i", &v), 0, "42 is an integer");
	is_int(v, 42, "its value");
	is_int(sk_json_int64(o, "neg", &v), 0, "-7 is an integer");
	is_int(v, -7, "its value");
	is_int(sk_json_int64(o, "plus", &v), 0, "+3 is an integer");
	is_int(v, 3, "its value");
	is_str(sk_json_str(o, "dq"), "42", "a double-quoted number stays a string");
	is_str(sk_json_str(o, "sq"), "true", "a single-quoted true stays a string");
	is_str(sk_json_str(o, "fl"), "1.5", "a float is kept as a string");
	is_str(sk_json_str(o, "oct"), "007", "a leading-zero number is a string");
	is_str(sk_json_str(o, "word"), "hello world", "a plain string");
	is_str(sk_json_str(o, "tagged"), "12", "!!str forces a string");
	is_str(sk_json_str(o, "big"), "99999999999999999999", "an integer past int64 is a string");
	is_str(sk_json_str(o, "yes"), "yes", "yes is not a boolean (only true/false are)");
	is_str(sk_json_str(o, "block"), "line one\nline two\n", "a literal block keeps its lines");
	json_object_put(o);
}

static void test_structure(void)
{
	struct sk_error err = {0};
	json_object *o, *list;

	o = parse("clusters:\n- name: a\n  cluster:\n    server: https://a\n- name: b\nflow: {x: [1, two]}\n",
	          &err);
	ok(o != NULL, "nested mappings and sequences parse (%s)", err.message);
	list = sk_json_arr(o, "clusters");
	ok(list && json_object_array_length(list) == 2, "a sequence of two mappings");
	is_str(sk_json_str(json_object_array_get_idx(list, 0), "cluster.server"), "https://a", "nested value");
	is_str(sk_json_str(json_object_array_get_idx(list, 1), "name"), "b", "second item");
	ok(json_object_array_length(sk_json_arr(o, "flow.x")) == 2, "flow style works");
	is_str(json_object_get_string(json_object_array_get_idx(sk_json_arr(o, "flow.x"), 1)), "two", "flow item");
	json_object_put(o);

	o = parse("", &err);
	ok(o && json_object_is_type(o, json_type_object) && json_object_object_length(o) == 0,
	   "an empty document is an empty object");
	json_object_put(o);
	o = parse("# only a comment\n---\n", &err);
	ok(o && json_object_is_type(o, json_type_object) && json_object_object_length(o) == 0,
	   "a document with only a comment is an empty object");
	json_object_put(o);

	o = parse("a: 1\n---\nb: 2\n", &err);
	ok(o && sk_json_get(o, "a") && !sk_json_get(o, "b"), "only the first document is read");
	json_object_put(o);

	o = parse("a: 1\na: 2\n", &err);
	ok(o && json_object_get_int(sk_json_get(o, "a")) == 2, "a repeated key: the last one wins");
	json_object_put(o);

	o = parse("a: &anchor 1\n", &err);
	ok(o && json_object_get_int(sk_json_get(o, "a")) == 1, "an anchor without alias is fine");
	json_object_put(o);

	o = parse("v: \"a\\0b\"\n", &err);
	ok(o && json_object_get_string_len(sk_json_get(o, "v")) == 3, "a NUL in a value is kept (length 3)");
	json_object_put(o);

	o = parse("plain scalar\n", &err);
	ok(o && json_object_is_type(o, json_type_string), "a scalar document is a JSON string");
	json_object_put(o);
}

/* `levels` nested flow sequences: [[[...]]] */
static char *nested(int levels)
{
	char *s = malloc((size_t)levels * 2 + 1);

	memset(s, '[', (size_t)levels);
	memset(s + levels, ']', (size_t)levels);
	s[levels * 2] = '\0';
	return s;
}

static void test_bounds(void)
{
	struct sk_error err = {0};
	json_object *o = NULL;
	char *deep;
	int r;

	o = parse("a: &x 1\nb: *x\n", &err);
	ok(o == NULL, "an alias is refused");
	is_str(err.message, "invalid YAML at line 2, column 4: aliases (*name) are not supported",
	       "and said where");
	o = parse("base: &b {x: 1}\nuse:\n  <<: *b\n", &err);
	ok(o == NULL && strstr(err.message, "line 3, column 7: aliases"),
	   "a merge key with an alias is refused: %s", err.message);

	o = parse("? [a, b]\n: 1\n", &err);
	ok(o == NULL, "a sequence as mapping key is refused");
	is_str(err.message, "invalid YAML at line 1, column 3: mapping keys must be scalars",
	       "and said where");
	o = parse("x:\n  {{a: 1}: 2}\n", &err);
	ok(o == NULL && strstr(err.message, "line 2, column 4: mapping keys must be scalars"),
	   "a mapping as key (flow) is refused: %s", err.message);
	o = parse("\"a\\0b\": 1\n", &err);
	ok(o == NULL && strstr(err.message, "line 1, column 1: a mapping key holds a NUL character"),
	   "a NUL in a key is refused: %s", err.message);

	deep = nested(SK_JSON_MAX_DEPTH);
	o = parse(deep, &err);
	ok(o != NULL, "%d levels of nesting are fine", SK_JSON_MAX_DEPTH);
	json_object_put(o);
	free(deep);
	deep = nested(SK_JSON_MAX_DEPTH + 1);
	o = parse(deep, &err);
	ok(o == NULL, "%d levels are refused", SK_JSON_MAX_DEPTH + 1);
	is_str(err.message, "invalid YAML at line 1, column 65: nested deeper than 64 levels",
	       "and said where");
	free(deep);

	o = parse("a: 1\n b: 2\n", &err);
	ok(o == NULL, "a syntax error is refused");
	is_str(err.message,
	       "invalid YAML at line 2, column 3: mapping values are not allowed in this context",
	       "with libyaml's reason and the place");
	o = parse("a: [1, 2\nb: 3\n", &err);
	ok(o == NULL && strstr(err.message, "invalid YAML at line ") && strstr(err.message, "(while parsing"),
	   "an unclosed flow sequence names line and context: %s", err.message);
	o = parse("a: \"tab\x01\"\n", &err);
	ok(o == NULL && strstr(err.message, "line 1, column"), "a control character is refused: %s",
	   err.message);

	{
		/* A sequence of 2^20 zeros: 2^20 + 1 values. "[0,0,...,0]" */
		size_t count = (1u << 20);
		char *many = malloc(2 * count + 2);

		many[0] = '[';
		for (size_t i = 0; i < count; i++)
			memcpy(many + 1 + 2 * i, "0,", 2);
		many[2 * count] = ']';
		many[2 * count + 1] = '\0';
		r = kube_yaml_parse(many, strlen(many), &o, &err);
		is_int(r, -E2BIG, "more than 2^20 values are refused");
		ok(strstr(err.message, "more than 1048576 values") != NULL, "and said: %s", err.message);
		free(many);
	}
	{
		size_t n = (16u << 20) + 1;
		char *big = malloc(n);

		memset(big, ' ', n);
		r = kube_yaml_parse(big, n, &o, &err);
		is_int(r, -E2BIG, "input over 16 MiB is refused");
		ok(strstr(err.message, "larger than 16 MiB") != NULL, "and said: %s", err.message);
		free(big);
	}
}

int main(void)
{
	test_scalars();
	test_structure();
	test_bounds();
	return tap_done();
}
