#include "engines/mtmd/llama_runtime.h"

#include <llama.h>
#include <mtmd-helper.h>

#include <cstdio>
#include <mutex>

#include "common/paths.h"
#include "host/ggml_backends.h"

namespace xinfer {

namespace {
void log_errors_only(ggml_log_level level, const char* text, void*) {
    if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}
}  // namespace

void init_llama_runtime() {
    static std::once_flag once;
    std::call_once(once, [] {
        llama_log_set(log_errors_only, nullptr);
        mtmd_helper_log_set(log_errors_only, nullptr);
        llama_backend_init();
        load_ggml_backends();
    });
}

llama_model_params host_model_params(bool use_gpu) {
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = use_gpu ? 999 : 0;
    if (env_turns_off("LLAMA_ARG_REPACK")) mp.use_extra_bufts = false;
    return mp;
}

}  // namespace xinfer
