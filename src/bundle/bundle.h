// Offline bundles: one tar archive that carries xinfer to a machine with no network. It holds
// the xinfer binary, llama-server, every shared library they load beyond glibc (so it runs on a
// clean Debian 12 with no packages installed), chosen models from the model cache, an optional
// deployment file, a SHA-256 manifest of every file, and two scripts: run.sh (starts the
// service on the bundle's own home, offline) and install.sh (verifies with sha256sum, then runs).
//
//   xinfer-bundle/bin/{xinfer, llama-server, xinference…}  xinfer-bundle/lib/*.so*
//   xinfer-bundle/home/cache/<model>/…  xinfer-bundle/deploy.json  xinfer-bundle/MANIFEST.sha256
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace xinfer {

struct BundleOptions {
    std::filesystem::path out;            // the .tar to write
    std::vector<std::string> models;      // names of model-cache folders to carry
    std::filesystem::path config;         // a deployment file (serve --config); may be empty
    std::filesystem::path xinfer_binary;  // this program
    std::filesystem::path llama_server;
};

struct BundleSummary {
    uint64_t files = 0, bytes = 0, libraries = 0;
};

// Note for progress lines ("copying libraries", "hashing 12/140").
using BundleProgress = std::function<void(double fraction, const std::string& note)>;

// Writes the bundle (through OUT.incomplete). Throws std::runtime_error naming what is missing
// (a model not in the cache, an unreadable library, a failed tar).
BundleSummary create_bundle(const BundleOptions& options, const BundleProgress& progress);

// Unpacks BUNDLE.tar into DIR and checks every file against the manifest; throws naming the
// first file that is missing or differs. Returns DIR/xinfer-bundle.
std::filesystem::path install_bundle(const std::filesystem::path& tar, const std::filesystem::path& dir,
                                     const BundleProgress& progress);

// ggml's backend plugins in `dir` (the folder of the llama-server that is bundled): every
// libggml-*.so there that is not one of the libraries in `linked` (what llama-server loads by
// itself) and not libggml-base. A CUDA build of llama.cpp makes every backend a plugin
// (libggml-cuda.so, one libggml-cpu-*.so per instruction set), which ggml loads from the folder of
// the program that runs, so a bundle must put them beside llama-server and the hosts; a CPU-only
// build links its backend and has none.
std::vector<std::filesystem::path> backend_plugins(const std::filesystem::path& dir, const std::vector<std::filesystem::path>& linked);

// The shared libraries `binary` loads, as the dynamic loader resolves them here, without glibc's
// own (present on every system). Throws when one cannot be found.
std::vector<std::filesystem::path> shared_libraries(const std::filesystem::path& binary);

}  // namespace xinfer
