#include "api/api_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdlib>

#include "api/caller.h"
#include "api/elastic_thread_pool.h"
#include "api/http_util.h"
#include "api/node_forward.h"
#include "api/proxy.h"
#include "api/routes.h"
#include "auth/audit_log.h"
#include "auth/jwt.h"
#include "common/log.h"
#include "common/memory_trim.h"
#include "common/paths.h"

#include <thread>

namespace xinfer {

namespace {
// The credential of `Authorization: Bearer …`, or "".
std::string bearer_of(const httplib::Request& req) {
    const std::string header = req.get_header_value("Authorization");
    return header.rfind("Bearer ", 0) == 0 ? header.substr(7) : "";
}

// The model uid a /v1/models/{uid}/... path names, or "".
std::string model_in_path(const std::string& path) {
    static const std::string prefix = "/v1/models/";
    if (path.rfind(prefix, 0) != 0) return "";
    const std::string rest = path.substr(prefix.size());
    const std::string uid = rest.substr(0, rest.find('/'));
    return uid == "instances" || uid == "prompts" || uid == "families" || uid == "vllm-supported" ? "" : uid;
}
}  // namespace

ApiServer::ApiServer(Supervisor& supervisor, Registry& registry, ApiServerConfig config) : supervisor_(supervisor) {
    int threads = config.http_threads;
    // A few threads while idle, more on demand up to http_threads (streams hold one each); the
    // extra ones leave after a few idle seconds, so an idle service keeps a small footprint.
    // Eight threads accept (XINFER_ACCEPT_LOOPS), each serving what it accepts while another is
    // left accepting (accept_loops.h); the pool serves the rest, so it keeps one thread idle.
    // Together they serve at most http_threads connections at once.
    const int loops = std::min(threads, std::max(1, std::atoi(env_or("XINFER_ACCEPT_LOOPS", "8").c_str())));
    const size_t pool_max = static_cast<size_t>(std::max(1, threads - (loops - 1)));
    accept_loops_ = std::make_unique<AcceptLoops>(
        std::make_unique<ElasticThreadPool>(loops > 1 ? 1 : std::min(4, threads), pool_max), loops);
    server_.set_payload_max_length(config.max_body_bytes);
    // Limits on what a client sends (httplib's, set at build time: request line 8 KiB → 414,
    // a header line over 8 KiB or over 100 headers → 400): bodies by route below, and a client
    // that stops sending mid-request is dropped after read_timeout_s.
    server_.set_read_timeout(config.read_timeout_s, 0);
    server_.set_write_timeout(600, 0);
    server_.set_keep_alive_max_count(10000);
    // A connection is accepted once its first request has arrived (nginx's `deferred`): a client
    // making a connection per call (requests.post, curl) connects and then sends, and the thread
    // that accepted before the bytes came slept again in poll for them: one wake-up fewer a call
    // (bench_embeddings, rerank, 8 clients: 3.4 -> 2.9 context switches a request in the gateway).
    // A client that connects and never sends is accepted after a second (the kernel's next SYN-ACK).
    server_.set_socket_options([](socket_t sock) {
        httplib::default_socket_options(sock);
        const int seconds = 1;
        setsockopt(sock, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds);  // TCP only; harmless where refused
    });

    auto auth = config.auth;
    auto limiter = std::make_shared<RateLimiter>();
    const size_t max_body = config.max_body_bytes, max_json = config.max_json_bytes;
    MemoryTrimmer& trimmer = MemoryTrimmer::start();
    const std::string metrics_token = config.metrics_token;
    server_.set_pre_routing_handler([this, auth, limiter, max_body, max_json, &trimmer, metrics_token](const httplib::Request& req, httplib::Response& res) {
        set_caller({});  // a new request on this thread: forget the last one's caller
        trimmer.touch();
        if (draining_) {
            res.set_header("X-Xinfer-Draining", "1");  // another node may send the request elsewhere
            send_error(res, ApiError(503, "xinfer is shutting down", "", "", "shutting_down"));
            return httplib::Server::HandlerResponse::Handled;
        }
        if (request_from_node_refused(req)) {
            send_error(res, ApiError(403, "A request relayed by another node must carry this cluster's token "
                                          "(serve --cluster-token)", "permission_error"));
            return httplib::Server::HandlerResponse::Handled;
        }
        // Body limits by route, before the body is read: uploads may be large, JSON may not.
        // (Over max_body httplib itself reads the body past and answers 413, which clients that
        // are still sending take better than an early answer.)
        if (req.has_header("Content-Length")) {
            const bool upload = req.get_header_value("Content-Type").rfind("multipart/form-data", 0) == 0;
            const unsigned long long length = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
            if (!upload && length > max_json && length <= max_body) {
                send_error(res, ApiError(413, "Request body too large: " + std::to_string(length) + " bytes (limit " +
                                                  std::to_string(max_json) + " for JSON)", "invalid_request_error", "",
                                         "request_too_large"));
                return httplib::Server::HandlerResponse::Handled;  // the unread body is drained
            }
        }
        if (!auth) return httplib::Server::HandlerResponse::Unhandled;
        // Deny by default: every route but the public ones needs a credential with its permission.
        const std::string permission = required_permission(req.method, req.path);
        if (permission.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const std::string bearer = bearer_of(req);
        // A monitoring system's scrape token reads /metrics and nothing else.
        if (!metrics_token.empty() && req.path == "/metrics" && req.method == "GET" && equal_constant_time(bearer, metrics_token))
            return httplib::Server::HandlerResponse::Unhandled;
        const auto who = bearer.empty() ? std::nullopt : auth->authenticate(bearer);
        if (!who) {
            res.set_header("WWW-Authenticate", "Bearer");
            send_error(res, ApiError(401, bearer.empty() ? "Not authenticated: send Authorization: Bearer <API key or token>"
                                                         : "Invalid or expired credentials", "authentication_error"));
            return httplib::Server::HandlerResponse::Handled;
        }
        set_caller({who, limiter.get()});  // also names who was refused, for the audit log
        if (!who->allows(permission)) {
            send_error(res, ApiError(403, "User '" + who->user + "' lacks the permission '" + permission + "' for " + req.method + " " +
                                              req.path, "permission_error"));
            return httplib::Server::HandlerResponse::Handled;
        }
        if (!who->key) return httplib::Server::HandlerResponse::Unhandled;
        // The key's own limits: its models (the uid in the path; inference routes check the
        // body's model when they pick a replica), then requests and tokens per minute.
        try {
            if (const std::string uid = model_in_path(req.path); !uid.empty()) check_model_allowed(uid);
        } catch (const ApiError& e) {
            send_error(res, e);
            return httplib::Server::HandlerResponse::Handled;
        }
        // A request another node relayed was admitted there, under this same key's limits.
        if (req.has_header("X-Xinfer-Forwarded") && !node_forwarding().token.empty())
            return httplib::Server::HandlerResponse::Unhandled;
        std::string which;
        if (const int wait = limiter->admit(who->key->id, who->key->rpm, who->key->tpm, &which); wait > 0) {
            res.set_header("Retry-After", std::to_string(wait));
            send_error(res, ApiError(429, "The API key " + who->key->hint + " is over its " + which + " limit; retry in " +
                                              std::to_string(wait) + " s", "rate_limit_error", "", "rate_limit_exceeded"));
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    address_ = config.address;
    add_status_routes(server_, [this] { return address_; }, config.request_shutdown ? config.request_shutdown : [] {},
                      auth != nullptr);
    if (auth) {
        add_auth_routes(server_, auth);
        add_key_routes(server_, auth, config.cluster);
    }
    // The audit log: management calls, logins and refusals, with who made them.
    auto audit = std::make_shared<AuditLog>(xinfer_home() / "audit.log");
    server_.Get("/v1/admin/audit", guarded([audit](const httplib::Request& req, httplib::Response& res) {
        const int limit = req.has_param("limit") ? std::max(1, std::atoi(req.get_param_value("limit").c_str())) : 200;
        send_json(res, {{"entries", audit->tail(static_cast<size_t>(std::min(limit, 10000)))}});
    }));
    server_.set_logger([audit](const httplib::Request& req, const httplib::Response& res) {
        if (!AuditLog::worth_recording(req.method, req.path, res.status)) return;
        std::string who = "-";
        if (req.path == "/token") {
            const json body = json::parse(req.body, nullptr, false);
            who = !body.is_object() ? req.get_param_value("username")
                  : body.contains("username") && body["username"].is_string() ? body["username"].get<std::string>() : "-";
        } else if (const auto& caller = current_caller().who) {
            who = caller->user;  // authenticated once, before routing, on this same thread
        }
        audit->record(who, req.remote_addr, req.method, req.path, res.status);
    });
    add_model_routes(server_, supervisor, config.cluster);
    add_replica_routes(server_, supervisor, config.cluster);
    add_engine_routes(server_, registry);
    add_cache_routes(server_, supervisor);
    add_ui_routes(server_);
    add_autostart_routes(server_, supervisor);
    add_registration_routes(server_, registry, config.cluster);
    add_openai_routes(server_, supervisor);
    add_embedding_routes(server_, supervisor);
    add_audio_routes(server_, supervisor);
    add_cluster_routes(server_, supervisor, config.cluster);

    // Statuses httplib sets itself (404 no route, 413 too large, 400 unparsable request) come
    // with no body: give them the same JSON error shape as everything else.
    server_.set_error_handler([max_body](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg;
        switch (res.status) {
            case 404: msg = "No such endpoint: " + req.method + " " + req.path; break;
            case 405: msg = "Method not allowed: " + req.method + " " + req.path; break;
            case 413: msg = "Request body too large (limit " + std::to_string(max_body) + " bytes; uploads too)"; break;
            case 400: msg = "Malformed request: its request line, headers (at most 100, each under 8 KiB) or body framing"; break;
            case 414: msg = "Request line too long (limit 8 KiB)"; break;
            default: msg = "HTTP error " + std::to_string(res.status); break;
        }
        ApiError err(res.status, msg);
        res.set_content(err.to_json().dump(), "application/json");
        return httplib::Server::HandlerResponse::Handled;
    });
    server_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        send_error(res, internal_error("Internal error: " + what));
    });
}

bool ApiServer::listen(const std::string& host, int port) {
    errno = 0;
    int bound = port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
    if (bound <= 0) {
        const int bind_errno = errno;
        addrinfo hints{}, *found = nullptr;
        hints.ai_flags = AI_PASSIVE;
        if (const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), nullptr, &hints, &found); rc != 0)
            bind_error_ = std::string("no such host (") + gai_strerror(rc) + ")";
        else
            bind_error_ = bind_errno != 0 ? std::strerror(bind_errno) : "";
        if (found) freeaddrinfo(found);
        return false;
    }
    address_ = host + ":" + std::to_string(bound);
    bound_port_ = bound;
    log::info("xinfer listening on http://" + address_);
    return accept_loops_->listen(server_);
}

void ApiServer::stop() {
    cut_relayed_streams();
    server_.stop();
}

void ApiServer::drain_and_stop(std::chrono::seconds timeout) {
    draining_ = true;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto in_flight = [&] {
        int n = 0;
        for (auto& m : supervisor_.metrics()) n += m["active"].get<int>();
        return n;
    };
    while (in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    log::info("drained; stopping the HTTP server");
    cut_relayed_streams();
    server_.stop();
}

}  // namespace xinfer
