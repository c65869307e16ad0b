// Routing a request to a replica: find the model, check it can do what is asked, reload it if
// idle, wait through restarts, hold a request slot under request_limits (bounded queue, then
// 429), and pick the least-busy running replica.
#include "common/errors.h"
#include "supervisor/supervisor.h"

namespace xinfer {

Lease::Lease(std::shared_ptr<ModelRecord> model, std::shared_ptr<Replica> replica)
    : model_(std::move(model)), replica_(std::move(replica)) {
    replica_->in_flight++;
}

Lease::~Lease() {
    if (!replica_) return;  // moved from
    replica_->in_flight--;
    std::lock_guard lock(model_->mu);
    model_->active--;
    model_->last_used = SteadyClock::now();
    model_->changed.notify_all();
}

bool Supervisor::runs(const std::string& model) const {
    std::lock_guard lock(mu_);
    if (models_.count(model)) return true;
    int named = 0;
    for (auto& [uid, r] : models_) named += r->model.model_name == model;
    return named == 1;
}

std::shared_ptr<ModelRecord> Supervisor::find_for_request(const std::string& model) const {
    if (auto rec = find(model)) return rec;
    // Clients often send the model name; accept it when exactly one model has that name.
    std::shared_ptr<ModelRecord> found;
    {
        std::lock_guard lock(mu_);
        for (auto& [uid, r] : models_) {
            if (r->model.model_name != model) continue;
            if (found) throw bad_request("Several models are named '" + model + "'; use a model uid", "model");
            found = r;
        }
    }
    if (!found) unknown_model(model, "model");  // unlocked: in a cluster it may wait for another node
    return found;
}

namespace {
std::string kind(ModelType t) {
    if (t == ModelType::llm) return "an LLM";
    const std::string n = to_string(t);
    return std::string(n[0] == 'a' || n[0] == 'e' ? "an " : "a ") + n + " model";
}

void check_capability(const ModelRecord& rec, const std::string& model, Capability need) {
    const ModelType type = rec.model.type;
    auto has_ability = [&](const char* a) {
        for (auto& x : rec.model.ability)
            if (x == a) return true;
        return false;
    };
    switch (need) {
        case Capability::chat:
        case Capability::completion:
            if (type != ModelType::llm)
                throw bad_request("Model '" + model + "' is " + kind(type) + "; it does not serve " +
                                      (need == Capability::chat ? "chat completions" : "completions"),
                                  "model");
            if (need == Capability::chat && !rec.model.ability.is_null() && !has_ability("chat"))
                throw bad_request("Model '" + model + "' has no chat ability (no chat template); use /v1/completions", "model");
            return;
        case Capability::tokenize:
            if (type != ModelType::llm && type != ModelType::embedding && type != ModelType::rerank)
                throw bad_request("Model '" + model + "' is " + kind(type) + "; it has no text tokenizer", "model");
            return;
        case Capability::embedding:
            if (type != ModelType::embedding)
                throw bad_request("Model '" + model + "' is " + kind(type) + "; it does not serve embeddings", "model");
            return;
        case Capability::rerank:
            if (type != ModelType::rerank)
                throw bad_request("Model '" + model + "' is " + kind(type) + "; it does not serve rerank", "model");
            return;
        case Capability::transcription:
        case Capability::speech: {
            const char* ability = need == Capability::speech ? "text2audio" : "audio2text";
            if (type != ModelType::audio || !has_ability(ability))
                throw bad_request("Model '" + model + "' is " + kind(type) + " without " + ability + "; it does not serve " +
                                      (need == Capability::speech ? "speech synthesis" : "transcription"),
                                  "model");
            return;
        }
    }
}
}  // namespace

Lease Supervisor::acquire(const std::string& model, Capability need) {
    std::shared_ptr<ModelRecord> rec = find_for_request(model);
    check_capability(*rec, model, need);
    if (balance_) {
        int active = 0, replicas = 0;
        bool ready = false;
        {
            std::lock_guard lock(rec->mu);
            active = rec->active, replicas = static_cast<int>(rec->replicas.size());
            ready = rec->state == ModelState::ready;
        }
        balance_(rec->uid, active, replicas, ready);
    }

    std::unique_lock lock(rec->mu);
    if (rec->state == ModelState::idle_unloaded) {
        // Reload transparently: place the replicas again and start them; this request waits.
        std::vector<int> all;
        for (auto& r : rec->replicas) {
            const int id = r->index();
            r = make_replica(*rec, id);  // 503 if there is no room now
            all.push_back(id);
        }
        rec->launch_started = SteadyClock::now();
        rec->move_to(ModelState::launching, "reloading for a request");
        rec->workers.emplace_back([this, rec, all] { start_replicas(rec, all); });
    }
    if (rec->state == ModelState::launching && rec->was_ready) {
        // A reload or restart: wait for it rather than failing the request. Waiting requests keep
        // the model from counting as idle, so it is not unloaded again before they are served.
        rec->reload_waiters++;
        rec->changed.wait_for(lock, config_.launch_timeout, [&] { return rec->state != ModelState::launching; });
        rec->reload_waiters--;
        rec->last_used = SteadyClock::now();
    }
    if (rec->state == ModelState::launching)
        throw ApiError(503, "Model '" + rec->uid + "' is still loading (" +
                                std::to_string(static_cast<int>(rec->progress * 100)) + "%)", "", "", "model_loading");
    if (rec->state == ModelState::failed)
        throw ApiError(503, "Model '" + rec->uid + "' is not available: " + rec->failure_reason, "", "", "model_failed");
    if (rec->state != ModelState::ready)
        throw ApiError(503, "Model '" + rec->uid + "' is " + to_string(rec->state), "", "", "model_unavailable");

    if (rec->request.request_limits) {
        const int limit = *rec->request.request_limits;
        const int queue = rec->request.request_queue.value_or(limit);
        auto over = [&] {
            rec->rejected++;
            ApiError e(429, "Model '" + rec->uid + "' is at its request limit (" + std::to_string(limit) +
                                " running, " + std::to_string(rec->waiting) + " waiting); retry shortly",
                       "", "", "request_limit");
            e.set_retry_after(1);
            return e;
        };
        if (rec->active >= limit) {
            if (rec->waiting >= queue) throw over();
            rec->waiting++;
            bool got = rec->changed.wait_for(lock, config_.queue_timeout, [&] {
                return rec->active < limit || rec->state != ModelState::ready;
            });
            rec->waiting--;
            if (!got || rec->state != ModelState::ready) throw over();
        }
    }

    std::shared_ptr<Replica> best;
    for (auto& r : rec->replicas)
        if (r->healthy() && (!best || r->in_flight < best->in_flight)) best = r;
    if (!best) throw ApiError(503, "Model '" + rec->uid + "' has no running replica", "", "", "model_unavailable");
    rec->active++;
    rec->last_used = SteadyClock::now();
    return Lease(rec, best);
}

}  // namespace xinfer
