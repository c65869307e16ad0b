// Users, API keys and permissions, from Xinference's auth file (`serve --auth-config FILE`):
//   {"auth_config": {"algorithm": "HS256", "secret_key": "...", "token_expire_in_minutes": 30},
//    "user_config": [{"username": "...", "password": "...", "permissions": ["models:list", ...],
//                     "api_keys": ["sk-...", ...]}]}
// Nothing is kept in plain text: importing the file hashes each password with Argon2id and each
// key with HMAC-SHA256 under a random server secret, into XINFER_HOME/auth.json (mode 0600).
// Checks compare in constant time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace xinfer {

struct Principal {
    std::string user;
    std::set<std::string> permissions;
    bool allows(const std::string& permission) const { return permissions.count("admin") || permissions.count(permission); }
};

class Authenticator {
public:
    // Reads and checks the auth file (std::runtime_error naming what is wrong), hashes it into
    // `home`/auth.json and keeps only the hashes in memory.
    static Authenticator import_file(const std::filesystem::path& file, const std::filesystem::path& home);

    // A bearer credential: an API key (sk-...) or a token from login(). nullopt when unknown,
    // expired or forged.
    std::optional<Principal> authenticate(const std::string& bearer) const;

    // A signed token for a user whose password matches; nullopt otherwise (same answer for an
    // unknown user as for a wrong password).
    std::optional<std::string> login(const std::string& username, const std::string& password) const;

    int64_t token_lifetime_s() const { return expire_s_; }

private:
    struct User {
        std::string password_hash;  // Argon2id, encoded
        std::set<std::string> permissions;
    };
    std::string jwt_secret_, key_secret_;
    int64_t expire_s_ = 1800;
    std::map<std::string, User> users_;
    std::map<std::string, std::string> key_owner_;  // HMAC of the key -> user
};

// The permission a request needs, as Xinference names them (models:list, models:read,
// models:register, models:unregister, models:start, models:stop, admin); "" for the public
// routes (/status, the web UI's files, /token, /v1/cluster/auth). Deny by default: a route not
// listed needs admin.
std::string required_permission(const std::string& method, const std::string& path);

}  // namespace xinfer
