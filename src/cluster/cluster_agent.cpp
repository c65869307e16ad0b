#include "cluster/cluster_agent.h"

#include <filesystem>
#include <map>

#include "common/errors.h"
#include "common/log.h"
#include "supervisor/launch_request.h"

namespace xinfer {

using json = nlohmann::json;
namespace fs = std::filesystem;

uint64_t estimated_model_mb(const json& request) {
    std::error_code ec;
    fs::path p = request.value("model_path", "");
    if (p.empty() || !fs::exists(p, ec)) return 0;
    uint64_t bytes = 0;
    if (fs::is_directory(p, ec)) {
        for (auto& e : fs::recursive_directory_iterator(p, ec))
            if (e.is_regular_file(ec)) bytes += e.file_size(ec);
    } else {
        bytes = fs::file_size(p, ec);
    }
    return bytes * 11 / 10 / (1 << 20) + 64;
}

ClusterAgent::ClusterAgent(ClusterNode& cluster, Supervisor& supervisor, Registry& registry, std::shared_ptr<Authenticator> auth)
    : cluster_(cluster), sup_(supervisor), registry_(registry), auth_(std::move(auth)) {}

ClusterAgent::~ClusterAgent() { stop(); }

void ClusterAgent::start() {
    // Registrations first: a model assigned here may be one of them.
    cluster_.on_shared([this] { sync_shared(); });
    sync_shared();
    thread_ = std::thread([this] { loop(); });
}

void ClusterAgent::stop() {
    if (stop_.exchange(true)) return;
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void ClusterAgent::loop() {
    while (!stop_) {
        {
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_.load(); });
        }
        if (stop_) break;
        try {
            if (cluster_.cut_off()) {
                fence();
                continue;
            }
            // Back from a cut: a fresh lease, and the desired state read since (the snapshot from
            // before the cut still holds the models that moved to other nodes meanwhile).
            if (fenced_ && !(cluster_.connected() && cluster_.desired_read_since_renewal())) continue;
            fenced_ = false;
            reconcile();
            if (cluster_.is_leader()) place();
        } catch (const std::exception& e) {
            log::warn(std::string("cluster: ") + e.what());
        }
    }
}

void ClusterAgent::fence() {
    if (fenced_) return;
    fenced_ = true;
    const json running = sup_.list();
    if (running["data"].empty()) return;
    log::warn("cluster: this node has not renewed its lease for longer than the TTL and reaches fewer than half of the "
              "other nodes: it is cut off; stopping its engines (the other nodes may run its models now)");
    for (auto& m : running["data"]) {
        try {
            sup_.terminate(m["model_uid"].get<std::string>());
        } catch (const std::exception&) {
        }
    }
    assigned_here_.clear();
}

void ClusterAgent::sync_shared() {
    std::lock_guard lock(sync_mu_);  // called by every re-read: the keeper's, and a launch's refresh
    sync_registrations();
    if (auth_)
        for (auto& [id, text] : cluster_.shared("keys")) {
            const json record = json::parse(text, nullptr, false);
            if (record.is_object()) auth_->merge_key(record);
        }
}

void ClusterAgent::sync_registrations() {
    const auto shared = cluster_.shared("registrations");
    for (auto& [key, text] : shared) {
        const size_t slash = key.find('/');
        const auto type = parse_model_type(key.substr(0, slash));
        if (!type) continue;
        const std::string name = key.substr(slash + 1);
        const json spec = json::parse(text, nullptr, false);
        auto have = registry_.find(*type, name);
        if (have && have->builtin) continue;
        if (have && have->spec == spec) {
            synced_registrations_.insert(key);
            continue;
        }
        try {
            if (have) registry_.remove(*type, name);  // changed on another node
            registry_.add(*type, spec, false);         // the cluster keeps it; this node's store need not
            synced_registrations_.insert(key);
            log::info("cluster: registered " + key + " from the cluster");
        } catch (const std::exception& e) {
            log::warn("cluster: cannot register " + key + ": " + e.what());
        }
    }
    for (auto it = synced_registrations_.begin(); it != synced_registrations_.end();) {
        if (shared.count(*it)) {
            ++it;
            continue;
        }
        const size_t slash = it->find('/');
        if (auto type = parse_model_type(it->substr(0, slash))) {
            try {
                registry_.remove(*type, it->substr(slash + 1));
                log::info("cluster: unregistered " + *it + " (unregistered on another node)");
            } catch (const std::exception&) {
            }
        }
        it = synced_registrations_.erase(it);
    }
}

void ClusterAgent::reconcile() {
    const std::string self = cluster_.config().node_name;
    std::map<std::string, DesiredModel> desired;
    for (auto& d : cluster_.desired()) desired[d.uid] = d;
    std::map<std::string, json> local;
    const json running = sup_.list();
    for (auto& m : running["data"]) local[m["model_uid"].get<std::string>()] = m;

    for (auto& [uid, d] : desired) {
        const int share = d.share(self);
        if (share == 0) continue;
        assigned_here_.insert(uid);
        auto it = local.find(uid);
        if (it == local.end()) {
            if (d.failure.rfind("node '" + self + "'", 0) == 0) continue;  // it failed here; the cluster shows why
            log::info("cluster: model=" + uid + ": " + std::to_string(share) + " replica(s) assigned to this node; launching");
            try {
                LaunchRequest r = LaunchRequest::from_json(d.request);
                r.model_uid = uid;
                r.replica = share;
                r.wait_ready = false;
                r.served_before = true;  // launched in the cluster already: requests wait for it here
                sup_.launch(r);
            } catch (const std::exception& e) {
                d.failure = "node '" + self + "': " + e.what();
                cluster_.put_desired(d);
            }
            continue;
        }
        const std::string status = it->second.value("status", "");
        if (status == "failed" && d.failure.empty()) {
            const json& why = it->second["failure_reason"];
            d.failure = "node '" + self + "': " + (why.is_string() ? why.get<std::string>() : "failed");
            cluster_.put_desired(d);
        } else if ((status == "ready" || status == "busy") && it->second["replicas"].size() != size_t(share)) {
            log::info("cluster: model=" + uid + ": this node's share is now " + std::to_string(share) + " replica(s)");
            sup_.scale(uid, share);
        }
    }
    for (auto& [uid, m] : local) {
        auto it = desired.find(uid);
        if (!assigned_here_.count(uid) || (it != desired.end() && it->second.share(self) > 0)) continue;
        log::info("cluster: model=" + uid + (it == desired.end() ? " was terminated" : " now runs on other nodes") +
                  "; stopping it here");
        assigned_here_.erase(uid);
        try {
            sup_.terminate(uid);
        } catch (const std::exception&) {
        }
    }
}

void ClusterAgent::place() {
    std::map<std::string, int64_t> free_mb;  // live nodes, by name
    for (auto& n : cluster_.nodes())
        free_mb[n.name] = n.record.value("inventory", json::object()).value("ram_available_mb", int64_t{0});
    for (auto& d : cluster_.desired()) {
        int orphaned = 0;
        std::vector<std::string> gone;
        for (auto& [name, count] : d.nodes)
            if (!free_mb.count(name)) orphaned += count, gone.push_back(name);
        DesiredModel moved = d;
        // A live node that could not start its share ("node 'N': why", the placement there
        // refused it or the engine failed) gives it back, and is not asked again for this model.
        if (d.failure.rfind("node '", 0) == 0) {
            const std::string refusing = d.failure.substr(6, d.failure.find('\'', 6) - 6);
            if (free_mb.count(refusing) && d.share(refusing) > 0) {
                orphaned += d.share(refusing);
                gone.push_back(refusing);
                moved.refused.insert(refusing);
            }
        }
        if (d.nodes.empty()) orphaned = std::max(1, d.request.value("replica", 1));
        if (orphaned == 0) continue;
        const int64_t need = static_cast<int64_t>(estimated_model_mb(d.request));
        for (auto& name : gone) moved.nodes.erase(name);
        // Each orphaned replica to the live node that fits it with the most free memory, nodes
        // without a replica of the model first (spread).
        std::vector<std::string> taken;
        for (int i = 0; i < orphaned; ++i) {
            std::string best;
            for (auto& [name, mb] : free_mb) {
                if (mb < need || moved.refused.count(name)) continue;
                if (best.empty()) { best = name; continue; }
                const bool has = moved.share(name) > 0, best_has = moved.share(best) > 0;
                if (has != best_has ? !has : mb > free_mb[best]) best = name;
            }
            if (best.empty()) break;
            moved.nodes[best]++;
            free_mb[best] -= need;
            taken.push_back(best);
        }
        if (taken.empty()) {
            // The last node's own reason, when nodes refused it; else what placement saw.
            const std::string why = !moved.refused.empty() && d.failure.rfind("node '", 0) == 0
                                        ? d.failure
                                        : "no live node has " + std::to_string(need) + " MiB free for it";
            if (moved.nodes == d.nodes && d.failure == why) continue;
            moved.failure = why;
            log::warn("cluster: model=" + d.uid + " cannot be placed: " + why);
        } else {
            moved.failure.clear();
            std::string where;
            for (auto& t : taken) where += (where.empty() ? "" : ", ") + t;
            log::info("cluster: model=" + d.uid + ": " + std::to_string(taken.size()) + " replica(s) assigned to " + where +
                      (gone.empty() ? "" : " (their node is gone)"));
        }
        if (!cluster_.assign_desired(moved)) return;  // no longer the leader
    }
}

}  // namespace xinfer
