// Request bodies as clients send them: parsed, then checked by the validation every OpenAI and
// Xinference route runs (chat, completion, embedding, rerank, launch). A bad body must end in
// an ApiError (a 4xx answer), never a crash, hang or other exception.
#include <cstdint>
#include <string>

#include "api/openai_validation.h"
#include "common/errors.h"
#include "common/json_util.h"
#include "supervisor/launch_request.h"

using namespace xinfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    json j;
    try {
        j = parse_json_object(body);
    } catch (const ApiError&) {
        return 0;
    }
    for (auto validate : {validate_chat_request, validate_completion_request, validate_embedding_request,
                          validate_rerank_request, validate_sampling_fields}) {
        try {
            validate(j);
        } catch (const ApiError&) {
        }
    }
    try {
        LaunchRequest r = LaunchRequest::from_json(j);
        (void)r.to_json().dump();
    } catch (const ApiError&) {
    }
    return 0;
}
