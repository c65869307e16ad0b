#include "auth/audit_log.h"

#include <sys/stat.h>

#include <chrono>
#include <deque>
#include <fstream>

namespace xinfer {

namespace fs = std::filesystem;

AuditLog::AuditLog(fs::path file) : file_(std::move(file)) {
    fs::create_directories(file_.parent_path());
    std::ofstream(file_, std::ios::app).flush();
    ::chmod(file_.c_str(), 0600);
}

bool AuditLog::worth_recording(const std::string& method, const std::string& path, int status) {
    if (status == 401 || status == 403 || path == "/token") return true;
    if (method == "GET" || method == "HEAD" || method == "OPTIONS") return false;
    if (path.rfind("/v1/audio/voices", 0) == 0) return true;  // a voice registered or removed
    // Inference calls are the service's work, not management: counted in /metrics instead.
    for (auto p : {"/v1/chat/", "/v1/completions", "/v1/embeddings", "/v1/rerank", "/v1/audio/", "/v1/images/", "/v1/tokenize",
                   "/v1/detokenize", "/v1/convert_ids_to_tokens"})
        if (path.rfind(p, 0) == 0) return false;
    return true;
}

void AuditLog::record(const std::string& who, const std::string& address, const std::string& method, const std::string& path,
                      int status, const std::string& detail) {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    nlohmann::json line = {{"time", now}, {"who", who}, {"from", address}, {"method", method}, {"path", path}, {"status", status}};
    if (!detail.empty()) line["detail"] = detail;
    std::lock_guard lock(mu_);
    std::ofstream(file_, std::ios::app) << line.dump() << "\n";
}

nlohmann::json AuditLog::tail(size_t limit) const {
    std::lock_guard lock(mu_);
    std::ifstream in(file_);
    std::deque<std::string> lines;
    for (std::string l; std::getline(in, l);) {
        lines.push_back(std::move(l));
        if (lines.size() > limit) lines.pop_front();
    }
    nlohmann::json out = nlohmann::json::array();
    for (auto& l : lines) {
        auto j = nlohmann::json::parse(l, nullptr, false);
        if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
}

}  // namespace xinfer
