#include "api/http_util.h"

#include "api/node_forward.h"
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
            note_request_origin(req);
            // In a cluster the handler may send the request to another node; one that takes no
            // connection is left out and the handler asked again (another replica, or this node).
            for (int attempt = 0;; ++attempt) {
                try {
                    h(req, res);
                    break;
                } catch (const RetryHere&) {
                    if (attempt == 2) throw ApiError(503, "The model moved while this request was routed; retry", "", "", "model_moved");
                } catch (const RoutedElsewhere& to) {
                    try {
                        forward_to_node(req, res, to);
                        break;
                    } catch (const NodeUnreachable& gone) {
                        if (attempt == 2)
                            throw ApiError(503, "Node '" + gone.node + "', which runs this model, did not take the connection",
                                           "", "", "node_unreachable");
                    }
                }
            }
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

std::string multipart_body(const httplib::MultipartFormData& form, std::string& content_type) {
    const std::string boundary = "xinfer-boundary-7d1f0c9a3b5e";
    std::string out;
    for (auto& [name, field] : form.fields)
        out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + field.content + "\r\n";
    for (auto& [name, file] : form.files) {
        out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" +
               (file.filename.empty() ? "audio" : file.filename) + "\"\r\nContent-Type: " +
               (file.content_type.empty() ? "application/octet-stream" : file.content_type) + "\r\n\r\n";
        out += file.content;
        out += "\r\n";
    }
    out += "--" + boundary + "--\r\n";
    content_type = "multipart/form-data; boundary=" + boundary;
    return out;
}

bool query_flag(const httplib::Request& req, const char* name, bool fallback) {
    if (!req.has_param(name)) return fallback;
    std::string v = req.get_param_value(name);
    return v == "1" || v == "true" || v == "True" || v == "yes";
}

}  // namespace xinfer
