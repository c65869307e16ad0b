#include "supervisor/model_store.h"

#include <chrono>

namespace xinfer {

namespace {
std::string now_text() {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    return std::to_string(ms.count() / 1000.0);
}
}  // namespace

ModelStore::ModelStore(std::shared_ptr<SqliteDb> db) : db_(std::move(db)) {
    db_->exec("CREATE TABLE IF NOT EXISTS launched_models (uid TEXT PRIMARY KEY, request TEXT NOT NULL, "
              "updated REAL NOT NULL)");
    db_->exec("CREATE TABLE IF NOT EXISTS launch_history (id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL, "
              "event TEXT NOT NULL, detail TEXT NOT NULL, time REAL NOT NULL)");
}

void ModelStore::put(const std::string& uid, const nlohmann::json& req) {
    db_->query("INSERT OR REPLACE INTO launched_models (uid, request, updated) VALUES (?, ?, ?)", {uid, req.dump(), now_text()});
}

void ModelStore::remove(const std::string& uid) { db_->query("DELETE FROM launched_models WHERE uid = ?", {uid}); }

std::vector<nlohmann::json> ModelStore::launched() {
    std::vector<nlohmann::json> out;
    for (auto& row : db_->query("SELECT request FROM launched_models ORDER BY updated")) {
        auto j = nlohmann::json::parse(row[0], nullptr, false);
        if (j.is_object()) out.push_back(j);
    }
    return out;
}

void ModelStore::record(const std::string& uid, const std::string& event, const std::string& detail) {
    db_->query("INSERT INTO launch_history (uid, event, detail, time) VALUES (?, ?, ?, ?)", {uid, event, detail, now_text()});
}

nlohmann::json ModelStore::history(const std::string& uid, int limit) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& row : db_->query("SELECT event, detail, time FROM launch_history WHERE uid = ? ORDER BY id DESC LIMIT " +
                                std::to_string(limit), {uid}))
        out.push_back({{"event", row[0]}, {"detail", row[1]}, {"time", std::stod(row[2])}});
    return out;
}

}  // namespace xinfer
