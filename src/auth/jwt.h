// JSON Web Tokens as Xinference issues them at POST /token: HS256 (HMAC-SHA256) over
// base64url(header).base64url(payload), payload {"sub": user, "exp": unix seconds, "scopes": [...]}.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace xinfer {

std::string jwt_sign(const nlohmann::json& payload, const std::string& secret);

// The payload when the signature is right, the algorithm is HS256 and `exp` (if present) is
// after `now`; nullopt otherwise. Compares signatures in constant time.
std::optional<nlohmann::json> jwt_verify(const std::string& token, const std::string& secret, int64_t now);

// HMAC-SHA256 of `data` with `key`, lower-case hex (keys are stored as this, never in plain).
std::string hmac_sha256_hex(const std::string& key, const std::string& data);

// Constant-time comparison of two strings of equal length (false when lengths differ).
bool equal_constant_time(const std::string& a, const std::string& b);

}  // namespace xinfer
