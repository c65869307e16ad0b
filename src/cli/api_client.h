// The CLI's view of the REST API: endpoint and key from flags or the environment, JSON calls
// whose failures carry the server's own error message.
#pragma once

#include <CLI/CLI.hpp>
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

// Adds -e/--endpoint and -ak/--api-key to a subcommand.
void add_endpoint_options(CLI::App* cmd, Endpoint& ep);
// Fills defaults from the environment once the command line is parsed.
Endpoint resolved(const Endpoint& ep);

class ApiClient {
public:
    explicit ApiClient(const Endpoint& ep);
    json get(const std::string& path);
    json post(const std::string& path, const json& body);
    json del(const std::string& path);

private:
    json call(const std::string& method, const std::string& path, const json* body);
    Endpoint ep_;
};

// Runs a client command body, printing CliError messages as `Error: ...` with exit code 1.
int run_reporting_errors(const std::function<void()>& body);

// The process exit code client commands leave for main() to return.
int& exit_code();

}  // namespace xinfer::cli
