// The audit log: every management call (launch, terminate, scale, register, unregister, cache
// removal, shutdown), every login, and every refusal (401, 403, 429 at login), one JSON line each
// with time, who, from where, what and the result, in XINFER_HOME/audit.log (mode 0600).
// Admins read it at GET /v1/admin/audit.
#pragma once

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace xinfer {

class AuditLog {
public:
    explicit AuditLog(std::filesystem::path file);
    // Whether a request is worth recording: anything that changes state, logins, refusals.
    static bool worth_recording(const std::string& method, const std::string& path, int status);
    void record(const std::string& who, const std::string& address, const std::string& method, const std::string& path,
                int status, const std::string& detail = "");
    // The last `limit` entries, oldest first.
    nlohmann::json tail(size_t limit) const;

private:
    std::filesystem::path file_;
    mutable std::mutex mu_;
};

}  // namespace xinfer
