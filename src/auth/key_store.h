// API keys: the ones Xinference's auth file lists and the ones admins create at run time
// (`xinfer keys create`, POST /v1/admin/keys). Only a keyed hash of each key is kept (HMAC-SHA256
// under the server's secret); the key itself is shown once, when created. A key may be limited
// to some models, an expiry time, requests and tokens per minute, and fewer permissions than its
// user; revoking it takes effect on the next request. Created keys and revocations persist in
// XINFER_HOME/keys.json (mode 0600).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

namespace xinfer {

struct ApiKey {
    std::string id;      // public handle (lists, revoke): the first 12 hex digits of the hash
    std::string hmac;    // HMAC-SHA256 of the key, hex
    std::string user;    // whose permissions it carries
    std::string name;    // a label for people
    std::string hint;    // "sk-…" and the key's last 4 characters
    std::string source;  // "auth_config" or "api"
    std::set<std::string> permissions;  // empty: all of the user's; else at most those
    std::vector<std::string> models;    // empty: every model
    int64_t created_at = 0, expires_at = 0;  // unix seconds; 0: never expires
    int rpm = 0, tpm = 0;                    // requests / tokens per minute; 0: unlimited
    bool revoked = false;

    nlohmann::json to_json() const;  // never includes the hash
    bool may_use_model(const std::string& model) const;
};

// What an admin asks for when creating a key.
struct KeyRequest {
    std::string user, name;
    std::set<std::string> permissions;
    std::vector<std::string> models;
    int64_t expires_at = 0;
    int rpm = 0, tpm = 0;
};

class KeyStore {
public:
    KeyStore(std::filesystem::path file, std::string secret);

    // The keys of the auth file (plain, as Xinference's file holds them) for `user`; revocations
    // recorded earlier still apply.
    void import_key(const std::string& key, const std::string& user);
    // A new random key in Xinference's format (sk- and 13 letters/digits), stored hashed; the
    // plain key is returned once and never again.
    std::pair<std::string, ApiKey> create(const KeyRequest& request, int64_t now);
    // The key record for a presented key; nullopt when unknown, revoked or expired.
    std::optional<ApiKey> find(const std::string& key, int64_t now) const;
    nlohmann::json list() const;
    // Revokes by id; false when no such key.
    bool revoke(const std::string& id);

    // A cluster's nodes share their keys (under one secret): the full record of a key, its hash
    // included (null when there is no such key), and taking a record another node made or
    // changed (a new key, a revocation; a revocation is never undone by an older record).
    nlohmann::json record(const std::string& id) const;
    void merge(const nlohmann::json& record);

private:
    void save() const;  // with mu_ held
    std::filesystem::path file_;
    std::string secret_;
    mutable std::shared_mutex mu_;
    std::vector<ApiKey> keys_;
    std::set<std::string> revoked_imported_;  // ids of auth-file keys revoked at run time
};

}  // namespace xinfer
