#include "host/ggml_backends.h"

#include <ggml-backend.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>

namespace xinfer {

void load_ggml_backends() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (ggml_backend_dev_count() == 0) {
            std::error_code ec;
            const auto here = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
            if (!ec) ggml_backend_load_all_from_path(here.c_str());
        }
        if (ggml_backend_dev_count() == 0) ggml_backend_load_all_from_path(XINFER_GGML_BACKEND_DIR);
        std::string line = "ggml devices:";
        for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
            ggml_backend_dev_t dev = ggml_backend_dev_get(i);
            size_t free_bytes = 0, total = 0;
            ggml_backend_dev_memory(dev, &free_bytes, &total);
            char mem[48];
            std::snprintf(mem, sizeof mem, " %.1f GiB", total / 1073741824.0);
            line += std::string(i ? ", " : " ") + ggml_backend_dev_name(dev) + " " + ggml_backend_dev_description(dev) +
                    (ggml_backend_dev_type(dev) == GGML_BACKEND_DEVICE_TYPE_CPU ? "" : mem);
        }
        if (ggml_backend_dev_count() == 0) line += " none (no ggml backend could be loaded)";
        std::fprintf(stderr, "%s\n", line.c_str());
    });
}

}  // namespace xinfer
