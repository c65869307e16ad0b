// Shared helpers for route handlers: JSON replies, the OpenAI error shape, and a guard that turns
// every exception into a proper reply so no handler can take the service down.
#pragma once

#include <httplib.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "common/errors.h"

namespace xinfer {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
void send_error(httplib::Response& res, const ApiError& err);

// Wraps a handler: ApiError → its status and body; anything else → 500 with the message.
Handler guarded(Handler h);

// The parsed multipart form again as one body (httplib parses uploads into fields and files and
// keeps no raw body to forward); sets the content type with its boundary.
std::string multipart_body(const httplib::MultipartFormData& form, std::string& content_type);

// The request's query flag (?name=true / 1), with a default.
bool query_flag(const httplib::Request& req, const char* name, bool fallback);

}  // namespace xinfer
