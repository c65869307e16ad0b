// Everything the supervisor knows about one launched model.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "registry/model_resolver.h"
#include "supervisor/launch_request.h"
#include "supervisor/model_state.h"
#include "worker/replica.h"

namespace xinfer {

struct ModelRecord {
    ~ModelRecord();  // joins the launcher thread (or detaches it when it is the one ending us)
    std::string uid;
    LaunchRequest request;
    ResolvedModel model;
    std::chrono::system_clock::time_point created = std::chrono::system_clock::now();
    std::chrono::steady_clock::time_point launch_started = std::chrono::steady_clock::now();

    mutable std::mutex mu;
    std::condition_variable changed;  // state or progress moved
    ModelState state = ModelState::launching;
    std::string failure_reason;
    double progress = 0.0;
    std::vector<std::shared_ptr<Replica>> replicas;
    nlohmann::json events = nlohmann::json::array();  // {time, event, detail}

    std::atomic<bool> cancel{false};
    std::thread launcher;

    // Caller holds mu.
    void add_event(const std::string& event, const std::string& detail);
    bool move_to(ModelState next, const std::string& why);  // false when not allowed
};

}  // namespace xinfer
