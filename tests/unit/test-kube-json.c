/* JSON helpers: bounded parsing, path reads, builders. */
#include <errno.h>
#include <string.h>

#include "common/json.h"
#include "tests/tap.h"

int main(void)
{
	struct sk_error err = { 0 };
	json_object *o = NULL;
	const char *doc = "{\"metadata\":{\"name\":\"web\",\"labels\":{\"a.b/c\":\"x\"},\"generation\":7},"
			  "\"spec\":{\"replicas\":3,\"paused\":true,\"list\":[1,2]}}";
	int64_t v = 0;

	is_int(sk_json_parse(doc, strlen(doc), &o, &err), 0, "a valid document parses");
	is_str(sk_json_str(o, "metadata.name"), "web", "sk_json_str follows a dotted path");
	ok(sk_json_str(o, "metadata.generation") == NULL, "sk_json_str of a number is NULL");
	ok(sk_json_str(o, "metadata.nope") == NULL, "sk_json_str of a missing key is NULL");
	ok(sk_json_str(o, "metadata..name") == NULL, "an empty path step finds nothing");
	is_str(json_object_get_string(sk_json_getv(o, "metadata", "labels", "a.b/c", NULL)), "x",
	       "sk_json_getv reaches keys with dots");
	is_int(sk_json_int64(o, "spec.replicas", &v), 0, "sk_json_int64 reads an integer");
	is_int(v, 3, "the integer's value");
	is_int(sk_json_int64(o, "spec.paused", &v), -EINVAL, "sk_json_int64 of a boolean is -EINVAL");
	is_int(sk_json_int64(o, "spec.nope", &v), -ENOENT, "sk_json_int64 of a missing key is -ENOENT");
	ok(sk_json_bool(o, "spec.paused", false), "sk_json_bool reads true");
	ok(sk_json_bool(o, "spec.nope", true), "sk_json_bool falls back to the default");
	ok(sk_json_arr(o, "spec.list") && json_object_array_length(sk_json_arr(o, "spec.list")) == 2, "sk_json_arr");
	ok(sk_json_obj(o, "spec.list") == NULL, "sk_json_obj of an array is NULL");

	json_object *status = sk_json_ensure_obj(o, "status");
	is_int(sk_json_set_int64(status, "readyReplicas", 2), 0, "sk_json_set_int64");
	is_int(sk_json_set_str(status, "phase", "Ready"), 0, "sk_json_set_str");
	ok(sk_json_ensure_obj(o, "status") == status, "sk_json_ensure_obj returns the existing object");
	ok(sk_json_ensure_obj(sk_json_obj(o, "metadata"), "name") == NULL, "sk_json_ensure_obj refuses a non-object");
	is_str(sk_json_to_string(status, NULL), "{\"readyReplicas\":2,\"phase\":\"Ready\"}", "sk_json_to_string is compact");
	json_object_put(o);

	o = NULL;
	is_int(sk_json_parse("{\"a\":1} x", 9, &o, &err), -EINVAL, "trailing data is refused");
	ok(strstr(err.message, "trailing data") != NULL, "and said: %s", err.message);
	is_int(sk_json_parse("{\"a\":", 5, &o, &err), -EINVAL, "a truncated document is refused");
	ok(strstr(err.message, "ends early") != NULL, "and said: %s", err.message);
	{
		char deep[200];
		memset(deep, '[', 100);
		memset(deep + 100, ']', 100);
		is_int(sk_json_parse(deep, sizeof(deep), &o, &err), -EINVAL, "nesting past the depth cap is refused");
	}
	is_int(sk_json_parse("{\"a\":1}\n", 8, &o, &err), 0, "trailing whitespace is fine");
	json_object_put(o);
	return tap_done();
}
