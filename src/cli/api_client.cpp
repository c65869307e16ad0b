#include "cli/api_client.h"

#include <iostream>

#include "common/http_client.h"
#include "common/paths.h"

namespace xinfer::cli {

void add_endpoint_options(CLI::App* cmd, Endpoint& ep) {
    cmd->add_option("-e,--endpoint", ep.url, "xinfer endpoint (env XINFERENCE_ENDPOINT)");
    cmd->add_option("--api-key,-k", ep.api_key, "API key (env XINFER_API_KEY)");
}

Endpoint resolved(const Endpoint& ep) {
    Endpoint r = ep;
    if (r.url.empty()) r.url = env_or("XINFERENCE_ENDPOINT", env_or("XINFER_ENDPOINT", "http://127.0.0.1:9997"));
    if (r.api_key.empty()) r.api_key = env_or("XINFER_API_KEY", env_or("XINFERENCE_API_KEY"));
    return r;
}

ApiClient::ApiClient(const Endpoint& ep) : ep_(resolved(ep)) {}

json ApiClient::get(const std::string& path) { return call("GET", path, nullptr); }
json ApiClient::post(const std::string& path, const json& body) { return call("POST", path, &body); }
json ApiClient::del(const std::string& path) { return call("DELETE", path, nullptr); }

json ApiClient::call(const std::string& method, const std::string& path, const json* body) {
    auto client = make_client(ep_.url);
    client->set_read_timeout(3600, 0);
    httplib::Headers headers;
    if (!ep_.api_key.empty()) headers.emplace("Authorization", "Bearer " + ep_.api_key);
    httplib::Result r = method == "GET"    ? client->Get(path, headers)
                        : method == "POST" ? client->Post(path, headers, body->dump(), "application/json")
                                           : client->Delete(path, headers);
    if (!r) throw CliError("cannot reach xinfer at " + ep_.url + " (" + httplib::to_string(r.error()) + ")");
    json j = json::parse(r->body, nullptr, false);
    if (r->status >= 400) {
        std::string msg = r->body;
        if (j.is_object() && j.contains("detail") && j["detail"].is_string()) msg = j["detail"];
        else if (j.is_object() && j.contains("error") && j["error"].is_object()) msg = j["error"].value("message", r->body);
        throw CliError(msg + " (HTTP " + std::to_string(r->status) + ")");
    }
    return j.is_discarded() ? json(nullptr) : j;
}

int& exit_code() {
    static int code = 0;
    return code;
}

int run_reporting_errors(const std::function<void()>& body) {
    try {
        body();
        return 0;
    } catch (const CliError& e) {
        std::cerr << "Error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace xinfer::cli
