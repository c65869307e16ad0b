#include "auth/authenticator.h"
#include "common/text.h"

#include <argon2.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

#include "auth/jwt.h"

namespace xinfer {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::set<std::string>& known_permissions() {
    static const std::set<std::string> p = {"models:list", "models:read", "models:register", "models:unregister",
                                            "models:start", "models:stop", "admin"};
    return p;
}

std::string random_hex(size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
        throw std::runtime_error("no randomness for the server secret");
    return to_hex(raw);
}

// Argon2id, RFC 9106's second recommended setting (64 MiB would make every login cost a lot on
// small machines; 19 MiB, 2 passes is OWASP's minimum for Argon2id).
std::string hash_password(const std::string& password) {
    const std::string salt = random_hex(16);
    char encoded[256];
    const int rc = argon2id_hash_encoded(2, 19 * 1024, 1, password.data(), password.size(), salt.data(), salt.size(), 32,
                                         encoded, sizeof encoded);
    if (rc != ARGON2_OK) throw std::runtime_error(std::string("cannot hash a password: ") + argon2_error_message(rc));
    return encoded;
}

int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Authenticator::Authenticator() = default;

std::shared_ptr<Authenticator> Authenticator::import_file(const fs::path& file, const fs::path& home, bool shared_keys) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read the auth config " + file.string());
    const json j = json::parse(in, nullptr, false);
    if (!j.is_object() || !j.contains("auth_config") || !j.contains("user_config") || !j["user_config"].is_array())
        throw std::runtime_error(file.string() + " is not an auth config (it needs auth_config and user_config)");
    const json& ac = j["auth_config"];
    std::shared_ptr<Authenticator> owned(new Authenticator());
    Authenticator& a = *owned;
    if (ac.value("algorithm", "HS256") != "HS256")
        throw std::runtime_error("auth_config.algorithm '" + ac.value("algorithm", "") + "' is not supported (HS256 is)");
    a.jwt_secret_ = ac.value("secret_key", "");
    if (a.jwt_secret_.size() < 16) throw std::runtime_error("auth_config.secret_key must be at least 16 characters");
    a.expire_s_ = ac.value("token_expire_in_minutes", 30.0) * 60;
    // The key secret outlives restarts (keys created at run time are stored under it).
    const fs::path out = home / "auth.json";
    if (std::ifstream prev{out}) {
        const json old = json::parse(prev, nullptr, false);
        if (old.is_object()) a.key_secret_ = old.value("key_hmac_secret", "");
    }
    if (a.key_secret_.size() < 32) a.key_secret_ = random_hex(32);
    if (shared_keys) a.key_secret_ = hmac_sha256_hex(a.jwt_secret_, "xinfer cluster: API key hashes");
    fs::create_directories(home);
    a.keys_ = std::make_unique<KeyStore>(home / "keys.json", a.key_secret_);
    static const std::regex key_format("^sk-[A-Za-z0-9]{13}$");
    json stored = {{"imported_from", fs::absolute(file).string()}, {"key_hmac_secret", a.key_secret_}, {"users", json::array()}};
    for (auto& u : j["user_config"]) {
        const std::string name = u.value("username", "");
        if (name.empty() || !u.contains("password")) throw std::runtime_error("a user in " + file.string() + " has no username or password");
        User user;
        for (auto& p : u.value("permissions", json::array())) {
            if (!known_permissions().count(p.get<std::string>()))
                throw std::runtime_error("user " + name + " has an unknown permission '" + p.get<std::string>() + "'");
            user.permissions.insert(p.get<std::string>());
        }
        user.password_hash = hash_password(u["password"].get<std::string>());
        json keys = json::array();
        for (auto& k : u.value("api_keys", json::array())) {
            const std::string key = k.get<std::string>();
            if (!std::regex_match(key, key_format))
                throw std::runtime_error("user " + name + " has an API key that is not sk- and 13 letters or digits");
            a.keys_->import_key(key, name);
            keys.push_back(hmac_sha256_hex(a.key_secret_, key));
        }
        stored["users"].push_back({{"username", name}, {"password_argon2id", user.password_hash},
                                   {"permissions", user.permissions}, {"api_key_hmacs", keys}});
        a.users_[name] = std::move(user);
    }
    // Hashes only, readable by this user only.
    {
        std::ofstream f(out.string() + ".tmp");
        ::chmod((out.string() + ".tmp").c_str(), 0600);
        f << stored.dump(2);
    }
    fs::rename(out.string() + ".tmp", out);
    return owned;
}

std::optional<Principal> Authenticator::authenticate(const std::string& bearer) const {
    if (bearer.rfind("sk-", 0) == 0) {
        auto key = keys_->find(bearer, now_s());
        if (!key) return std::nullopt;
        auto user = users_.find(key->user);
        if (user == users_.end()) return std::nullopt;  // its user left the auth config
        // A key carries its user's permissions, or only those of its own list the user still has.
        const Principal owner{user->first, user->second.permissions, std::nullopt};
        std::set<std::string> permissions = owner.permissions;
        if (!key->permissions.empty()) {
            permissions.clear();
            for (auto& p : key->permissions)
                if (owner.allows(p)) permissions.insert(p);
        }
        return Principal{user->first, permissions, std::move(key)};
    }
    auto payload = jwt_verify(bearer, jwt_secret_, now_s());
    if (!payload || !payload->contains("sub") || !(*payload)["sub"].is_string()) return std::nullopt;
    auto user = users_.find((*payload)["sub"].get<std::string>());
    if (user == users_.end()) return std::nullopt;
    return Principal{user->first, user->second.permissions, std::nullopt};
}

std::optional<std::string> Authenticator::login(const std::string& username, const std::string& password) const {
    auto it = users_.find(username);
    // An unknown user still costs one hash, so timing does not tell which names exist.
    static const std::string decoy = hash_password("decoy");
    const std::string& hash = it == users_.end() ? decoy : it->second.password_hash;
    const bool ok = argon2id_verify(hash.c_str(), password.data(), password.size()) == ARGON2_OK;
    if (!ok || it == users_.end()) return std::nullopt;
    // `exp` in whole seconds (as Xinference's tokens), rounded up: a token never lives shorter
    // than configured (truncated, a 1.8 s lifetime issued at 100.95 s expired at 101, 0.05 s later).
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto exp = static_cast<int64_t>(std::ceil(now + expire_s_));
    json payload = {{"sub", username}, {"exp", exp}, {"scopes", it->second.permissions}};
    return jwt_sign(payload, jwt_secret_);
}

std::pair<std::string, ApiKey> Authenticator::create_key(const KeyRequest& request) {
    auto user = users_.find(request.user);
    if (user == users_.end()) throw std::invalid_argument("no user '" + request.user + "' in the auth config");
    const Principal owner{user->first, user->second.permissions, std::nullopt};
    for (auto& p : request.permissions) {
        if (!known_permissions().count(p)) throw std::invalid_argument("unknown permission '" + p + "'");
        if (!owner.allows(p)) throw std::invalid_argument("user '" + request.user + "' lacks the permission '" + p + "' itself");
    }
    if (request.rpm < 0 || request.tpm < 0) throw std::invalid_argument("rpm and tpm must be 0 (unlimited) or more");
    if (request.expires_at && request.expires_at <= now_s()) throw std::invalid_argument("expires_at is in the past");
    return keys_->create(request, now_s());
}

std::string required_permission(const std::string& method, const std::string& path) {
    auto starts = [&](const char* p) { return path.rfind(p, 0) == 0; };
    if (path == "/" || path == "/status" || path == "/token" || path == "/v1/cluster/auth" || path == "/ui" || starts("/ui/"))
        return "";
    // Voices to clone are registrations: listing them is reading the catalog, changing them is registering.
    if (starts("/v1/audio/voices")) return method == "GET" ? "models:list" : "models:register";
    // Inference: reading a model's answers.
    for (auto p : {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/rerank", "/v1/audio/", "/v1/images/",
                   "/v1/convert_ids_to_tokens", "/v1/tokenize", "/v1/detokenize"})
        if (starts(p)) return "models:read";
    if (starts("/v1/model_registrations")) {
        if (method == "POST") return "models:register";
        if (method == "DELETE") return "models:unregister";
        return "models:list";
    }
    if (path == "/v1/models" || path == "/v1/models/") return method == "POST" ? "models:start" : "models:list";
    if (path == "/v1/models/instances" || starts("/v1/engines") || path == "/metrics") return "models:list";
    if (starts("/v1/models/")) {
        if (method == "DELETE" || path.ends_with("/cancel") || path.find("/abort") != std::string::npos) return "models:stop";
        if (method == "POST") return "models:start";  // replicas up
        return "models:read";
    }
    if (starts("/v1/cache/models")) return method == "DELETE" ? "admin" : "models:list";
    return "admin";
}

}  // namespace xinfer
