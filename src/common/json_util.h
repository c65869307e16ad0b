// Reading request bodies: parse once, then typed field access whose failures are 400s that name
// the offending field, so bad input never escapes as a nlohmann exception (a 500).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/errors.h"

namespace xinfer {

using json = nlohmann::json;

// Parses a request body that must be a JSON object.
json parse_json_object(const std::string& body);

// The field if present and not null; throws bad_request when it has the wrong type.
std::optional<std::string> opt_string(const json& obj, const char* key);
std::optional<long long> opt_int(const json& obj, const char* key);
std::optional<bool> opt_bool(const json& obj, const char* key);
std::string require_string(const json& obj, const char* key);

}  // namespace xinfer
