// Users, API keys and permissions, from Xinference's auth file (`serve --auth-config FILE`):
//   {"auth_config": {"algorithm": "HS256", "secret_key": "...", "token_expire_in_minutes": 30},
//    "user_config": [{"username": "...", "password": "...", "permissions": ["models:list", ...],
//                     "api_keys": ["sk-...", ...]}]}
// Nothing is kept in plain text: importing the file hashes each password with Argon2id and each
// key with HMAC-SHA256 under a random server secret, into XINFER_HOME/auth.json (mode 0600).
// Checks compare in constant time. Keys (imported and created at run time) live in a KeyStore.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <memory>
#include <vector>

#include "auth/key_store.h"

namespace xinfer {

// Who a request comes from and what it may do.
struct Principal {
    std::string user;
    std::set<std::string> permissions;
    std::optional<ApiKey> key;  // the API key it presented (its limits apply); none for a login token
    bool allows(const std::string& permission) const { return permissions.count("admin") || permissions.count(permission); }
    bool may_use_model(const std::string& model) const { return !key || key->may_use_model(model); }
};

class Authenticator {
public:
    Authenticator(const Authenticator&) = delete;
    Authenticator& operator=(const Authenticator&) = delete;
    // Reads and checks the auth file (std::runtime_error naming what is wrong), hashes it into
    // `home`/auth.json and keeps only the hashes in memory.
    // The server secret for keys is kept across restarts, so keys created at run time stay valid.
    // In a cluster (`shared_keys`) every node hashes keys under one secret derived from the auth
    // file's secret_key, so a key made on one node is checked alike on the others.
    static std::shared_ptr<Authenticator> import_file(const std::filesystem::path& file, const std::filesystem::path& home,
                                                      bool shared_keys = false);

    // A bearer credential: an API key (sk-...) or a token from login(). nullopt when unknown,
    // expired or forged.
    std::optional<Principal> authenticate(const std::string& bearer) const;

    // A signed token for a user whose password matches; nullopt otherwise (same answer for an
    // unknown user as for a wrong password).
    std::optional<std::string> login(const std::string& username, const std::string& password) const;

    int64_t token_lifetime_s() const { return static_cast<int64_t>(std::ceil(expire_s_)); }

    // Key management (admins). create_key throws std::invalid_argument for a bad request (unknown
    // user, permissions beyond the user's).
    std::pair<std::string, ApiKey> create_key(const KeyRequest& request);
    nlohmann::json list_keys() const { return keys_->list(); }
    bool revoke_key(const std::string& id) { return keys_->revoke(id); }
    nlohmann::json key_record(const std::string& id) const { return keys_->record(id); }
    void merge_key(const nlohmann::json& record) { keys_->merge(record); }

private:
    Authenticator();
    struct User {
        std::string password_hash;  // Argon2id, encoded
        std::set<std::string> permissions;
    };
    std::string jwt_secret_, key_secret_;
    double expire_s_ = 1800;  // token_expire_in_minutes may be a fraction
    std::map<std::string, User> users_;
    std::unique_ptr<KeyStore> keys_;
};

// The permission a request needs, as Xinference names them (models:list, models:read,
// models:register, models:unregister, models:start, models:stop, admin); "" for the public
// routes (/status, the web UI's files, /token, /v1/cluster/auth). Deny by default: a route not
// listed needs admin.
std::string required_permission(const std::string& method, const std::string& path);

}  // namespace xinfer
