// The supervisor's background work: starting replicas and waiting for them, noticing engines
// that die and restarting them with back-off, unloading idle models, scaling replicas.
#include <cmath>
#include <condition_variable>
#include <mutex>

#include "common/errors.h"
#include "common/log.h"
#include "common/subprocess.h"
#include "convert/converter.h"
#include "hub/model_download.h"
#include "supervisor/supervisor.h"
#include "worker/repack_fallback.h"

namespace xinfer {

// A model launched from a Hugging Face folder is converted to GGUF (once, into the cache) before
// its first engine starts; the conversion is the first part of the launch progress. Returns the
// failure, or "" when the GGUF is there.
std::string Supervisor::ensure_converted(const std::shared_ptr<ModelRecord>& rec) {
    const std::filesystem::path from = rec->model.convert_from, target = rec->model.file;
    std::error_code ec;
    if (from.empty() || std::filesystem::exists(target, ec)) return "";
    {
        std::lock_guard lock(rec->mu);
        rec->add_event("converting", from.string() + " -> " + target.string());
    }
    try {
        ConvertResult r = converted_into(from, target, ConvertOptions{}, [&](double f, const std::string&) {
            // Cancel or terminate: the conversion stops at the next tensor and leaves nothing.
            if (rec->cancel) throw std::runtime_error("conversion cancelled");
            std::lock_guard lock(rec->mu);
            rec->progress = std::max(rec->progress, 0.05 + 0.45 * f);
            rec->changed.notify_all();
        });
        std::lock_guard lock(rec->mu);
        char note[160];
        std::snprintf(note, sizeof note, "%s, %.1f MiB in %.1f s", r.reused ? "reused an earlier conversion" : "converted",
                      r.bytes / 1048576.0, r.seconds);
        rec->add_event("converted", note);
        return "";
    } catch (const std::exception& e) {
        return std::string("cannot convert ") + from.string() + ": " + e.what();
    }
}

// A catalog model not in the cache is downloaded (once, into the cache) before its first engine
// starts: the first part of the launch progress, with bytes, speed and ETA; cancel or terminate
// stops it and leaves no partial file. Returns the failure, or "" when the files are there.
std::string Supervisor::ensure_downloaded(const std::shared_ptr<ModelRecord>& rec) {
    const std::shared_ptr<DownloadPlan> plan = rec->model.download;
    if (!plan || plan->missing_bytes() == 0) return "";
    const auto began = std::chrono::steady_clock::now();
    json files = json::array();
    for (auto& f : plan->files) files.push_back({{"path", f.path}, {"size", f.size}});
    {
        std::lock_guard lock(rec->mu);
        rec->add_event("downloading", plan->listing.repo + "@" + plan->listing.revision.substr(0, 12) + " from " +
                                          plan->listing.endpoint.base + ": " + std::to_string(plan->missing_bytes() >> 20) + " MiB");
        rec->download = {{"state", "downloading"}, {"hub", plan->listing.endpoint.hub}, {"endpoint", plan->listing.endpoint.base},
                         {"repo", plan->listing.repo}, {"revision", plan->listing.revision}, {"files", files},
                         {"bytes_done", 0}, {"bytes_total", plan->total_bytes}, {"bytes_per_second", 0}, {"eta_seconds", nullptr}};
    }
    uint64_t first_done = UINT64_MAX;
    try {
        run_model_download(*plan, [&](uint64_t done, uint64_t total) {
            if (first_done == UINT64_MAX) first_done = done;  // resumed bytes do not count toward speed
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
            const double speed = s > 0.2 ? (done - first_done) / s : 0;
            std::lock_guard lock(rec->mu);
            rec->download["bytes_done"] = done;
            rec->download["bytes_per_second"] = static_cast<uint64_t>(speed);
            rec->download["eta_seconds"] = speed > 0 ? json(static_cast<int64_t>((total - done) / speed)) : json(nullptr);
            rec->progress = std::max(rec->progress, 0.05 + 0.45 * (total ? static_cast<double>(done) / total : 1.0));
            rec->changed.notify_all();
        }, &rec->cancel);
    } catch (const FetchCancelled&) {
        std::lock_guard lock(rec->mu);
        rec->download["state"] = "cancelled";
        return "download cancelled";
    } catch (const std::exception& e) {
        std::lock_guard lock(rec->mu);
        rec->download["state"] = "failed";
        return std::string("cannot download ") + rec->model.model_name + ": " + e.what();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::lock_guard lock(rec->mu);
    rec->download["state"] = "downloaded";
    rec->download["bytes_done"] = plan->total_bytes;
    rec->download["eta_seconds"] = 0;
    char note[160];
    std::snprintf(note, sizeof note, "%.1f MiB in %.1f s", plan->total_bytes / 1048576.0, s);
    rec->add_event("downloaded", note);
    return "";
}

// A Hugging Face folder just downloaded: its conversion is planned now that its files are here,
// and the replicas, placed on the weights' size, are placed and built again for the GGUF it
// becomes (its context length and real size). Returns the failure, or "".
std::string Supervisor::plan_downloaded_folder(const std::shared_ptr<ModelRecord>& rec) {
    ResolvedModel model;
    {
        std::lock_guard lock(rec->mu);
        if (!rec->model.convert_after_download) return "";
        model = rec->model;
    }
    try {
        plan_conversion_after_download(model);
    } catch (const std::exception& e) {
        return std::string("cannot serve the downloaded folder: ") + e.what();
    }
    std::lock_guard lock(rec->mu);
    rec->model = model;
    try {
        for (auto& replica : rec->replicas) {
            release_replica(*rec, *replica);
            replica = make_replica(*rec, replica->index());
        }
    } catch (const std::exception& e) {
        return std::string("cannot place the converted model: ") + e.what();
    }
    return "";
}

void Supervisor::start_replicas(std::shared_ptr<ModelRecord> rec, std::vector<int> ids) {
    std::string error = ensure_downloaded(rec);
    if (error.empty()) error = plan_downloaded_folder(rec);
    if (error.empty()) error = ensure_converted(rec);
    std::vector<std::shared_ptr<Replica>> starting;
    {
        std::lock_guard lock(rec->mu);
        for (int id : ids)
            if (auto r = rec->replica(id)) starting.push_back(r);
    }
    // Progress moves with the expected load time (about 1 GB/s from page cache or disk), so a
    // progress bar advances smoothly instead of jumping from 0 to 1.
    const double expected_s = 0.5 + static_cast<double>(rec->model.gguf.file_size) / 1e9;
    std::weak_ptr<ModelRecord> weak = rec;
    for (size_t k = 0; k < starting.size() && error.empty(); ++k) {
        auto replica = starting[k];
        std::weak_ptr<Replica> which = replica;
        const int id = replica->index();
        try {
            replica->start([this, weak, id, which](int status) { on_replica_exit(weak, id, which.lock(), status); });
        } catch (const std::exception& e) {
            error = std::string("cannot start engine: ") + e.what();
            break;
        }
        // The ticker sleeps on a condition variable, so the launch does not wait out its period
        // once the engine is ready (it did: up to 100 ms added to every launch).
        std::mutex tick_mu;
        std::condition_variable tick_cv;
        bool done = false;
        std::thread ticker([&] {
            auto t0 = SteadyClock::now();
            for (;;) {
                {
                    std::unique_lock tl(tick_mu);
                    if (tick_cv.wait_for(tl, std::chrono::milliseconds(100), [&] { return done; })) break;
                }
                double el = std::chrono::duration<double>(SteadyClock::now() - t0).count();
                double frac = std::min(0.95, el / expected_s);
                {
                    std::lock_guard lock(rec->mu);
                    if (rec->state == ModelState::launching) {
                        rec->progress = std::max(rec->progress, 0.05 + 0.9 * (k + frac) / starting.size());
                        rec->changed.notify_all();
                    }
                }
            }
        });
        error = replica->wait_until_ready(config_.launch_timeout, rec->cancel);
        {
            std::lock_guard tl(tick_mu);
            done = true;
        }
        tick_cv.notify_one();
        ticker.join();
        if (error.empty()) {
            repack_fallback::engine_ready(replica->command(), rec->uid);
        } else if (!replica->running() && repack_fallback::suspect(replica->exit_status(), replica->command())) {
            // Crashed with llama.cpp's repacked-weight kernels on: once more without them.
            auto fresh = std::make_shared<Replica>(rec->uid, id, repack_fallback::trial_command(replica->command()),
                                                   replica->address(), replica->log_path());
            std::lock_guard lock(rec->mu);
            // Not for a model being terminated or unloaded meanwhile: its replicas are stopping.
            if (rec->state != ModelState::terminating && rec->state != ModelState::idle_unloaded &&
                rec->replica(id) == replica) {
                for (auto& r : rec->replicas)
                    if (r == replica) r = fresh;
                const std::string why = "replica " + std::to_string(id) + " engine process " + replica->exit_reason() +
                                        "; starting it again without repacked weights (LLAMA_ARG_REPACK=0)";
                rec->add_event("restarting", why);
                if (store_) store_->record(rec->uid, "restarting", why);
                starting[k] = fresh;
                error.clear();
                --k;  // the same replica again (an unsigned wrap-around, undone by the loop's ++k)
            }
        }
    }
    bool stop_all = false;
    {
        std::lock_guard lock(rec->mu);
        if (rec->state == ModelState::terminating || rec->state == ModelState::idle_unloaded) return;
        if (error.empty()) {
            auto secs = std::chrono::duration<double>(SteadyClock::now() - rec->launch_started).count();
            if (rec->state == ModelState::launching)
                rec->move_to(ModelState::ready, std::to_string(rec->replicas.size()) + " replica(s) healthy after " +
                                                    std::to_string(secs).substr(0, 5) + " s");
            else
                rec->add_event("replicas_started", std::to_string(starting.size()) + " replica(s) healthy");
            rec->was_ready = true;
            if (store_) store_->record(rec->uid, "ready", "");
            return;
        }
        bool any_running = false;
        for (auto& r : rec->replicas) any_running |= r->running();
        if (!rec->was_ready || !any_running) {
            rec->move_to(ModelState::failed, error);
            stop_all = true;
            // A first launch that failed is not brought back at the next start.
            if (store_ && !rec->was_ready) store_->remove(rec->uid);
            if (store_) store_->record(rec->uid, "failed", error);
        } else {
            rec->add_event("replica_start_failed", error);
        }
    }
    // Outside the lock: stopping waits for the exit callback, which takes the lock.
    if (stop_all) {
        for (auto& r : rec->replicas) r->stop();
        release_placement(*rec);
    } else {
        for (auto& r : starting) r->stop();
    }
}

void Supervisor::on_replica_exit(std::weak_ptr<ModelRecord> weak, int id, std::shared_ptr<Replica> which, int status) {
    auto rec = weak.lock();
    if (!rec) return;
    std::lock_guard lock(rec->mu);
    if (rec->state == ModelState::terminating || rec->state == ModelState::failed ||
        rec->state == ModelState::idle_unloaded)
        return;  // an expected stop
    if (!which || rec->replica(id) != which) return;  // retired or replaced
    std::string why = "replica " + std::to_string(id) + " engine process " + describe_wait_status(status);
    rec->add_event("replica_exit", why);
    if (store_) store_->record(rec->uid, "replica_exit", why);
    if (rec->state != ModelState::ready) return;  // a launch in progress reports it with the engine's log

    bool any_running = false;
    for (auto& r : rec->replicas) any_running |= r->running();
    if (rec->restarts < config_.max_restarts) {
        auto delay = config_.restart_backoff * (1 << std::min(rec->restarts, 10));
        rec->restarts++;
        rec->restart_due[id] = SteadyClock::now() + delay;
        wake_maintenance();  // it may be sleeping until a later deadline
        rec->add_event("restart_scheduled", "replica " + std::to_string(id) + " in " +
                                                std::to_string(delay.count()) + " ms (restart " +
                                                std::to_string(rec->restarts) + " of " +
                                                std::to_string(config_.max_restarts) + ")");
        if (!any_running) rec->move_to(ModelState::launching, why + "; restarting");
        return;
    }
    if (!any_running) {
        std::string tail = tail_lines(which->log_path(), 5);
        rec->move_to(ModelState::failed, why + " and " + std::to_string(config_.max_restarts) +
                                             " restarts are used up" +
                                             (tail.empty() ? "" : ". Last engine log lines:\n" + tail));
        if (store_) store_->record(rec->uid, "failed", rec->failure_reason);
    }
}

bool Supervisor::idle_now(const ModelRecord& rec, SteadyClock::time_point now) const {
    const double ka = keep_alive(rec);
    return rec.state == ModelState::ready && ka >= 0 && rec.active == 0 && rec.waiting == 0 && rec.reload_waiters == 0 &&
           std::chrono::duration<double>(now - rec.last_used).count() >= ka;
}

void Supervisor::unload(const std::shared_ptr<ModelRecord>& rec) {
    std::vector<std::shared_ptr<Replica>> stopping;
    {
        std::lock_guard lock(rec->mu);
        // Checked again under the lock: a request may have come in since the check that called us.
        if (!idle_now(*rec, SteadyClock::now())) return;
        double idle = std::chrono::duration<double>(SteadyClock::now() - rec->last_used).count();
        if (!rec->move_to(ModelState::idle_unloaded, "idle for " + std::to_string(static_cast<int>(idle)) +
                                                         " s (keep_alive " + std::to_string(keep_alive(*rec)) + " s)"))
            return;
        stopping = rec->replicas;
    }
    for (auto& r : stopping) r->stop();
    release_placement(*rec);
    if (store_) store_->record(rec->uid, "idle_unloaded", "");
}

void Supervisor::wake_maintenance() {
    {
        std::lock_guard lock(stop_mu_);
        maintain_soon_ = true;
    }
    stop_cv_.notify_all();
}

SteadyClock::time_point Supervisor::maintain() {
    std::vector<std::shared_ptr<ModelRecord>> recs;
    {
        std::lock_guard lock(mu_);
        for (auto& [uid, r] : models_) recs.push_back(r);
    }
    const auto now = SteadyClock::now();
    // A second at most: anything this misses (a request ending, a setting changed) waits no longer.
    auto next = now + std::chrono::seconds(1);
    for (auto& rec : recs) {
        bool idle = false;
        {
            std::lock_guard lock(rec->mu);
            if (rec->state == ModelState::terminating) continue;
            std::vector<int> due;
            for (auto it = rec->restart_due.begin(); it != rec->restart_due.end();) {
                if (it->second > now) {
                    next = std::min(next, it->second);
                    ++it;
                    continue;
                }
                due.push_back(it->first);
                it = rec->restart_due.erase(it);
            }
            if (!due.empty()) {
                for (int id : due) {
                    // A fresh process object with the same command (and the same placement).
                    for (auto& r : rec->replicas) {
                        if (r->index() != id) continue;
                        // Crashed with repacked kernels on: try without them (see repack_fallback.h).
                        EngineCommand cmd = r->command();
                        if (repack_fallback::suspect(r->exit_status(), cmd)) cmd = repack_fallback::trial_command(cmd);
                        else repack_fallback::apply(cmd);
                        r = std::make_shared<Replica>(rec->uid, id, cmd, r->address(), r->log_path());
                        rec->add_event("restarting", "replica " + std::to_string(id));
                    }
                }
                rec->workers.emplace_back([this, rec, due] { start_replicas(rec, due); });
            }
            idle = idle_now(*rec, now);
            const double ka = keep_alive(*rec);
            if (!idle && rec->state == ModelState::ready && ka >= 0 && rec->active == 0 && rec->waiting == 0) {
                const auto due = rec->last_used + std::chrono::duration_cast<SteadyClock::duration>(
                                                      std::chrono::duration<double>(ka));
                if (due > now) next = std::min(next, due);
            }
        }
        if (idle) unload(rec);
    }
    return next;
}

void Supervisor::retire_replicas(ModelRecord& rec, std::vector<std::shared_ptr<Replica>> retired) {
    for (auto& r : retired) {
        release_replica(rec, *r);
        rec.restart_due.erase(r->index());
        std::erase(rec.replicas, r);
    }
    rec.workers.emplace_back([retired] {
        auto deadline = SteadyClock::now() + std::chrono::seconds(60);
        for (auto& r : retired) {
            while (r->in_flight > 0 && SteadyClock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            r->stop();
        }
    });
}

void Supervisor::persist_launch(ModelRecord& rec) {
    rec.request.replica = static_cast<int>(rec.replicas.size());
    if (!store_) return;
    json persisted = rec.request.to_json();
    persisted["wait_ready"] = false;
    store_->put(rec.uid, persisted);
}

namespace {
// Callers have checked that the model exists.
std::shared_ptr<ModelRecord> ready_model(std::shared_ptr<ModelRecord> rec, const std::string& uid) {
    if (rec->state != ModelState::ready)
        throw ApiError(409, "Model '" + uid + "' is " + to_string(rec->state) + "; replicas change only when it is ready");
    return rec;
}
}  // namespace

void Supervisor::scale(const std::string& uid, int count) {
    if (count < 1 || count > 64) throw bad_request("replica count must be between 1 and 64", "replica");
    auto rec = find(uid);
    if (!rec) unknown_model(uid, "model_uid");
    std::lock_guard lock(rec->mu);
    ready_model(rec, uid);
    const int n = static_cast<int>(rec->replicas.size());
    if (count > n) {
        std::vector<int> added;
        for (int i = n; i < count; ++i) {
            const int id = rec->next_replica_id;
            rec->replicas.push_back(make_replica(*rec, id));  // 503 when there is no room
            added.push_back(id);
        }
        rec->add_event("scale_up", std::to_string(n) + " -> " + std::to_string(count));
        rec->workers.emplace_back([this, rec, added] { start_replicas(rec, added); });
    } else if (count < n) {
        // The newest replicas go first.
        retire_replicas(*rec, std::vector<std::shared_ptr<Replica>>(rec->replicas.begin() + count, rec->replicas.end()));
        rec->add_event("scale_down", std::to_string(n) + " -> " + std::to_string(count));
    }
    persist_launch(*rec);
}

int Supervisor::add_replica(const std::string& uid) {
    auto rec = find(uid);
    if (!rec) unknown_model(uid, "model_uid");
    std::lock_guard lock(rec->mu);
    ready_model(rec, uid);
    if (rec->replicas.size() >= 64) throw bad_request("a model has at most 64 replicas", "replica");
    const int id = rec->next_replica_id;
    rec->replicas.push_back(make_replica(*rec, id));  // 503 when there is no room
    rec->add_event("replica_added", "replica " + std::to_string(id));
    rec->workers.emplace_back([this, rec, id] { start_replicas(rec, {id}); });
    persist_launch(*rec);
    return id;
}

int Supervisor::remove_replica(const std::string& uid, int replica_id) {
    auto rec = find(uid);
    if (!rec) unknown_model(uid, "model_uid");
    std::lock_guard lock(rec->mu);
    auto replica = rec->replica(replica_id);
    if (!replica) {
        std::string ids;
        for (auto& r : rec->replicas) ids += (ids.empty() ? "" : ", ") + std::to_string(r->index());
        throw not_found("Model '" + uid + "' has no replica " + std::to_string(replica_id) + " (its replicas: " + ids + ")",
                        "replica_id");
    }
    if (rec->replicas.size() == 1)
        throw bad_request("Replica " + std::to_string(replica_id) + " is the last replica of model '" + uid +
                              "'; terminate the model instead", "replica_id");
    retire_replicas(*rec, {replica});
    rec->add_event("replica_removed", "replica " + std::to_string(replica_id));
    persist_launch(*rec);
    return static_cast<int>(rec->replicas.size());
}

}  // namespace xinfer
