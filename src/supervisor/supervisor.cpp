#include "supervisor/supervisor.h"

#include <regex>
#include <set>

#include "common/errors.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/paths.h"
#include "engines/llama_server/llama_server_command.h"
#include "engines/speech/host_command.h"
#include "supervisor/model_view.h"
#include "worker/repack_fallback.h"

namespace xinfer {

using json = nlohmann::json;

Supervisor::Supervisor(std::shared_ptr<Registry> registry, std::shared_ptr<ModelStore> store, SupervisorConfig config)
    : registry_(std::move(registry)), store_(std::move(store)), config_(config), placement_(config.cpu_budget) {
    maintenance_ = std::thread([this] {
        // Sleeps until a restart or an idle unload may be due (it woke every 50 ms, idle or not).
        std::unique_lock lock(stop_mu_);
        while (!stopping_) {
            lock.unlock();
            const auto next = maintain();
            lock.lock();
            stop_cv_.wait_until(lock, next, [&] { return stopping_ || maintain_soon_; });
            maintain_soon_ = false;
        }
    });
}

Supervisor::~Supervisor() { shutdown(); }

std::shared_ptr<ModelRecord> Supervisor::find(const std::string& uid) const {
    std::lock_guard lock(mu_);
    auto it = models_.find(uid);
    return it == models_.end() ? nullptr : it->second;
}

// Never called with mu_ held: the cluster's lookup may wait (and the service must not stall).
void Supervisor::unknown_model(const std::string& model, const std::string& param) const {
    if (remote_models_) remote_models_(model);
    throw not_found("Model not found: '" + model + "'. See GET /v1/models for running models", param);
}

namespace {
// Engines xinfer has, and Xinference's engine names for its Python runtimes: a script that names
// one of those (the Xinference CLI makes LLM launches name an engine) still launches, on the engine
// xinfer has for the model's files, and the model's events say so.
void check_engine_and_format(LaunchRequest& req) {
    if (!req.model_engine.empty()) {
        std::string e = req.model_engine;
        for (auto& c : e) c = static_cast<char>(::tolower(c));
        static const std::set<std::string> known = {"llama.cpp", "llama_cpp", "llamacpp", "mtmd", "mtmd-tts", "pocketsphinx", "whisper",
                                                    "whisper.cpp", "flite", "espeak", "espeak-ng"};
        static const std::set<std::string> xinference_runtimes = {
            "vllm", "sglang", "transformers", "mlx", "sentence_transformers", "flag", "lmdeploy", "xllamacpp",
            "funasr", "cosyvoice", "chattts"};
        if (xinference_runtimes.count(e))
            req.ignored.push_back("model_engine=" + req.model_engine +
                                  ": xinfer has no such engine; the model runs on the engine xinfer has for its files");
        else if (!known.count(e))
            throw bad_request("Engine '" + req.model_engine +
                                  "' is not available; GGUF models run on llama.cpp, speech on whisper.cpp, "
                                  "pocketsphinx, flite, espeak-ng",
                              "model_engine");
    }
    // pytorch: Hugging Face weights, which xinfer converts to GGUF (BERT, XLM-RoBERTa, Llama,
    // Qwen2/3, GLM-4, whisper); other architectures are refused with the reason when read.
    if (!req.model_format.empty() && req.model_format.rfind("gguf", 0) != 0 && req.model_format != "ggml" &&
        req.model_format != "builtin" && req.model_format != "pytorch")
        throw bad_request("Model format '" + req.model_format + "' is not supported; use ggufv2 (or pytorch for Hugging Face weights xinfer converts)",
                          "model_format");
}
}  // namespace

std::string Supervisor::replica_address(const std::string& uid, int index) const {
    // A unix socket in XINFER_HOME/run is private to this user and needs no free port.
    auto path = home_subdir("run") / (uid + "-" + std::to_string(index) + ".sock");
    if (path.string().size() < 100) return path.string();
    return "127.0.0.1:" + std::to_string(free_loopback_port());  // the socket path would be too long
}

double Supervisor::keep_alive(const ModelRecord& rec) const {
    return rec.request.keep_alive_s.value_or(config_.default_keep_alive_s);
}

// Reserves the replica's resources and builds its engine command (placement decides threads
// and GPUs). Caller holds rec.mu or owns rec exclusively.
std::shared_ptr<Replica> Supervisor::make_replica(ModelRecord& rec, int i) {
    const std::string key = rec.uid + "#" + std::to_string(i);
    ReplicaPlan plan = placement_.reserve(key, rec.model, rec.request);
    try {
        LlamaServerSettings s{find_llama_server(), replica_address(rec.uid, i), plan.threads, !plan.gpus.empty()};
        EngineCommand cmd;
        if (rec.model.type == ModelType::audio) {
            json opts = rec.request.engine_options;
            if (plan.threads > 0 && !opts.contains("n_threads")) opts["n_threads"] = plan.threads;
            cmd = model_host_command(rec.model, opts, s.listen, s.use_gpu);
        } else if (runs_in_encoder_host(rec.model, rec.request.engine_options)) {
            json opts = rec.request.engine_options;
            if (plan.threads > 0 && !opts.contains("n_threads")) opts["n_threads"] = plan.threads;
            cmd = encoder_host_command(rec.model, opts, s.listen, s.use_gpu, plan.spare_threads);
        } else {
            json opts = rec.request.engine_options;
            // Xinference's enable_thinking is the chat template's thinking switch (Qwen3-style).
            if (rec.model.type == ModelType::llm && rec.request.enable_thinking && !opts.contains("reasoning"))
                opts["reasoning"] = *rec.request.enable_thinking ? "on" : "off";
            cmd = llama_server_command(rec.model, opts, s);
        }
        // The engine sees only its GPUs and numbers them from 0 again. A CPU replica sees none:
        // a CUDA engine would otherwise still put scratch buffers and big batches on GPU 0,
        // memory that placement never counted.
        std::string ids;
        for (int g : plan.gpus) ids += (ids.empty() ? "" : ",") + std::to_string(g);
        // A launch's envs replace the engine settings xinfer chose (the engine reads the first
        // of duplicates), but not the GPUs placement gave it: those come first.
        for (const auto& set : rec.request.envs) {
            const std::string& key = set.first;
            std::erase_if(cmd.env, [&key](const std::string& e) { return e.size() > key.size() && e[key.size()] == '=' && e.rfind(key, 0) == 0; });
        }
        cmd.env.insert(cmd.env.begin(), "CUDA_VISIBLE_DEVICES=" + ids);
        for (auto& [k, v] : rec.request.envs) cmd.env.push_back(k + "=" + v);
        repack_fallback::apply(cmd);
        auto log_path = (home_subdir("logs") / (rec.uid + "-" + std::to_string(i) + ".log")).string();
        rec.next_replica_id = std::max(rec.next_replica_id, i + 1);
        return std::make_shared<Replica>(rec.uid, i, cmd, s.listen, log_path);
    } catch (...) {
        placement_.release(key);
        throw;
    }
}

void Supervisor::release_placement(const ModelRecord& rec) {
    for (auto& r : rec.replicas) release_replica(rec, *r);
}

void Supervisor::release_replica(const ModelRecord& rec, const Replica& replica) {
    placement_.release(rec.uid + "#" + std::to_string(replica.index()));
}

std::string Supervisor::launch(const LaunchRequest& launch_request) {
    static const std::regex uid_re("^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,127}$");
    LaunchRequest req = launch_request;
    check_engine_and_format(req);
    // A path the caller names is checked before anything opens it (no hint whether it exists).
    auto refuse_path = [&](const std::string& path) {
        if (const std::string why = config_.model_dirs.refusal(path); !why.empty())
            throw ApiError(403, "Cannot launch model: " + why, "permission_error", "model_path");
    };
    if (!req.model_path.empty()) refuse_path(req.model_path);
    auto rec = std::make_shared<ModelRecord>();
    rec->model = resolve_model(*registry_, {req.model_name, req.model_type, req.model_format,
                                            req.model_size_in_billions, req.quantization, req.model_path, req.download_hub});
    // The files a registration names (model_uri) are held to the same folders; built-in speech
    // engines read their own system data.
    if (rec->model.engine == "llama.cpp" || rec->model.engine == "whisper" || rec->model.engine == "mtmd" ||
        rec->model.engine == "mtmd-tts") {
        if (!rec->model.convert_from.empty()) refuse_path(rec->model.convert_from.string());
        else if (!rec->model.file.empty() && !rec->model.download) refuse_path(rec->model.file.string());
    }
    if (req.enable_thinking && rec->model.type != ModelType::llm)
        req.ignored.push_back(std::string("enable_thinking=") + (*req.enable_thinking ? "true" : "false") +
                              ": only chat models think");
    rec->request = req;
    rec->was_ready = req.served_before;
    rec->uid = req.model_uid.empty() ? rec->model.model_name : req.model_uid;
    rec->request.model_uid = rec->uid;
    rec->request.model_name = rec->model.model_name;
    rec->request.model_type = rec->model.type;
    if (!std::regex_match(rec->uid, uid_re))
        throw bad_request("model_uid may use letters, digits, '.', '_' and '-' only", "model_uid");
    if (rec->model.type == ModelType::image) throw bad_request("Image models are not served by this xinfer", "model_type");

    {
        std::lock_guard lock(mu_);
        if (auto it = models_.find(rec->uid); it != models_.end()) {
            std::lock_guard rl(it->second->mu);
            if (it->second->state != ModelState::failed)
                throw conflict("Model uid '" + rec->uid + "' is already in use (status " + to_string(it->second->state) +
                               "); terminate it first or pick another model_uid");
        }
    }
    if (find(rec->uid)) terminate(rec->uid);  // a failed model under the same uid is replaced

    // Place and build every replica now: bad options are a 400 and no room is a 503, before
    // anything starts.
    try {
        for (int i = 0; i < req.replica; ++i) rec->replicas.push_back(make_replica(*rec, i));
    } catch (...) {
        release_placement(*rec);
        throw;
    }
    {
        std::lock_guard lock(mu_);
        if (models_.count(rec->uid)) {
            release_placement(*rec);
            throw conflict("Model uid '" + rec->uid + "' was launched meanwhile");
        }
        models_[rec->uid] = rec;
        std::lock_guard rl(rec->mu);
        rec->add_event("launch", rec->model.file.string());
        for (auto& why : rec->request.ignored) rec->add_event("ignored", why);
        rec->progress = 0.05;
        std::vector<int> all;
        for (int i = 0; i < req.replica; ++i) all.push_back(i);
        rec->workers.emplace_back([this, rec, all] { start_replicas(rec, all); });
    }
    if (store_) {
        json persisted = rec->request.to_json();
        persisted["wait_ready"] = false;
        store_->put(rec->uid, persisted);
        store_->record(rec->uid, "launch", rec->model.file.string());
    }
    return rec->uid;
}

void Supervisor::restore() {
    if (!store_) return;
    for (auto& j : store_->launched()) {
        std::string uid = j.value("model_uid", "");
        try {
            LaunchRequest r = LaunchRequest::from_json(j);
            r.wait_ready = false;
            launch(r);
            log::info("model=" + uid + " restored from the previous run");
        } catch (const std::exception& e) {
            log::warn("model=" + uid + " could not be restored: " + e.what());
            store_->record(uid, "restore_failed", e.what());
        }
    }
}

void Supervisor::wait_ready(const std::string& uid) {
    auto rec = find(uid);
    if (!rec) unknown_model(uid, "model_uid");
    std::unique_lock lock(rec->mu);
    rec->changed.wait(lock, [&] { return rec->state != ModelState::launching; });
    if (rec->state == ModelState::failed)
        throw ApiError(500, "Failed to launch model '" + uid + "': " + rec->failure_reason);
    if (rec->state == ModelState::terminating) throw ApiError(499, "Launch of model '" + uid + "' was cancelled");
}

json Supervisor::list() const {
    std::vector<std::shared_ptr<ModelRecord>> recs;
    {
        std::lock_guard lock(mu_);
        for (auto& [uid, r] : models_) recs.push_back(r);
    }
    json data = json::array();
    for (auto& r : recs) {
        std::lock_guard lock(r->mu);
        data.push_back(model_list_entry(*r));
    }
    return {{"object", "list"}, {"data", data}};
}

json Supervisor::describe(const std::string& uid) const {
    auto rec = find(uid);
    if (!rec) unknown_model(uid, "model_uid");
    std::lock_guard lock(rec->mu);
    json d = describe_model(*rec);
    d["keep_alive"] = keep_alive(*rec);
    return d;
}

double Supervisor::progress(const std::string& uid) const {
    auto rec = find(uid);
    if (!rec) unknown_model(uid, "model_uid");
    std::lock_guard lock(rec->mu);
    return rec->progress;
}

json Supervisor::events(const std::string& uid) const {
    auto rec = find(uid);
    if (!rec) {
        if (store_) {
            json h = store_->history(uid);
            if (!h.empty()) return h;  // terminated: what the launch history remembers
        }
        unknown_model(uid, "model_uid");
    }
    std::lock_guard lock(rec->mu);
    return rec->events;
}

json Supervisor::history(const std::string& uid) const { return store_ ? store_->history(uid) : json::array(); }

json Supervisor::metrics() const {
    json out = json::array();
    std::lock_guard lock(mu_);
    for (auto& [uid, r] : models_) {
        std::lock_guard rl(r->mu);
        out.push_back({{"model", uid}, {"type", to_string(r->model.type)}, {"state", to_string(visible_state(*r))},
                       {"active", r->active}, {"waiting", r->waiting}, {"rejected", r->rejected},
                       {"restarts", r->restarts}, {"replicas", r->replicas.size()},
                       {"requests", r->stats.requests.load()}, {"generated_tokens", r->stats.generated_tokens.load()},
                       {"first_token_seconds_sum", r->stats.first_token_us_sum.load() / 1e6},
                       {"first_token_count", r->stats.first_token_count.load()},
                       {"merged_calls", r->stats.merged_calls.load()}, {"merged_requests", r->stats.merged_requests.load()},
                       {"merged_calls_refused", r->stats.merged_calls_refused.load()}});
    }
    return out;
}

void Supervisor::cancel(const std::string& uid) {
    auto rec = find(uid);
    if (!rec) unknown_model(uid, "model_uid");
    {
        std::lock_guard lock(rec->mu);
        if (rec->state != ModelState::launching)
            throw bad_request("Model '" + uid + "' is not launching (status " + to_string(rec->state) + ")");
    }
    terminate(uid);
}

void Supervisor::terminate(const std::string& uid) {
    std::shared_ptr<ModelRecord> rec;
    {
        std::unique_lock lock(mu_);
        auto it = models_.find(uid);
        if (it == models_.end()) {
            lock.unlock();  // in a cluster the lookup may wait for another node
            unknown_model(uid, "model_uid");
        }
        rec = it->second;
        models_.erase(it);
    }
    stop_model(*rec, "terminate requested");
    if (store_) {
        store_->remove(uid);
        store_->record(uid, "terminated", "");
    }
    log::info("model=" + uid + " terminated");
}

std::vector<json> Supervisor::autostart_entries() const {
    return store_ ? store_->launched() : std::vector<json>{};
}

void Supervisor::add_autostart(const LaunchRequest& request) {
    LaunchRequest r = request;
    r.wait_ready = false;
    const std::string uid = r.model_uid.empty() ? r.model_name : r.model_uid;
    if (!find(uid)) {
        launch(r);  // persists it as well
        return;
    }
    if (!store_) return;
    json persisted = r.to_json();
    persisted["model_uid"] = uid;
    persisted["wait_ready"] = false;
    store_->put(uid, persisted);
}

void Supervisor::remove_autostart(const std::string& uid) {
    if (store_) store_->remove(uid);
}

void Supervisor::shutdown() {
    {
        std::lock_guard lock(stop_mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    stop_cv_.notify_all();
    if (maintenance_.joinable()) maintenance_.join();
    std::vector<std::shared_ptr<ModelRecord>> recs;
    {
        std::lock_guard lock(mu_);
        for (auto& [uid, r] : models_) recs.push_back(r);
        models_.clear();
    }
    for (auto& rec : recs) stop_model(*rec, "service shutting down");
}

void Supervisor::stop_model(ModelRecord& rec, const std::string& why) {
    std::vector<std::thread> workers;
    {
        std::lock_guard lock(rec.mu);
        rec.cancel = true;
        rec.move_to(ModelState::terminating, why);
        workers.swap(rec.workers);
    }
    // Launch and restart threads see `cancel` and end; then no one else touches the replicas.
    for (auto& t : workers)
        if (t.joinable()) t.join();
    for (auto& r : rec.replicas) r->stop();
    release_placement(rec);
}

}  // namespace xinfer
