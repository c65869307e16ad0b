// Everything the supervisor knows about one launched model.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
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

using SteadyClock = std::chrono::steady_clock;

struct ModelRecord {
    ~ModelRecord();  // joins its worker threads (or detaches the one that is ending us)

    std::string uid;
    LaunchRequest request;
    ResolvedModel model;
    std::chrono::system_clock::time_point created = std::chrono::system_clock::now();
    SteadyClock::time_point launch_started = SteadyClock::now();

    mutable std::mutex mu;
    std::condition_variable changed;  // state or progress moved, or a request slot freed
    ModelState state = ModelState::launching;
    std::string failure_reason;
    double progress = 0.0;
    // A download in progress (or done) for this launch: bytes, speed, expected seconds left.
    nlohmann::json download = nullptr;
    // Running copies, each with a stable id (Replica::index()): removing one leaves the others'
    // ids, addresses and logs alone. New replicas take next_replica_id.
    std::vector<std::shared_ptr<Replica>> replicas;
    int next_replica_id = 0;
    nlohmann::json events = nlohmann::json::array();  // {time, event, detail}

    // Requests: admitted (holding a replica) and waiting for a slot under request_limits.
    int active = 0;
    int waiting = 0;
    int reload_waiters = 0;  // requests waiting for a reload or restart to finish
    uint64_t rejected = 0;
    SteadyClock::time_point last_used = SteadyClock::now();

    // Crash recovery: replicas waiting to be restarted (replica id -> when), restarts so far.
    std::map<int, SteadyClock::time_point> restart_due;
    int restarts = 0;
    bool was_ready = false;  // has served before: requests wait through reloads and restarts

    std::atomic<bool> cancel{false};

    // What the proxy served, counted without the record's lock (the monitoring view and /metrics
    // read it): answered requests, generated tokens, and time to the first streamed token.
    struct ServingStats {
        std::atomic<uint64_t> requests{0};
        std::atomic<uint64_t> generated_tokens{0};
        std::atomic<uint64_t> first_token_us_sum{0};
        std::atomic<uint64_t> first_token_count{0};
        std::atomic<uint64_t> merged_calls{0};     // engine calls that carried several requests (embeddings, rerank)
        std::atomic<uint64_t> merged_requests{0};  // the requests they carried
        std::atomic<uint64_t> merged_calls_refused{0};  // merged calls refused as bad input, retried request by request
    };
    mutable ServingStats stats;
    std::vector<std::thread> workers;  // launch, reload and restart threads

    // Caller holds mu.
    std::shared_ptr<Replica> replica(int id) const;  // null when no replica has that id
    void add_event(const std::string& event, const std::string& detail);
    bool move_to(ModelState next, const std::string& why);  // false when not allowed
};

}  // namespace xinfer
