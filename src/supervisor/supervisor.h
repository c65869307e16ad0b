// The supervisor owns the set of launched models: it places and launches them (resolve → reserve
// cores/memory/GPUs → spawn engine replicas → wait until healthy), answers what is running,
// routes requests to the least-busy replica under per-model limits, restarts engines that die,
// unloads idle models and reloads them on demand, keeps launched models across restarts, and
// terminates models. It never runs inference itself.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/model_dirs.h"
#include "registry/registry.h"
#include "supervisor/launch_request.h"
#include "supervisor/model_record.h"
#include "supervisor/model_store.h"
#include "supervisor/placement.h"

namespace xinfer {

struct SupervisorConfig {
    std::chrono::seconds launch_timeout{600};
    double default_keep_alive_s = -1;         // idle unload after this many seconds; < 0 never
    int max_restarts = 3;                      // per model, before it is left failed
    std::chrono::milliseconds restart_backoff{1000};  // doubles with each restart
    std::chrono::seconds queue_timeout{30};    // longest wait for a request slot before 429
    CpuBudget cpu_budget = CpuBudget::shared;  // serve --cpu-budget
    ModelDirs model_dirs;                      // serve --model-dirs: where launched files may lie
};

// What a request needs from the model it names.
enum class Capability { chat, completion, embedding, rerank, transcription, speech, tokenize };

// A claim on one replica for the length of a request; releases it (and the model's request
// slot) when destroyed.
class Lease {
public:
    Lease(std::shared_ptr<ModelRecord> model, std::shared_ptr<Replica> replica);
    ~Lease();
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    const std::string& address() const { return replica_->address(); }
    Replica& replica() const { return *replica_; }
    const ModelRecord& model() const { return *model_; }

private:
    std::shared_ptr<ModelRecord> model_;
    std::shared_ptr<Replica> replica_;
};

class Supervisor {
public:
    // store may be null (nothing persisted).
    Supervisor(std::shared_ptr<Registry> registry, std::shared_ptr<ModelStore> store, SupervisorConfig config);
    ~Supervisor();

    // Validates, resolves and places synchronously (ApiError 400/404/409/503), then launches in
    // the background. Returns the model uid.
    std::string launch(const LaunchRequest& request);
    // Whether this node runs a model by this uid, or exactly one by this name.
    bool runs(const std::string& model) const;
    // Blocks until the model is ready; throws ApiError with the reason when it failed.
    void wait_ready(const std::string& uid);
    // Relaunches what the store says was running before (in the background).
    void restore();

    nlohmann::json list() const;                            // GET /v1/models
    nlohmann::json describe(const std::string& uid) const;  // 404 when unknown
    double progress(const std::string& uid) const;
    nlohmann::json events(const std::string& uid) const;
    nlohmann::json history(const std::string& uid) const;
    nlohmann::json reservations() const { return placement_.reservations(); }
    nlohmann::json metrics() const;                         // per-model counters for /metrics
    void terminate(const std::string& uid);                 // 404 when unknown
    void cancel(const std::string& uid);
    // Adds replicas up to `count` or removes the newest ones down to it (400 below 1).
    void scale(const std::string& uid, int count);
    // Adds one replica; returns its id. 409 unless the model is ready, 503 when it does not fit.
    int add_replica(const std::string& uid);
    // Removes the replica with this id (its requests in flight finish first); returns how many
    // remain. 404 unknown id, 400 for the last one (terminate the model instead).
    int remove_replica(const std::string& uid, int replica_id);
    // Stops every engine but keeps the store: the models come back at the next start.
    void shutdown();

    // Xinference's autostart list is xinfer's store of launched models: they come back at each
    // start. Entries are launch requests (model_uid filled in).
    std::vector<nlohmann::json> autostart_entries() const;
    // Keeps the launch for the next starts, and launches it now unless that uid is running.
    void add_autostart(const LaunchRequest& request);
    void remove_autostart(const std::string& uid);  // it keeps running; it will not come back

    // Picks the least-busy ready replica of the model named `model` (uid, or model name when
    // unambiguous), reloading an idle-unloaded model and waiting for a request slot under its
    // request_limits. ApiError 404 unknown, 400 wrong capability, 429 over the limit, 503 not
    // ready / failed.
    Lease acquire(const std::string& model, Capability need);

    // In a cluster: asked before this node answers 404 for a model (uid or name) it does not
    // run; throws RoutedElsewhere when another node runs it.
    void set_remote_models(std::function<void(const std::string& model)> lookup) { remote_models_ = std::move(lookup); }
    // In a cluster: asked before a request takes one of this node's replicas of a model, with
    // the requests they have in flight and whether the model is ready here; throws
    // RoutedElsewhere when another node's replicas of it are less busy (or ready when these
    // are not).
    void set_balance(std::function<void(const std::string& uid, int active, int replicas, bool ready)> balance) {
        balance_ = std::move(balance);
    }

private:
    std::shared_ptr<ModelRecord> find(const std::string& uid) const;
    // 404 for a model this node does not run, unless another node of the cluster runs it.
    [[noreturn]] void unknown_model(const std::string& model, const std::string& param) const;
    std::shared_ptr<ModelRecord> find_for_request(const std::string& model) const;
    std::shared_ptr<Replica> make_replica(ModelRecord& rec, int index);
    // Starts the replicas with these ids and waits for them; moves the model to ready or failed.
    void start_replicas(std::shared_ptr<ModelRecord> rec, std::vector<int> ids);
    std::string ensure_converted(const std::shared_ptr<ModelRecord>& rec);
    std::string ensure_downloaded(const std::shared_ptr<ModelRecord>& rec);
    std::string plan_downloaded_folder(const std::shared_ptr<ModelRecord>& rec);
    void on_replica_exit(std::weak_ptr<ModelRecord> rec, int id, std::shared_ptr<Replica> which, int status);
    // Restarts due, idle unloads; returns when the next one may be due (at most a second ahead).
    SteadyClock::time_point maintain();
    void wake_maintenance();  // a restart was scheduled: look again now
    void unload(const std::shared_ptr<ModelRecord>& rec);
    // Whether a model may be unloaded now: ready, past its keep_alive, no request in or waiting.
    // Caller holds rec.mu.
    bool idle_now(const ModelRecord& rec, SteadyClock::time_point now) const;
    void stop_model(ModelRecord& rec, const std::string& why);  // removed from models_ already
    void release_placement(const ModelRecord& rec);  // every replica's
    void release_replica(const ModelRecord& rec, const Replica& replica);
    // Takes replicas out of service: new requests no longer reach them, the ones in flight finish
    // (up to 60 s), then the engines stop. Caller holds rec.mu.
    void retire_replicas(ModelRecord& rec, std::vector<std::shared_ptr<Replica>> retired);
    void persist_launch(ModelRecord& rec);  // caller holds rec.mu
    std::string replica_address(const std::string& uid, int index) const;
    double keep_alive(const ModelRecord& rec) const;

    std::shared_ptr<Registry> registry_;
    std::shared_ptr<ModelStore> store_;
    SupervisorConfig config_;
    Placement placement_;
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<ModelRecord>> models_;
    std::function<void(const std::string&)> remote_models_;
    std::function<void(const std::string&, int, int, bool)> balance_;

    std::thread maintenance_;
    std::mutex stop_mu_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    bool maintain_soon_ = false;  // under stop_mu_
};

}  // namespace xinfer
