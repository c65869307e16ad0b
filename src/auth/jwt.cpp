#include "auth/jwt.h"
#include "common/text.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace xinfer {

namespace {

std::string hmac(const std::string& key, const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
}

std::string b64url(const std::string& in) {
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        acc = acc << 8 | c;
        bits += 8;
        while (bits >= 6) out += abc[(acc >> (bits -= 6)) & 63];
    }
    if (bits > 0) out += abc[(acc << (6 - bits)) & 63];
    return out;
}

std::optional<std::string> b64url_decode(const std::string& in) {
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
              : c == '-' ? 62 : c == '_' ? 63 : -1;
        if (v < 0) return std::nullopt;
        acc = acc << 6 | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) out += static_cast<char>((acc >> (bits -= 8)) & 0xff);
    }
    return out;
}

}  // namespace

std::string hmac_sha256_hex(const std::string& key, const std::string& data) { return to_hex(hmac(key, data)); }

bool equal_constant_time(const std::string& a, const std::string& b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string jwt_sign(const nlohmann::json& payload, const std::string& secret) {
    const std::string head = b64url(R"({"alg":"HS256","typ":"JWT"})") + "." + b64url(payload.dump());
    return head + "." + b64url(hmac(secret, head));
}

std::optional<nlohmann::json> jwt_verify(const std::string& token, const std::string& secret, int64_t now) {
    const size_t a = token.find('.'), b = a == std::string::npos ? a : token.find('.', a + 1);
    if (b == std::string::npos || token.find('.', b + 1) != std::string::npos) return std::nullopt;
    const auto header = b64url_decode(token.substr(0, a));
    const auto payload = b64url_decode(token.substr(a + 1, b - a - 1));
    if (!header || !payload) return std::nullopt;
    const nlohmann::json h = nlohmann::json::parse(*header, nullptr, false);
    // Only HS256: never "none", never another key type; a field of the wrong type is a bad token.
    if (!h.is_object() || !h.contains("alg") || !h["alg"].is_string() || h["alg"].get_ref<const std::string&>() != "HS256")
        return std::nullopt;
    if (!equal_constant_time(b64url(hmac(secret, token.substr(0, b))), token.substr(b + 1))) return std::nullopt;
    nlohmann::json p = nlohmann::json::parse(*payload, nullptr, false);
    if (!p.is_object()) return std::nullopt;
    if (p.contains("exp") && (!p["exp"].is_number() || p["exp"].get<double>() <= static_cast<double>(now))) return std::nullopt;
    return p;
}

}  // namespace xinfer
