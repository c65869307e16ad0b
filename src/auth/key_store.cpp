#include "auth/key_store.h"

#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "auth/jwt.h"

namespace xinfer {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// 13 letters/digits from the OS's random source, without modulo bias.
std::string random_key() {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string key = "sk-";
    while (key.size() < 16) {
        unsigned char byte;
        if (RAND_bytes(&byte, 1) != 1) throw std::runtime_error("no randomness for a new key");
        if (byte < 248) key += alphabet[byte % 62];  // 248 = 4 * 62
    }
    return key;
}

ApiKey from_json(const json& j) {
    ApiKey k;
    k.id = j.value("id", "");
    k.hmac = j.value("hmac", "");
    k.user = j.value("user", "");
    k.name = j.value("name", "");
    k.hint = j.value("hint", "");
    k.source = j.value("source", "api");
    k.permissions = j.value("permissions", std::set<std::string>{});
    k.models = j.value("models", std::vector<std::string>{});
    k.created_at = j.value("created_at", int64_t{0});
    k.expires_at = j.value("expires_at", int64_t{0});
    k.rpm = j.value("rpm", 0);
    k.tpm = j.value("tpm", 0);
    k.revoked = j.value("revoked", false);
    return k;
}

}  // namespace

json ApiKey::to_json() const {
    return {{"id", id}, {"user", user}, {"name", name}, {"hint", hint}, {"source", source}, {"permissions", permissions},
            {"models", models}, {"created_at", created_at}, {"expires_at", expires_at}, {"rpm", rpm}, {"tpm", tpm},
            {"revoked", revoked}};
}

bool ApiKey::may_use_model(const std::string& model) const {
    return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

KeyStore::KeyStore(fs::path file, std::string secret) : file_(std::move(file)), secret_(std::move(secret)) {
    std::ifstream in(file_);
    if (!in) return;
    const json j = json::parse(in, nullptr, false);
    if (!j.is_object()) throw std::runtime_error(file_.string() + " is not a key file");
    for (const json& k : j.value("keys", json::array())) keys_.push_back(from_json(k));
    revoked_imported_ = j.value("revoked_imported", std::set<std::string>{});
}

void KeyStore::import_key(const std::string& key, const std::string& user) {
    ApiKey k;
    k.hmac = hmac_sha256_hex(secret_, key);
    k.id = k.hmac.substr(0, 12);
    k.user = user;
    k.name = "from the auth config";
    k.hint = "sk-…" + key.substr(key.size() - 4);
    k.source = "auth_config";
    std::unique_lock lock(mu_);
    k.revoked = revoked_imported_.count(k.id) > 0;
    std::erase_if(keys_, [&](const ApiKey& o) { return o.hmac == k.hmac; });
    keys_.push_back(std::move(k));
}

std::pair<std::string, ApiKey> KeyStore::create(const KeyRequest& r, int64_t now) {
    const std::string key = random_key();
    ApiKey k;
    k.hmac = hmac_sha256_hex(secret_, key);
    k.id = k.hmac.substr(0, 12);
    k.user = r.user;
    k.name = r.name;
    k.hint = "sk-…" + key.substr(key.size() - 4);
    k.source = "api";
    k.permissions = r.permissions;
    k.models = r.models;
    k.created_at = now;
    k.expires_at = r.expires_at;
    k.rpm = r.rpm;
    k.tpm = r.tpm;
    std::unique_lock lock(mu_);
    keys_.push_back(k);
    save();
    return {key, k};
}

std::optional<ApiKey> KeyStore::find(const std::string& key, int64_t now) const {
    // A lookup of a keyed hash: how long it takes says nothing about the key.
    const std::string digest = hmac_sha256_hex(secret_, key);
    std::shared_lock lock(mu_);
    for (const ApiKey& k : keys_)
        if (equal_constant_time(k.hmac, digest)) {
            if (k.revoked || (k.expires_at && now >= k.expires_at)) return std::nullopt;
            return k;
        }
    return std::nullopt;
}

json KeyStore::list() const {
    std::shared_lock lock(mu_);
    json out = json::array();
    for (const ApiKey& k : keys_) out.push_back(k.to_json());
    return out;
}

bool KeyStore::revoke(const std::string& id) {
    std::unique_lock lock(mu_);
    for (ApiKey& k : keys_)
        if (k.id == id) {
            k.revoked = true;
            if (k.source == "auth_config") revoked_imported_.insert(id);
            save();
            return true;
        }
    return false;
}

json KeyStore::record(const std::string& id) const {
    std::shared_lock lock(mu_);
    for (const ApiKey& k : keys_)
        if (k.id == id) {
            json r = k.to_json();
            r["hmac"] = k.hmac;
            return r;
        }
    return nullptr;
}

void KeyStore::merge(const json& record) {
    ApiKey in = from_json(record);
    if (in.id.empty() || in.hmac.size() != 64) return;
    std::unique_lock lock(mu_);
    for (ApiKey& k : keys_)
        if (k.id == in.id) {
            if (k.revoked || !in.revoked) return;  // nothing new
            k.revoked = true;
            if (k.source == "auth_config") revoked_imported_.insert(k.id);
            save();
            return;
        }
    if (in.source != "api") return;  // a file key another node revoked: this node's file has it, or not
    keys_.push_back(std::move(in));
    save();
}

void KeyStore::save() const {
    json keys = json::array();
    for (const ApiKey& k : keys_)
        if (k.source == "api") {
            json record = k.to_json();
            record["hmac"] = k.hmac;
            keys.push_back(std::move(record));
        }
    const json out = {{"keys", keys}, {"revoked_imported", revoked_imported_}};
    const std::string tmp = file_.string() + ".tmp";
    {
        std::ofstream f(tmp);
        ::chmod(tmp.c_str(), 0600);
        f << out.dump(2);
    }
    fs::rename(tmp, file_);
}

}  // namespace xinfer
