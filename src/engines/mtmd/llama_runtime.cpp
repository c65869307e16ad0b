#include "engines/mtmd/llama_runtime.h"

#include <ggml-backend.h>
#include <llama.h>
#include <mtmd-helper.h>

#include <cstdio>
#include <mutex>

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
        if (ggml_backend_dev_count() == 0) ggml_backend_load_all_from_path(XINFER_GGML_BACKEND_DIR);
    });
}

}  // namespace xinfer
