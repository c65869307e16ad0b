// Persistent custom registrations (table `registrations` in XINFER_HOME/xinfer.db). Only
// `persist: true` registrations are written here; the Registry keeps the rest in memory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/sqlite_db.h"

namespace xinfer {

struct StoredRegistration {
    std::string type;  // as to_string(ModelType)
    std::string name;
    std::string spec_json;
};

class RegistrationStore {
public:
    explicit RegistrationStore(std::shared_ptr<SqliteDb> db);
    explicit RegistrationStore(const std::filesystem::path& db_path);

    std::vector<StoredRegistration> load_all();
    void put(const StoredRegistration& r);
    void remove(const std::string& type, const std::string& name);

private:
    std::shared_ptr<SqliteDb> db_;
};

}  // namespace xinfer
