#include "common/errors.h"

namespace xinfer {

std::string error_type_for_status(int status) {
    switch (status) {
        case 401: return "authentication_error";
        case 403: return "permission_error";
        case 404: return "not_found_error";
        case 409: return "conflict_error";
        case 413: return "request_too_large";
        case 429: return "rate_limit_error";
        case 503: return "service_unavailable_error";
        default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

ApiError::ApiError(int status, std::string message, std::string type, std::string param,
                   std::string code)
    : std::runtime_error(std::move(message)),
      status_(status),
      type_(type.empty() ? error_type_for_status(status) : std::move(type)),
      param_(std::move(param)),
      code_(std::move(code)) {}

nlohmann::json ApiError::to_json() const {
    nlohmann::json err = {{"message", what()}, {"type", type_}};
    err["param"] = param_.empty() ? nlohmann::json(nullptr) : nlohmann::json(param_);
    err["code"] = code_.empty() ? nlohmann::json(nullptr) : nlohmann::json(code_);
    return {{"error", err}, {"detail", what()}};
}

ApiError bad_request(const std::string& m, const std::string& p) { return {400, m, "", p}; }
ApiError not_found(const std::string& m, const std::string& p) {
    return {404, m, "", p, "model_not_found"};
}
ApiError conflict(const std::string& m) { return {409, m}; }
ApiError unavailable(const std::string& m) { return {503, m}; }
ApiError internal_error(const std::string& m) { return {500, m}; }

}  // namespace xinfer
