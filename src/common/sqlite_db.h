// A small SQLite wrapper shared by the stores in XINFER_HOME/xinfer.db: one connection, WAL,
// prepared statements that finalize themselves, errors as exceptions.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace xinfer {

class SqliteDb {
public:
    explicit SqliteDb(const std::filesystem::path& path);
    ~SqliteDb();
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    void exec(const std::string& sql);
    // Runs `sql` with text parameters bound in order; returns the rows of text columns.
    std::vector<std::vector<std::string>> query(const std::string& sql, const std::vector<std::string>& params = {});

private:
    sqlite3* db_ = nullptr;
    std::mutex mu_;
};

}  // namespace xinfer
