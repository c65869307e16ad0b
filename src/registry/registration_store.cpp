#include "registry/registration_store.h"

#include <sqlite3.h>

#include <stdexcept>

namespace xinfer {

namespace {
struct Stmt {
    sqlite3_stmt* s = nullptr;
    Stmt(sqlite3* db, const char* sql) {
        if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
    }
    ~Stmt() { sqlite3_finalize(s); }
    void bind(int i, const std::string& v) {
        sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
};
}  // namespace

RegistrationStore::RegistrationStore(const std::filesystem::path& db_path) {
    if (sqlite3_open(db_path.c_str(), &db_) != SQLITE_OK)
        throw std::runtime_error("cannot open " + db_path.string() + ": " + sqlite3_errmsg(db_));
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("CREATE TABLE IF NOT EXISTS registrations (type TEXT NOT NULL, name TEXT NOT NULL, "
         "spec TEXT NOT NULL, PRIMARY KEY (type, name))");
}

RegistrationStore::~RegistrationStore() { sqlite3_close(db_); }

void RegistrationStore::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string m = err ? err : "unknown";
        sqlite3_free(err);
        throw std::runtime_error("sqlite: " + m);
    }
}

std::vector<StoredRegistration> RegistrationStore::load_all() {
    std::lock_guard lock(mu_);
    std::vector<StoredRegistration> out;
    Stmt st(db_, "SELECT type, name, spec FROM registrations ORDER BY type, name");
    while (sqlite3_step(st.s) == SQLITE_ROW) {
        auto col = [&](int i) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st.s, i))); };
        out.push_back({col(0), col(1), col(2)});
    }
    return out;
}

void RegistrationStore::put(const StoredRegistration& r) {
    std::lock_guard lock(mu_);
    Stmt st(db_, "INSERT OR REPLACE INTO registrations (type, name, spec) VALUES (?, ?, ?)");
    st.bind(1, r.type);
    st.bind(2, r.name);
    st.bind(3, r.spec_json);
    if (sqlite3_step(st.s) != SQLITE_DONE)
        throw std::runtime_error(std::string("sqlite insert: ") + sqlite3_errmsg(db_));
}

void RegistrationStore::remove(const std::string& type, const std::string& name) {
    std::lock_guard lock(mu_);
    Stmt st(db_, "DELETE FROM registrations WHERE type = ? AND name = ?");
    st.bind(1, type);
    st.bind(2, name);
    sqlite3_step(st.s);
}

}  // namespace xinfer
