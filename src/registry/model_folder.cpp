// Finding a model's files in a folder: the GGUF (a quantization's, a split model's first part),
// the audio projector beside an audio model, whisper.cpp's file. Declared in model_resolver.h.
#include "registry/model_resolver.h"

#include <algorithm>
#include <regex>
#include <system_error>
#include <vector>

#include "common/text.h"
#include "convert/whisper_ggml.h"
#include "registry/gguf_info.h"

namespace xinfer {

namespace fs = std::filesystem;

fs::path find_audio_projector(const fs::path& dir) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir, ec)) {
        if (!e.is_regular_file() || lower(e.path().extension().string()) != ".gguf") continue;
        try {
            const GgufInfo info = read_gguf_info(e.path());
            if (info.architecture == "clip" && (info.has_audio_encoder || info.has_audio_generator)) found.push_back(e.path());
        } catch (const std::runtime_error&) {
        }
    }
    std::sort(found.begin(), found.end());
    return found.empty() ? fs::path() : found.front();
}

fs::path find_whisper_file(const fs::path& dir) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file() && read_whisper_hparams(e.path())) found.push_back(e.path());
    std::sort(found.begin(), found.end());
    return found.empty() ? fs::path() : found.front();
}

fs::path find_gguf_in_dir(const fs::path& dir, const std::string& quantization) {
    std::vector<fs::path> candidates;
    for (auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied)) {
        if (!e.is_regular_file()) continue;
        std::string name = lower(e.path().filename().string());
        if (name.size() < 5 || name.substr(name.size() - 5) != ".gguf") continue;
        if (name.find("mmproj") != std::string::npos) continue;
        // Split models: only the first part is given to the engine, it finds the rest.
        static const std::regex split_part("-(\\d{5})-of-\\d{5}\\.gguf$");
        std::smatch m;
        if (std::regex_search(name, m, split_part) && m[1] != "00001") continue;
        candidates.push_back(e.path());
    }
    if (candidates.empty()) throw std::runtime_error("no .gguf file found in directory " + dir.string());
    std::sort(candidates.begin(), candidates.end());
    if (!quantization.empty()) {
        for (auto& c : candidates)
            if (lower(c.filename().string()).find(lower(quantization)) != std::string::npos) return c;
        throw std::runtime_error("no .gguf file for quantization '" + quantization + "' in " + dir.string());
    }
    return candidates.front();
}

}  // namespace xinfer
