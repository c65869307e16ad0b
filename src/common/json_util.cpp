#include "common/json_util.h"

namespace xinfer {

json parse_json_object(const std::string& body) {
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw bad_request("Request body is not valid JSON");
    if (!j.is_object()) throw bad_request("Request body must be a JSON object");
    return j;
}

std::optional<std::string> opt_string(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) throw bad_request(std::string("'") + key + "' must be a string", key);
    return it->get<std::string>();
}

std::optional<long long> opt_int(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (it->is_number_integer() || it->is_number_unsigned()) return it->get<long long>();
    if (it->is_number_float()) {
        double d = it->get<double>();
        // Within long long's range first: converting a larger double is undefined behaviour.
        if (d >= -9.2e18 && d <= 9.2e18 && d == static_cast<double>(static_cast<long long>(d)))
            return static_cast<long long>(d);
    }
    if (it->is_string()) {  // CLI and form clients send numbers as strings
        try {
            size_t used = 0;
            long long v = std::stoll(it->get<std::string>(), &used);
            if (used == it->get<std::string>().size()) return v;
        } catch (...) {
        }
    }
    throw bad_request(std::string("'") + key + "' must be an integer", key);
}

std::optional<bool> opt_bool(const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean()) throw bad_request(std::string("'") + key + "' must be a boolean", key);
    return it->get<bool>();
}

std::string require_string(const json& obj, const char* key) {
    auto v = opt_string(obj, key);
    if (!v || v->empty()) throw bad_request(std::string("'") + key + "' is required", key);
    return *v;
}

}  // namespace xinfer
