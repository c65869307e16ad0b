// Errors that cross the HTTP boundary. Everything a handler throws becomes one of these, and
// every one of these becomes an OpenAI-shaped body plus Xinference's `detail`, with its status.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace xinfer {

class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string message, std::string type = "", std::string param = "",
             std::string code = "");

    int status() const { return status_; }
    const std::string& type() const { return type_; }
    const std::string& param() const { return param_; }
    const std::string& code() const { return code_; }
    int retry_after() const { return retry_after_; }  // seconds; 0: no Retry-After header
    void set_retry_after(int seconds) { retry_after_ = seconds; }

    // {"error":{"message","type","param","code"},"detail":message}
    nlohmann::json to_json() const;

private:
    int status_;
    std::string type_, param_, code_;
    int retry_after_ = 0;
};

// Thrown where a cluster node learns that another node serves what the request names (a model
// it does not run, a launch for another machine): the HTTP layer relays the whole request to
// `address` and the answer back. Not an error: it derives from nothing a handler catches.
struct RoutedElsewhere {
    std::string node, address;
};

// Thrown where the request can now be served on this node after all (a model it waited for
// started here): the HTTP layer runs the handler again.
struct RetryHere {};

// Shorthands for the statuses the API uses, so call sites read as the rule they enforce.
ApiError bad_request(const std::string& message, const std::string& param = "");
ApiError not_found(const std::string& message, const std::string& param = "");
ApiError conflict(const std::string& message);
ApiError unavailable(const std::string& message);
ApiError internal_error(const std::string& message);

// The OpenAI `type` for a status: invalid_request_error, authentication_error, ...
std::string error_type_for_status(int status);

}  // namespace xinfer
