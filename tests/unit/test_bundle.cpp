#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bundle/bundle.h"

using namespace xinfer;
namespace fs = std::filesystem;

namespace {
// A llama.cpp build folder with the named files (empty: only names matter here).
fs::path fake_build(const std::vector<std::string>& files) {
    const fs::path dir = fs::temp_directory_path() / ("xinfer-bundle-test-" + std::to_string(getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (auto& f : files) std::ofstream(dir / f) << "x";
    return dir;
}

std::vector<std::string> names(const std::vector<fs::path>& paths) {
    std::vector<std::string> out;
    for (auto& p : paths) out.push_back(p.filename().string());
    return out;
}
}  // namespace

// The CUDA build (GGML_BACKEND_DL): llama-server links ggml's registry and base only; the GPU
// backend and every CPU variant are plugins, and a bundle without them runs nothing.
TEST(Bundle, CarriesGgmlBackendPluginsOfACudaBuild) {
    const fs::path dir = fake_build({"llama-server", "libllama.so", "libmtmd.so", "libggml.so", "libggml-base.so",
                                     "libggml-cuda.so", "libggml-cpu-haswell.so", "libggml-cpu-skylakex.so", "libggml-cpu-x64.so"});
    const auto plugins = backend_plugins(dir, {dir / "libllama.so", dir / "libggml.so", dir / "libggml-base.so", "/lib/libstdc++.so.6"});
    EXPECT_EQ(names(plugins), (std::vector<std::string>{"libggml-cpu-haswell.so", "libggml-cpu-skylakex.so", "libggml-cpu-x64.so",
                                                         "libggml-cuda.so"}));
    fs::remove_all(dir);
}

// A CPU-only build links its one CPU backend: it travels in lib/ like any library, not as a plugin.
TEST(Bundle, CpuBuildHasNoPlugins) {
    const fs::path dir = fake_build({"llama-server", "libllama.so", "libggml.so", "libggml-base.so", "libggml-cpu.so"});
    EXPECT_TRUE(backend_plugins(dir, {dir / "libllama.so", dir / "libggml.so", dir / "libggml-base.so", dir / "libggml-cpu.so"}).empty());
    fs::remove_all(dir);
}
