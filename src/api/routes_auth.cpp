// Xinference's login: POST /token with a username and password (JSON, or a form as OAuth2's
// password flow sends it) answers {"access_token", "token_type": "bearer"}, a signed token that
// expires as the auth config says. The same 401 for an unknown user as for a wrong password.
#include <thread>

#include "api/http_util.h"
#include "api/routes.h"
#include "auth/login_guard.h"
#include "common/json_util.h"

namespace xinfer {

void add_auth_routes(httplib::Server& server, std::shared_ptr<const Authenticator> auth) {
    auto guard = std::make_shared<LoginGuard>();
    server.Post("/token", guarded([auth, guard](const httplib::Request& req, httplib::Response& res) {
        if (const int wait = guard->refused_for(req.remote_addr); wait > 0) {
            res.set_header("Retry-After", std::to_string(wait));
            throw ApiError(429, "Too many failed logins from " + req.remote_addr + "; try again in " + std::to_string(wait) + " s",
                           "rate_limit_error");
        }
        std::string user, password;
        if (req.get_header_value("Content-Type").find("json") != std::string::npos) {
            const json body = json::parse(req.body, nullptr, false);
            if (!body.is_object()) throw bad_request("The login body must be a JSON object with username and password");
            user = opt_string(body, "username").value_or("");  // a wrong type is a 400, never a throw elsewhere
            password = opt_string(body, "password").value_or("");
        } else {
            user = req.get_param_value("username");
            password = req.get_param_value("password");
        }
        if (user.empty()) throw bad_request("username is required", "username");
        const auto token = auth->login(user, password);
        // Failed attempts in a row are slowed, then refused for a while (LoginGuard).
        std::this_thread::sleep_for(guard->after_attempt(req.remote_addr, token.has_value()));
        if (!token) {
            res.set_header("WWW-Authenticate", "Bearer");
            throw ApiError(401, "Incorrect username or password", "authentication_error");
        }
        send_json(res, {{"access_token", *token}, {"token_type", "bearer"}, {"expires_in", auth->token_lifetime_s()}});
    }));
}

}  // namespace xinfer
