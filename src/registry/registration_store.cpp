#include "registry/registration_store.h"

namespace xinfer {

RegistrationStore::RegistrationStore(std::shared_ptr<SqliteDb> db) : db_(std::move(db)) {
    db_->exec("CREATE TABLE IF NOT EXISTS registrations (type TEXT NOT NULL, name TEXT NOT NULL, "
              "spec TEXT NOT NULL, PRIMARY KEY (type, name))");
}

RegistrationStore::RegistrationStore(const std::filesystem::path& path)
    : RegistrationStore(std::make_shared<SqliteDb>(path)) {}

std::vector<StoredRegistration> RegistrationStore::load_all() {
    std::vector<StoredRegistration> out;
    for (auto& row : db_->query("SELECT type, name, spec FROM registrations ORDER BY type, name"))
        out.push_back({row[0], row[1], row[2]});
    return out;
}

void RegistrationStore::put(const StoredRegistration& r) {
    db_->query("INSERT OR REPLACE INTO registrations (type, name, spec) VALUES (?, ?, ?)", {r.type, r.name, r.spec_json});
}

void RegistrationStore::remove(const std::string& type, const std::string& name) {
    db_->query("DELETE FROM registrations WHERE type = ? AND name = ?", {type, name});
}

}  // namespace xinfer
