#include "cli/api_client.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/http_client.h"
#include "common/paths.h"

namespace xinfer::cli {

void add_endpoint_options(CLI::App* cmd, Endpoint& ep) {
    cmd->add_option("-e,--endpoint", ep.url, "xinfer endpoint (env XINFERENCE_ENDPOINT)");
    cmd->add_option("--api-key,-k", ep.api_key, "API key, also -ak (env XINFER_API_KEY)");
}

Endpoint resolved(const Endpoint& ep) {
    Endpoint r = ep;
    if (r.url.empty()) r.url = env_or("XINFERENCE_ENDPOINT", env_or("XINFER_ENDPOINT", "http://127.0.0.1:9997"));
    while (r.url.size() > 1 && r.url.back() == '/') r.url.pop_back();
    if (r.api_key.empty()) r.api_key = env_or("XINFER_API_KEY", env_or("XINFERENCE_API_KEY"));
    if (r.api_key.empty()) {  // a token `login` saved for this endpoint
        const json tokens = json::parse(std::ifstream(xinfer_home() / "cli-tokens.json"), nullptr, false);
        if (tokens.is_object() && tokens.contains(r.url) && tokens[r.url].is_string()) r.api_key = tokens[r.url];
    }
    return r;
}

void save_login_token(const std::string& endpoint, const std::string& token) {
    const auto path = xinfer_home() / "cli-tokens.json";
    json tokens = json::parse(std::ifstream(path), nullptr, false);
    if (!tokens.is_object()) tokens = json::object();
    tokens[endpoint] = token;
    std::filesystem::create_directories(path.parent_path());
    { std::ofstream(path.string() + ".tmp") << tokens.dump(2); }
    ::chmod((path.string() + ".tmp").c_str(), 0600);
    std::filesystem::rename(path.string() + ".tmp", path);
}

std::string with_query(const std::string& path, const Query& query) {
    httplib::Params params;
    for (auto& [k, v] : query)
        if (!v.empty()) params.emplace(k, v);
    return params.empty() ? path : httplib::append_query_params(path, params);
}

ApiClient::ApiClient(const Endpoint& ep) : ep_(resolved(ep)) {
    origin_ = ep_.url;
    if (origin_.empty() || origin_[0] != '/') {  // not a unix socket
        const size_t host = origin_.find("://") == std::string::npos ? 0 : origin_.find("://") + 3;
        if (const size_t slash = origin_.find('/', host); slash != std::string::npos) {
            prefix_ = origin_.substr(slash);
            origin_.erase(slash);
        }
    }
    if (const std::string why = unusable_address(origin_); !why.empty())
        throw CliError("cannot use the endpoint '" + ep_.url + "': " + why);
}

json ApiClient::get(const std::string& path, const Query& q) { return call("GET", with_query(path, q), nullptr); }
json ApiClient::post(const std::string& path, const json& body, const Query& q) {
    return call("POST", with_query(path, q), &body);
}
json ApiClient::del(const std::string& path, const Query& q) { return call("DELETE", with_query(path, q), nullptr); }

namespace {
// The server's own words for a failure: Xinference's `detail`, else the OpenAI error message.
std::string error_text(int status, const std::string& body) {
    json j = json::parse(body, nullptr, false);
    std::string msg = body;
    if (j.is_object() && j.contains("detail") && j["detail"].is_string()) msg = j["detail"];
    else if (j.is_object() && j.contains("error") && j["error"].is_object()) msg = j["error"].value("message", body);
    return msg + " (HTTP " + std::to_string(status) + ")";
}
}  // namespace

std::string ApiClient::path_hint(int status) const {
    // An OpenAI-style base URL (http://host:9997/v1) puts /v1 twice: /v1/v1/models.
    if (status != 404 || prefix_.size() < 3 || prefix_.compare(prefix_.size() - 3, 3, "/v1") != 0) return "";
    return "; the endpoint's path " + prefix_ + " goes before every API path (as with Xinference's client): give the service's address without /v1";
}

json ApiClient::call(const std::string& method, const std::string& path, const json* body) {
    auto client = make_client(origin_);
    client->set_read_timeout(3600, 0);
    httplib::Headers headers;
    if (!ep_.api_key.empty()) headers.emplace("Authorization", "Bearer " + ep_.api_key);
    const std::string target = prefix_ + path;
    httplib::Result r = method == "GET"    ? client->Get(target, headers)
                        : method == "POST" ? client->Post(target, headers, body->dump(), "application/json")
                                           : client->Delete(target, headers);
    if (!r) throw CliError("cannot reach xinfer at " + ep_.url + " (" + httplib::to_string(r.error()) + ")");
    if (r->status >= 400) throw CliError(error_text(r->status, r->body) + path_hint(r->status));
    json j = json::parse(r->body, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
}

void ApiClient::stream(const std::string& path, const json& body, const std::function<void(const json&)>& on_event) {
    auto client = make_client(origin_);
    client->set_read_timeout(3600, 0);
    httplib::Headers headers;
    if (!ep_.api_key.empty()) headers.emplace("Authorization", "Bearer " + ep_.api_key);
    auto handle = client->open_stream("POST", prefix_ + path, {}, headers, body.dump(), "application/json");
    if (!handle.response) throw CliError("cannot reach xinfer at " + ep_.url + " (" + httplib::to_string(handle.error) + ")");
    std::string pending;
    char buf[4096];
    auto drain_lines = [&](bool final) {
        for (size_t nl; (nl = pending.find('\n')) != std::string::npos || (final && !pending.empty());) {
            std::string line = nl == std::string::npos ? pending : pending.substr(0, nl);
            pending.erase(0, nl == std::string::npos ? pending.size() : nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.rfind("data:", 0) != 0) continue;
            std::string data = line.substr(5);
            data.erase(0, data.find_first_not_of(' '));
            if (data == "[DONE]") return true;
            json event = json::parse(data, nullptr, false);
            if (event.is_discarded()) continue;
            if (event.is_object() && event.contains("error"))
                throw CliError(event["error"].is_object() ? event["error"].value("message", data) : data);
            on_event(event);
        }
        return false;
    };
    if (handle.response->status >= 400) {
        std::string err;
        for (ssize_t n; (n = handle.read(buf, sizeof buf)) > 0;) err.append(buf, static_cast<size_t>(n));
        throw CliError(error_text(handle.response->status, err) + path_hint(handle.response->status));
    }
    for (ssize_t n; (n = handle.read(buf, sizeof buf)) > 0;) {
        pending.append(buf, static_cast<size_t>(n));
        if (drain_lines(false)) return;
    }
    drain_lines(true);
}

int& exit_code() {
    static int code = 0;
    return code;
}

int run_reporting_errors(const std::function<void()>& body) {
    try {
        body();
        return 0;
    } catch (const std::exception& e) {  // CliError, and whatever else stops the command
        std::cerr << "Error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace xinfer::cli
