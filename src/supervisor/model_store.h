// What survives a restart of the service: the launched models with their launch parameters
// (table `launched_models`), and the launch history (table `launch_history`).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/sqlite_db.h"

namespace xinfer {

class ModelStore {
public:
    explicit ModelStore(std::shared_ptr<SqliteDb> db);

    void put(const std::string& uid, const nlohmann::json& launch_request);
    void remove(const std::string& uid);
    std::vector<nlohmann::json> launched();  // launch requests, oldest first
    void record(const std::string& uid, const std::string& event, const std::string& detail);
    nlohmann::json history(const std::string& uid, int limit = 100);

private:
    std::shared_ptr<SqliteDb> db_;
};

}  // namespace xinfer
