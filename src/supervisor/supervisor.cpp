#include "supervisor/supervisor.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <set>

#include "common/errors.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/subprocess.h"
#include "engines/llama_server/llama_server_command.h"
#include "engines/speech/host_command.h"
#include "supervisor/model_view.h"

namespace xinfer {

using json = nlohmann::json;

Lease::Lease(std::shared_ptr<ModelRecord> model, std::shared_ptr<Replica> replica)
    : model_(std::move(model)), replica_(std::move(replica)) {
    replica_->in_flight++;
}

Lease::~Lease() {
    if (replica_) replica_->in_flight--;
}

Supervisor::Supervisor(std::shared_ptr<Registry> registry, SupervisorConfig config)
    : registry_(std::move(registry)), config_(config) {}

Supervisor::~Supervisor() { shutdown(); }

std::shared_ptr<ModelRecord> Supervisor::find(const std::string& uid) const {
    std::lock_guard lock(mu_);
    auto it = models_.find(uid);
    return it == models_.end() ? nullptr : it->second;
}

namespace {
// A free loopback port, for when a unix socket path would be too long.
int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}
}  // namespace

std::string Supervisor::replica_address(const std::string& uid, int index) const {
    // A unix socket in XINFER_HOME/run is private to this user and needs no free port.
    auto path = home_subdir("run") / (uid + "-" + std::to_string(index) + ".sock");
    if (path.string().size() < 100) return path.string();
    return "127.0.0.1:" + std::to_string(free_port());
}

std::string Supervisor::launch(const LaunchRequest& req) {
    static const std::regex uid_re("^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,127}$");
    ModelChoice choice{req.model_name, req.model_type, req.model_format, req.model_size_in_billions,
                       req.quantization, req.model_path};
    if (!req.model_engine.empty()) {
        std::string e = req.model_engine;
        for (auto& c : e) c = static_cast<char>(::tolower(c));
        static const std::set<std::string> known = {"llama.cpp", "llama_cpp", "llamacpp", "pocketsphinx", "flite",
                                                    "espeak", "espeak-ng"};
        if (!known.count(e))
            throw bad_request("Engine '" + req.model_engine +
                                  "' is not available; GGUF models run on llama.cpp, speech on pocketsphinx, flite, espeak-ng",
                              "model_engine");
    }
    if (!req.model_format.empty() && req.model_format.rfind("gguf", 0) != 0)
        throw bad_request("Model format '" + req.model_format + "' is not supported; use ggufv2", "model_format");

    auto rec = std::make_shared<ModelRecord>();
    rec->request = req;
    rec->model = resolve_model(*registry_, choice);
    rec->uid = req.model_uid.empty() ? rec->model.model_name : req.model_uid;
    rec->request.model_uid = rec->uid;
    rec->request.model_name = rec->model.model_name;
    rec->request.model_type = rec->model.type;
    if (!std::regex_match(rec->uid, uid_re))
        throw bad_request("model_uid may use letters, digits, '.', '_' and '-' only", "model_uid");
    if (rec->model.type == ModelType::image)
        throw bad_request("Image models are not served by this xinfer", "model_type");

    // Build every replica's command now so bad engine options are a 400, not a failed launch.
    for (int i = 0; i < req.replica; ++i) {
        LlamaServerSettings s{find_llama_server(), replica_address(rec->uid, i), config_.engine_threads};
        auto cmd = rec->model.type == ModelType::audio ? model_host_command(rec->model, req.engine_options, s.listen)
                                                       : llama_server_command(rec->model, req.engine_options, req.n_gpu, s);
        // gpu_idx pins the replica to those GPUs (the engine numbers them from 0 again).
        if (!req.gpu_idx.empty()) {
            std::string ids;
            for (int g : req.gpu_idx) ids += (ids.empty() ? "" : ",") + std::to_string(g);
            cmd.env.push_back("CUDA_VISIBLE_DEVICES=" + ids);
        }
        for (auto& [k, v] : req.envs) cmd.env.push_back(k + "=" + v);
        auto log_path = (home_subdir("logs") / (rec->uid + "-" + std::to_string(i) + ".log")).string();
        rec->replicas.push_back(std::make_shared<Replica>(rec->uid, i, cmd, s.listen, log_path));
    }

    {
        std::lock_guard lock(mu_);
        auto it = models_.find(rec->uid);
        if (it != models_.end()) {
            std::lock_guard rl(it->second->mu);
            if (it->second->state != ModelState::failed)
                throw conflict("Model uid '" + rec->uid + "' is already in use (status " +
                               to_string(it->second->state) + "); terminate it first or pick another model_uid");
        }
        if (it != models_.end()) {
            // A failed model under the same uid is replaced by the new launch.
            auto old = it->second;
            models_.erase(it);
            if (old->launcher.joinable()) old->launcher.join();
            for (auto& r : old->replicas) r->stop();
        }
        models_[rec->uid] = rec;
        std::lock_guard rl(rec->mu);
        rec->add_event("launch", rec->model.file.string());
        rec->progress = 0.05;
    }
    rec->launcher = std::thread([this, rec] { run_launch(rec); });
    return rec->uid;
}

void Supervisor::run_launch(std::shared_ptr<ModelRecord> rec) {
    std::string error;
    const size_t n = rec->replicas.size();
    // Expected load time from the file size (about 1 GB/s from page cache or disk), so the
    // progress bar moves smoothly instead of jumping from 0 to 1.
    double expected_s = 0.5 + static_cast<double>(rec->model.gguf.file_size) / 1e9;
    std::weak_ptr<ModelRecord> weak = rec;
    for (size_t i = 0; i < n && error.empty(); ++i) {
        auto& replica = rec->replicas[i];
        try {
            replica->start([this, weak, i](int status) { on_replica_exit(weak, static_cast<int>(i), status); });
        } catch (const std::exception& e) {
            error = std::string("cannot start engine: ") + e.what();
            break;
        }
        std::atomic<bool> done{false};
        std::thread ticker([&] {
            auto t0 = std::chrono::steady_clock::now();
            while (!done) {
                double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                double frac = std::min(0.95, el / expected_s);
                {
                    std::lock_guard lock(rec->mu);
                    rec->progress = std::max(rec->progress, 0.05 + 0.9 * (i + frac) / n);
                    rec->changed.notify_all();
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        });
        error = replica->wait_until_ready(config_.launch_timeout, rec->cancel);
        done = true;
        ticker.join();
    }
    {
        std::lock_guard lock(rec->mu);
        if (rec->state != ModelState::launching) return;  // terminated while launching
        if (error.empty()) {
            auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - rec->launch_started).count();
            rec->move_to(ModelState::ready, "all " + std::to_string(n) + " replica(s) healthy in " +
                                                std::to_string(secs).substr(0, 5) + " s");
            return;
        }
        rec->move_to(ModelState::failed, error);
    }
    // Outside the lock: stopping waits for the exit callback, which takes the lock.
    for (auto& r : rec->replicas) r->stop();
}

void Supervisor::on_replica_exit(std::weak_ptr<ModelRecord> weak, int index, int status) {
    auto rec = weak.lock();
    if (!rec) return;
    std::lock_guard lock(rec->mu);
    if (rec->state == ModelState::terminating || rec->state == ModelState::failed) return;
    std::string why = "replica " + std::to_string(index) + " engine process " + describe_wait_status(status);
    rec->add_event("replica_exit", why);
    if (rec->state != ModelState::ready) return;  // launch wait notices it and reports the log
    bool any_alive = false;
    for (auto& r : rec->replicas) any_alive |= r->running();
    if (!any_alive) {
        std::string tail = tail_lines(rec->replicas[index]->log_path(), 5);
        rec->move_to(ModelState::failed, why + (tail.empty() ? "" : ". Last engine log lines:\n" + tail));
    }
}

void Supervisor::wait_ready(const std::string& uid) {
    auto rec = find(uid);
    if (!rec) throw not_found("Model not found: " + uid);
    std::unique_lock lock(rec->mu);
    rec->changed.wait(lock, [&] { return rec->state != ModelState::launching; });
    if (rec->state == ModelState::failed)
        throw ApiError(500, "Failed to launch model '" + uid + "': " + rec->failure_reason);
    if (rec->state == ModelState::terminating)
        throw ApiError(499, "Launch of model '" + uid + "' was cancelled");
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
    if (!rec) throw not_found("Model not found: " + uid, "model_uid");
    std::lock_guard lock(rec->mu);
    return describe_model(*rec);
}

double Supervisor::progress(const std::string& uid) const {
    auto rec = find(uid);
    if (!rec) throw not_found("Model not found: " + uid, "model_uid");
    std::lock_guard lock(rec->mu);
    return rec->progress;
}

json Supervisor::events(const std::string& uid) const {
    auto rec = find(uid);
    if (!rec) throw not_found("Model not found: " + uid, "model_uid");
    std::lock_guard lock(rec->mu);
    return rec->events;
}

void Supervisor::cancel(const std::string& uid) {
    auto rec = find(uid);
    if (!rec) throw not_found("Model not found: " + uid, "model_uid");
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
        std::lock_guard lock(mu_);
        auto it = models_.find(uid);
        if (it == models_.end()) throw not_found("Model not found: " + uid, "model_uid");
        rec = it->second;
        models_.erase(it);
    }
    {
        std::lock_guard lock(rec->mu);
        rec->cancel = true;
        rec->move_to(ModelState::terminating, "terminate requested");
    }
    if (rec->launcher.joinable()) rec->launcher.join();
    for (auto& r : rec->replicas) r->stop();
    log::info("model=" + uid + " terminated");
}

void Supervisor::shutdown() {
    std::vector<std::string> uids;
    {
        std::lock_guard lock(mu_);
        for (auto& [uid, r] : models_) uids.push_back(uid);
    }
    for (auto& uid : uids) {
        try {
            terminate(uid);
        } catch (...) {
        }
    }
}

Lease Supervisor::acquire(const std::string& model, Capability need) {
    std::shared_ptr<ModelRecord> rec = find(model);
    if (!rec) {
        // Clients often send the model name; accept it when exactly one model has that name.
        std::lock_guard lock(mu_);
        for (auto& [uid, r] : models_) {
            if (r->model.model_name != model) continue;
            if (rec) throw bad_request("Several models are named '" + model + "'; use a model uid", "model");
            rec = r;
        }
    }
    if (!rec) throw not_found("Model not found: '" + model + "'. See GET /v1/models for running models", "model");

    const ModelType type = rec->model.type;
    auto kind = [](ModelType t) {
        if (t == ModelType::llm) return std::string("an LLM");
        const std::string n = to_string(t);
        return std::string(n[0] == 'a' || n[0] == 'e' ? "an " : "a ") + n + " model";
    };
    switch (need) {
        case Capability::chat:
        case Capability::completion:
            if (type != ModelType::llm)
                throw bad_request("Model '" + model + "' is " + kind(type) + "; it does not serve " +
                                      (need == Capability::chat ? "chat completions" : "completions"),
                                  "model");
            if (need == Capability::chat && !rec->model.ability.is_null()) {
                bool chat = false;
                for (auto& a : rec->model.ability) chat |= (a == "chat");
                if (!chat) throw bad_request("Model '" + model + "' has no chat ability (no chat template); use /v1/completions", "model");
            }
            break;
        case Capability::embedding:
            if (type != ModelType::embedding)
                throw bad_request("Model '" + model + "' is " + kind(type) + "; it does not serve embeddings", "model");
            break;
        case Capability::rerank:
            if (type != ModelType::rerank)
                throw bad_request("Model '" + model + "' is " + kind(type) + "; it does not serve rerank", "model");
            break;
        case Capability::transcription:
        case Capability::speech: {
            const char* ability = need == Capability::speech ? "text2audio" : "audio2text";
            bool has = false;
            if (type == ModelType::audio)
                for (auto& a : rec->model.ability) has |= (a == ability);
            if (!has)
                throw bad_request("Model '" + model + "' is " + kind(type) + " without " + ability + "; it does not serve " +
                                      (need == Capability::speech ? "speech synthesis" : "transcription"),
                                  "model");
            break;
        }
    }

    std::lock_guard lock(rec->mu);
    if (rec->state == ModelState::launching)
        throw ApiError(503, "Model '" + rec->uid + "' is still loading (" +
                                std::to_string(static_cast<int>(rec->progress * 100)) + "%)", "", "", "model_loading");
    if (rec->state == ModelState::failed)
        throw ApiError(503, "Model '" + rec->uid + "' is not available: " + rec->failure_reason, "", "", "model_failed");
    if (rec->state != ModelState::ready)
        throw ApiError(503, "Model '" + rec->uid + "' is " + to_string(rec->state), "", "", "model_unavailable");
    std::shared_ptr<Replica> best;
    for (auto& r : rec->replicas)
        if (r->running() && (!best || r->in_flight < best->in_flight)) best = r;
    if (!best) throw ApiError(503, "Model '" + rec->uid + "' has no running replica", "", "", "model_unavailable");
    return Lease(rec, best);
}

}  // namespace xinfer
