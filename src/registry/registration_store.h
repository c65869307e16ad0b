// Persistent custom registrations (SQLite in XINFER_HOME/xinfer.db). Only `persist: true`
// registrations are written here; the Registry keeps the rest in memory.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

struct sqlite3;

namespace xinfer {

struct StoredRegistration {
    std::string type;  // as to_string(ModelType)
    std::string name;
    std::string spec_json;
};

class RegistrationStore {
public:
    explicit RegistrationStore(const std::filesystem::path& db_path);
    ~RegistrationStore();

    std::vector<StoredRegistration> load_all();
    void put(const StoredRegistration& r);
    void remove(const std::string& type, const std::string& name);

private:
    void exec(const char* sql);
    sqlite3* db_ = nullptr;
    std::mutex mu_;
};

}  // namespace xinfer
