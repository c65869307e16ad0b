// The supervisor owns the set of launched models: it launches them (resolve → spawn engine
// replicas → wait until healthy), answers what is running, routes requests to a replica, notices
// engine deaths, and terminates models. It never runs inference itself.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "registry/registry.h"
#include "supervisor/launch_request.h"
#include "supervisor/model_record.h"

namespace xinfer {

struct SupervisorConfig {
    std::chrono::seconds launch_timeout{600};
    int engine_threads = 0;  // 0: all cores
};

// What a request needs from the model it names.
enum class Capability { chat, completion, embedding, rerank, transcription, speech };

// A claim on one replica for the length of a request; releases it when destroyed.
class Lease {
public:
    Lease(std::shared_ptr<ModelRecord> model, std::shared_ptr<Replica> replica);
    ~Lease();
    Lease(Lease&&) = default;
    const std::string& address() const { return replica_->address(); }
    Replica& replica() const { return *replica_; }
    const ModelRecord& model() const { return *model_; }

private:
    std::shared_ptr<ModelRecord> model_;
    std::shared_ptr<Replica> replica_;
};

class Supervisor {
public:
    Supervisor(std::shared_ptr<Registry> registry, SupervisorConfig config);
    ~Supervisor();

    // Validates and resolves synchronously (ApiError 400/404/409), then launches in the
    // background. Returns the model uid.
    std::string launch(const LaunchRequest& request);
    // Blocks until the model is ready; throws ApiError with the reason when it failed.
    void wait_ready(const std::string& uid);

    nlohmann::json list() const;                      // GET /v1/models
    nlohmann::json describe(const std::string& uid) const;  // 404 when unknown
    double progress(const std::string& uid) const;
    nlohmann::json events(const std::string& uid) const;
    void terminate(const std::string& uid);           // 404 when unknown
    void cancel(const std::string& uid);
    void shutdown();

    // Picks the least-busy ready replica of the model named `model` (uid, or model name when
    // unambiguous). ApiError 404 unknown, 400 wrong capability, 503 not ready / failed.
    Lease acquire(const std::string& model, Capability need);

private:
    std::shared_ptr<ModelRecord> find(const std::string& uid) const;
    void run_launch(std::shared_ptr<ModelRecord> rec);
    void on_replica_exit(std::weak_ptr<ModelRecord> rec, int index, int status);
    std::string replica_address(const std::string& uid, int index) const;

    std::shared_ptr<Registry> registry_;
    SupervisorConfig config_;
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<ModelRecord>> models_;
};

}  // namespace xinfer
