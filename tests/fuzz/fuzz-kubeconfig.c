/* libFuzzer target: kubeconfig text (YAML through libyaml, then the kubeconfig
 * rules) must never crash, leak or hang, whatever the bytes. The path is
 * fixed; files the input names (certificate-authority, tokenFile) are looked
 * up relative to /fuzz, which does not exist, so no real file is needed.
 * Build (see tests/meson.build for the suite wiring):
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I common -I controller/kube -I build \
 *     tests/fuzz/fuzz-kubeconfig.c controller/kube/{yaml,config,exec,json}.c common/{err,buf}.c \
 *     $(pkg-config --cflags --libs json-c yaml-0.1 openssl) */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "controller/kube/config.h"
#include "common/escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_config *cfg = NULL;
	struct sk_error err = {0};
	const char *context = NULL;

	/* A first byte of 'C' picks the context "a" instead of current-context,
	 * so that both ways of choosing are explored. */
	if (size > 0 && data[0] == 'C') {
		context = "a";
		data++;
		size--;
	}
	if (kube_config_from_text((const char *)data, size, "/fuzz/kubeconfig", context, &cfg, &err) == 0)
		kube_config_free(cfg);
	else if (!sk_is_one_line(err.message))
		__builtin_trap(); /* messages are one line */
	return 0;
}
