#include "registry/voice_store.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/errors.h"

namespace xinfer {

namespace fs = std::filesystem;

namespace {
bool valid_name(const std::string& name) {
    static const std::regex re("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$");
    return std::regex_match(name, re);
}
}  // namespace

VoiceStore::VoiceStore(fs::path dir) : dir_(std::move(dir)) {}

void VoiceStore::put(const std::string& name, const std::string& recording) {
    if (!valid_name(name))
        throw bad_request("'name' must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter or digit)", "name");
    if (recording.empty()) throw bad_request("The voice recording is empty", "file");
    if (recording.size() > kMaxBytes) throw ApiError(413, "The voice recording is larger than 20 MiB", "invalid_request_error", "file");
    fs::create_directories(dir_);
    // Written beside and renamed: a voice is never seen half written.
    const fs::path tmp = dir_ / ("." + name + ".tmp");
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(recording.data(), static_cast<std::streamsize>(recording.size()));
        if (!out) throw std::runtime_error("cannot write " + tmp.string());
    }
    fs::rename(tmp, dir_ / name);
}

std::optional<std::string> VoiceStore::get(const std::string& name) const {
    if (!valid_name(name)) return std::nullopt;
    std::ifstream in(dir_ / name, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool VoiceStore::remove(const std::string& name) {
    std::error_code ec;
    return valid_name(name) && fs::remove(dir_ / name, ec);
}

nlohmann::json VoiceStore::list() const {
    nlohmann::json out = nlohmann::json::array();
    std::error_code ec;
    std::vector<fs::path> files;
    for (auto& e : fs::directory_iterator(dir_, ec))
        if (e.is_regular_file() && valid_name(e.path().filename().string())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
        const auto when = fs::last_write_time(f, ec);
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::file_clock::to_sys(when).time_since_epoch()).count();
        out.push_back({{"name", f.filename().string()}, {"bytes", fs::file_size(f, ec)}, {"created", secs}});
    }
    return out;
}

}  // namespace xinfer
