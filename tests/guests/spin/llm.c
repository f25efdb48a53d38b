/* Spin LLM: fermyon:spin/llm@2.0.0 infer with the prompt ?prompt=TEXT,
 * answering 200 with the text or 500 with the error case. spin-bridge does
 * not serve fermyon:spin/llm: the runtime tests check that it refuses this
 * component at start, naming it and the interface. */
#include "http.h"

#define LLM(name) fermyon_spin_2_0_0_llm_##name

void HANDLE(own_request_t request, own_outparam_t out)
{
	borrow_request_t req = HTTP(borrow_incoming_request)(request);
	char *path = request_path(req), *prompt = query_param(path, "prompt");
	guest_string_t model = {.ptr = (uint8_t *)"llama2-chat", .len = 11};
	guest_string_t p = {.ptr = (uint8_t *)(prompt ? prompt : ""), .len = prompt ? strlen(prompt) : 0};
	LLM(inferencing_result_t) res;
	LLM(error_t) err;

	if (LLM(infer)(&model, &p, NULL, &res, &err)) {
		char text[1024];
		snprintf(text, sizeof(text), "%.*s\n", (int)res.text.len, (const char *)res.text.ptr);
		LLM(inferencing_result_free)(&res);
		respond_text(out, 200, text);
	} else {
		LLM(error_free)(&err);
		respond_text(out, 500, "llm error\n");
	}
	free(path);
	free(prompt);
	HTTP(incoming_request_drop_own)(request);
}
