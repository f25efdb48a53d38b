/* The Secrets of a SpinApp: the runtime-config Secret (named after the hash
 * of its content, so a change rolls the pods) and the CA Secret an executor
 * installs. Pure: no I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "controller/render/build.h"
#include "controller/render/render.h"

/* An Opaque Secret with one key; metadata is taken. */
static json_object *opaque_secret(struct build *b, json_object *md, const char *key, const void *data,
                                  size_t len)
{
	json_object *s = json_object_new_object();
	_cleanup_free_ char *b64 = sk_base64_encode(data, len);

	if (!b64)
		b->oom = true;
	put_str(b, s, "apiVersion", "v1");
	put_str(b, s, "kind", "Secret");
	put(b, s, "metadata", md);
	put_str(b, s, "type", "Opaque");
	if (b64)
		put_str(b, put_obj(b, s, "data"), key, b64);
	return s;
}

int render_runtime_config_secret(json_object *app, const char *toml, json_object **out, char **name_out,
                                 struct sk_error *err)
{
	_cleanup_json_ json_object *root = NULL;
	_cleanup_free_ char *name = NULL;
	char hash[RUNTIME_CONFIG_HASH_LEN + 1];
	struct build b = {false};
	struct app_meta m = {0};
	size_t len;
	int r;

	if ((r = render_app_meta(app, &m, err)) < 0)
		return r;
	if (!toml)
		return sk_err(err, -EINVAL, "SpinApp \"%s\": no runtime config to store", m.name);
	len = strlen(toml);
	render_hash(toml, len, RUNTIME_CONFIG_HASH_LEN, hash);
	if (!hash[0])
		return oom(err);
	len = strlen(m.name) + 1 + RUNTIME_CONFIG_HASH_LEN + 1;
	name = malloc(len);
	if (!name)
		return oom(err);
	(void)snprintf(name, len, "%s-%s", m.name, hash);

	root = opaque_secret(&b, render_metadata(&b, name, m.ns, render_app_labels(&b, m.name), NULL, &m),
	                     SPIN_RUNTIME_CONFIG_KEY, toml, strlen(toml));
	if (b.oom)
		return oom(err);
	*out = TAKE_PTR(root);
	if (name_out)
		*name_out = TAKE_PTR(name);
	return 0;
}

int render_ca_secret(const char *ns, const char *name, const char *bundle, size_t len, json_object **out,
                     struct sk_error *err)
{
	_cleanup_json_ json_object *root = NULL;
	struct build b = {false};
	json_object *labels;

	if (!ns || !*ns)
		return sk_err(err, -EINVAL, "CA Secret: no namespace given");
	if (!name || !*name)
		return sk_err(err, -EINVAL, "CA Secret in %s: no name given", ns);
	if (!bundle && len)
		return sk_err(err, -EINVAL, "CA Secret %s/%s: no bundle given", ns, name);
	labels = json_object_new_object();
	put_str(&b, labels, MANAGED_BY_LABEL, MANAGED_BY_VALUE);
	root = opaque_secret(&b, render_metadata(&b, name, ns, labels, NULL, NULL), SPIN_CA_KEY,
	                     bundle ? bundle : "", len);
	if (b.oom)
		return oom(err);
	*out = TAKE_PTR(root);
	return 0;
}
