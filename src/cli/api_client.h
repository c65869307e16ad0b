// The CLI's view of the REST API: endpoint and key from flags or the environment, JSON calls
// whose failures carry the server's own error message, and SSE streams for chat.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace xinfer::cli {

using json = nlohmann::json;

struct CliError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Endpoint {
    std::string url;      // -e/--endpoint, $XINFERENCE_ENDPOINT, $XINFER_ENDPOINT, default
    std::string api_key;  // -ak/--api-key, $XINFER_API_KEY
};

// Query parameters; empty values are left out (as requests does with None).
using Query = std::map<std::string, std::string>;

// `xinference login` keeps a token per endpoint (in XINFER_HOME/cli-tokens.json, mode 0600);
// commands without -ak then send it.
void save_login_token(const std::string& endpoint, const std::string& token);

// Adds -e/--endpoint and -ak/--api-key to a subcommand.
void add_endpoint_options(CLI::App* cmd, Endpoint& ep);
// Fills defaults from the environment once the command line is parsed.
Endpoint resolved(const Endpoint& ep);

class ApiClient {
public:
    explicit ApiClient(const Endpoint& ep);
    json get(const std::string& path, const Query& query = {});
    json post(const std::string& path, const json& body, const Query& query = {});
    json del(const std::string& path, const Query& query = {});
    // POSTs a streaming request and calls on_event with each `data:` JSON payload until [DONE].
    void stream(const std::string& path, const json& body, const std::function<void(const json&)>& on_event);
    const std::string& url() const { return ep_.url; }

private:
    json call(const std::string& method, const std::string& path, const json* body);
    std::string path_hint(int status) const;  // for a 404 that a path in the endpoint may explain
    Endpoint ep_;
    // The endpoint split as Xinference's client joins it ("{base_url}/v1/models"): the server's
    // address and any path before the API's (a service behind a proxy at http://gw/xinference).
    std::string origin_, prefix_;
};

// The path with its query string (values URL-encoded).
std::string with_query(const std::string& path, const Query& query);

// Runs a client command body, printing CliError messages (and any other failure, such as an
// endpoint that is not an address) as `Error: ...` with exit code 1.
int run_reporting_errors(const std::function<void()>& body);

// The process exit code client commands leave for main() to return.
int& exit_code();

}  // namespace xinfer::cli
