#include "api/http_util.h"

#include "common/log.h"

namespace xinfer {

void send_json(httplib::Response& res, const nlohmann::json& body, int status) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& err) {
    if (err.retry_after() > 0) res.set_header("Retry-After", std::to_string(err.retry_after()));
    send_json(res, err.to_json(), err.status());
}

Handler guarded(Handler h) {
    return [h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
        try {
            h(req, res);
        } catch (const ApiError& e) {
            if (e.status() >= 500) log::warn(req.method + " " + req.path + " -> " + std::to_string(e.status()) + ": " + e.what());
            send_error(res, e);
        } catch (const std::exception& e) {
            log::error(req.method + " " + req.path + " failed: " + e.what());
            send_error(res, internal_error(std::string("Internal error: ") + e.what()));
        } catch (...) {
            send_error(res, internal_error("Internal error"));
        }
    };
}

bool query_flag(const httplib::Request& req, const char* name, bool fallback) {
    if (!req.has_param(name)) return fallback;
    std::string v = req.get_param_value(name);
    return v == "1" || v == "true" || v == "True" || v == "yes";
}

}  // namespace xinfer
