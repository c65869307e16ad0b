#include "cluster/cluster_node.h"

#include <set>

#include "common/errors.h"
#include "common/http_client.h"
#include "common/log.h"

namespace xinfer {

using json = nlohmann::json;

namespace {

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A model is served by a node until it failed or is being stopped there.
bool serving(const json& model) {
    const std::string s = model.value("status", "");
    return s != "failed" && s != "terminated" && s != "terminating";
}

}  // namespace

std::string advertise_host(std::string url) {
    if (auto p = url.find("://"); p != std::string::npos) url = url.substr(p + 3);
    if (auto slash = url.find('/'); slash != std::string::npos) url.resize(slash);
    if (auto colon = url.rfind(':'); colon != std::string::npos) url.resize(colon);
    return url;
}

json DesiredModel::to_json() const {
    return {{"request", request}, {"nodes", nodes}, {"failure", failure}, {"refused", refused}};
}

DesiredModel DesiredModel::from_json(const std::string& uid, const json& j) {
    DesiredModel d;
    d.uid = uid;
    d.request = j.value("request", json::object());
    const json nodes = j.value("nodes", json::object());  // kept: items() of a temporary dangles
    for (auto& [name, n] : nodes.items())
        if (n.is_number_integer() && n.get<int>() > 0) d.nodes[name] = n.get<int>();
    d.failure = j.value("failure", "");
    for (auto& n : j.value("refused", json::array()))
        if (n.is_string()) d.refused.insert(n.get<std::string>());
    return d;
}

ClusterNode::ClusterNode(ClusterConfig config, std::function<json()> describe_self)
    : config_(std::move(config)), describe_self_(std::move(describe_self)), etcd_(config_.etcd),
      key_(config_.prefix + "nodes/" + config_.node_name) {}

ClusterNode::~ClusterNode() { stop(); }

std::string ClusterNode::record_text(const json& self) const {
    json r = self;
    r["name"] = config_.node_name;
    r["advertise"] = config_.advertise;
    r["started"] = started_;
    return r.dump();
}

void ClusterNode::start() {
    started_ = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (auto old = etcd_.get(key_)) {
        json rec = json::parse(old->value, nullptr, false);
        const std::string addr = rec.is_object() ? rec.value("advertise", "") : "";
        if (addr != config_.advertise)
            throw std::runtime_error("node name '" + config_.node_name + "' is taken by the live node at " + addr +
                                     "; give this node another --node-name");
        // This node's previous life (killed moments ago): its lease would keep the old record
        // for the rest of the TTL.
        if (old->lease) {
            try {
                etcd_.revoke_lease(old->lease);
            } catch (const std::runtime_error&) {
            }
        }
    }
    lease_ = etcd_.grant_lease(config_.lease_ttl_s);
    etcd_.put(key_, record_text(describe_self_()), lease_);
    last_renewal_ms_ = now_ms();
    reread();
    reread_desired();
    log::info("cluster: node '" + config_.node_name + "' joined at " + config_.advertise + " (etcd " + etcd_.endpoints().front() +
              ", lease TTL " + std::to_string(config_.lease_ttl_s) + " s)");
    keeper_ = std::thread([this] { keep_alive_loop(); });
    watcher_ = std::thread([this] { watch_loop(); });
}

void ClusterNode::stop() {
    if (stop_.exchange(true)) return;
    stop_cv_.notify_all();
    if (keeper_.joinable()) keeper_.join();
    if (watcher_.joinable()) watcher_.join();
    if (lease_) {
        try {
            etcd_.revoke_lease(lease_);  // the record goes with it: other nodes stop routing here now
        } catch (const std::exception& e) {
            log::warn(std::string("cluster: could not leave cleanly: ") + e.what());
        }
    }
}

void ClusterNode::keep_alive_loop() {
    const int64_t renew_every_ms = std::max(500, config_.lease_ttl_s * 1000 / 3);
    int64_t next_renewal = now_ms() + renew_every_ms, next_reread = now_ms() + 5000;
    std::string published = record_text(describe_self_());
    bool reported_down = false;
    while (!stop_) {
        {
            std::unique_lock lock(stop_mu_);
            stop_cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_.load(); });
        }
        if (stop_) break;
        try {
            const int64_t t = now_ms();
            if (t >= next_renewal) {
                if (etcd_.keep_alive(lease_) <= 0) {
                    // The lease lapsed (this node was cut off longer than the TTL): join again.
                    log::warn("cluster: lease of node '" + config_.node_name + "' had lapsed; registering again");
                    lease_ = etcd_.grant_lease(config_.lease_ttl_s);
                    published.clear();
                }
                last_renewal_ms_ = now_ms();
                next_renewal = last_renewal_ms_ + renew_every_ms;
                if (reported_down) log::info("cluster: etcd reachable again");
                reported_down = false;
            }
            std::string record = record_text(describe_self_());
            if (record != published) {
                etcd_.put(key_, record, lease_);
                published = std::move(record);
            }
            reread_desired();
            campaign();
            if (t >= next_reread) {
                reread();
                next_reread = t + 5000;
            }
        } catch (const std::exception& e) {
            if (!reported_down) log::warn(std::string("cluster: ") + e.what());
            reported_down = true;
            // Renew again soon (not later than planned: a write that keeps failing must not put
            // off the renewal that finds out the lease has lapsed).
            next_renewal = std::min(next_renewal, now_ms() + 1000);
        }
    }
}

void ClusterNode::watch_loop() {
    while (!stop_) {
        int64_t revision = 0;
        try {
            revision = reread();
        } catch (const std::exception&) {
            std::unique_lock lock(stop_mu_);
            stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_.load(); });
            continue;
        }
        etcd_.watch(config_.prefix + "nodes/", revision + 1,
                    [this](const std::vector<EtcdEvent>& events) {
                        for (auto& e : events) apply(e.kv, e.deleted);
                    },
                    stop_);
        if (stop_) break;
        std::unique_lock lock(stop_mu_);
        stop_cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_.load(); });
    }
}

void ClusterNode::apply(const EtcdKv& kv, bool deleted) {
    const std::string name = kv.key.substr(kv.key.rfind('/') + 1);
    std::lock_guard lock(mu_);
    seen_revision_ = std::max(seen_revision_, kv.mod_revision);
    if (deleted) {
        if (nodes_.erase(name)) log::info("cluster: node '" + name + "' left");
        return;
    }
    json rec = json::parse(kv.value, nullptr, false);
    if (!rec.is_object()) return;
    if (!nodes_.count(name)) log::info("cluster: node '" + name + "' joined at " + rec.value("advertise", ""));
    nodes_[name] = NodeInfo{name, rec.value("advertise", ""), rec};
}

// A safety net beside the watch: a watch connected to a member cut off from the others sees
// nothing, while a read goes to a member that answers.
int64_t ClusterNode::reread() {
    int64_t revision = 0;
    std::vector<EtcdKv> kvs = etcd_.list(config_.prefix + "nodes/", &revision);
    std::map<std::string, NodeInfo> fresh;
    for (auto& kv : kvs) {
        json rec = json::parse(kv.value, nullptr, false);
        if (!rec.is_object()) continue;
        NodeInfo n{rec.value("name", ""), rec.value("advertise", ""), rec};
        fresh[n.name] = std::move(n);
    }
    std::lock_guard lock(mu_);
    if (revision < seen_revision_) return revision;  // the watch has already shown something newer
    for (auto& [name, n] : nodes_)
        if (!fresh.count(name)) log::info("cluster: node '" + name + "' left");
    nodes_ = std::move(fresh);
    seen_revision_ = revision;
    return revision;
}

std::vector<NodeInfo> ClusterNode::nodes() const {
    std::lock_guard lock(mu_);
    std::vector<NodeInfo> out;
    for (auto& [name, n] : nodes_) out.push_back(n);
    return out;
}

double ClusterNode::load_of(const std::string& node, const json& model) const {
    auto it = forwards_.find(node);
    const double sent = it == forwards_.end() ? 0 : it->second;
    return sent / double(std::max<size_t>(model.value("replicas", json::array()).size(), 1));
}

bool ClusterNode::suspected(const std::string& node) const {
    auto it = suspects_.find(node);
    return it != suspects_.end() && it->second > now_ms();
}

void ClusterNode::suspect(const std::string& node) {
    std::lock_guard lock(mu_);
    suspects_[node] = now_ms() + config_.lease_ttl_s * 1000;
    log::warn("cluster: node '" + node + "' did not take a connection; not routing to it for " +
              std::to_string(config_.lease_ttl_s) + " s");
}

std::optional<NodeInfo> ClusterNode::node_for_model(const std::string& model) const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<const NodeInfo*, const json*>> by_uid, by_name;
    std::set<std::string> named_uids;
    for (auto& [name, n] : nodes_) {
        if (name == config_.node_name || suspected(name) || !n.record.contains("models")) continue;
        for (auto& m : n.record["models"]) {
            if (!m.is_object() || !serving(m)) continue;
            if (m.value("model_uid", "") == model) by_uid.push_back({&n, &m});
            else if (m.value("model_name", "") == model) by_name.push_back({&n, &m}), named_uids.insert(m.value("model_uid", ""));
        }
    }
    auto& candidates = by_uid.empty() ? by_name : by_uid;
    if (candidates.empty()) return std::nullopt;
    if (by_uid.empty() && named_uids.size() > 1)
        throw bad_request("Several models in the cluster are named '" + model + "'; use a model uid", "model");
    // The least busy of the nodes where it is ready (still loading only when it is ready nowhere);
    // ties go round, so one client's requests in a row spread too.
    const NodeInfo* best = nullptr;
    double best_load = 0;
    const size_t start = rotation_++;
    for (size_t k = 0; k < candidates.size(); ++k) {
        auto [n, m] = candidates[(start + k) % candidates.size()];
        const double load = load_of(n->name, *m) + (m->value("status", "") == "ready" ? 0 : 1e6);
        if (!best || load < best_load) best = n, best_load = load;
    }
    return *best;
}

std::optional<NodeInfo> ClusterNode::less_busy_node(const std::string& uid, int active, int replicas, bool ready) const {
    std::lock_guard lock(mu_);
    const NodeInfo* best = nullptr;
    double best_load = ready && replicas > 0 ? double(active) / replicas : 1e9;
    for (auto& [name, n] : nodes_) {
        if (name == config_.node_name || suspected(name) || !n.record.contains("models")) continue;
        for (auto& m : n.record["models"]) {
            if (!m.is_object() || m.value("model_uid", "") != uid || m.value("status", "") != "ready") continue;
            const double load = load_of(name, m);
            if (load < best_load) best = &n, best_load = load;
        }
    }
    if (!best) return std::nullopt;
    return *best;
}

std::optional<NodeInfo> ClusterNode::find_node(const std::string& name_or_ip) const {
    std::lock_guard lock(mu_);
    for (auto& [name, n] : nodes_)
        if (name == name_or_ip || n.advertise == name_or_ip || advertise_host(n.advertise) == name_or_ip) return n;
    return std::nullopt;
}

bool ClusterNode::connected() const { return now_ms() - last_renewal_ms_ < config_.lease_ttl_s * 1000; }

bool ClusterNode::desired_read_since_renewal() const { return desired_read_ms_ >= last_renewal_ms_; }

bool ClusterNode::cut_off() const {
    if (now_ms() - last_renewal_ms_ <= config_.lease_ttl_s * 1000) return false;
    std::vector<std::string> peers;
    for (auto& n : nodes())
        if (n.name != config_.node_name) peers.push_back(n.advertise);
    if (peers.empty()) return false;  // alone: no other node can run its models twice
    size_t reached = 0;
    for (auto& p : peers) {
        if (!unusable_address(p).empty()) continue;  // a node that advertised nothing reachable is not reached
        auto client = make_client(p);
        client->set_connection_timeout(std::chrono::milliseconds(300));
        client->set_read_timeout(std::chrono::milliseconds(500));
        if (auto r = client->Get("/status"); r && r->status == 200) ++reached;
    }
    return reached * 2 < peers.size();
}

void ClusterNode::reread_desired() {
    const int64_t started = now_ms();
    std::vector<DesiredModel> fresh;
    for (auto& kv : etcd_.list(config_.prefix + "models/")) {
        json j = json::parse(kv.value, nullptr, false);
        if (j.is_object()) fresh.push_back(DesiredModel::from_json(kv.key.substr(kv.key.rfind('/') + 1), j));
    }
    std::map<std::string, std::map<std::string, std::string>> shared;
    for (const char* folder : {"registrations", "keys"}) {
        const std::string prefix = config_.prefix + folder + "/";
        for (auto& kv : etcd_.list(prefix)) shared[folder][kv.key.substr(prefix.size())] = kv.value;
    }
    {
        std::lock_guard lock(mu_);
        desired_ = std::move(fresh);
        shared_ = std::move(shared);
    }
    desired_read_ms_ = started;
    if (on_shared_) on_shared_();
}

std::map<std::string, std::string> ClusterNode::shared(const std::string& folder) const {
    std::lock_guard lock(mu_);
    auto it = shared_.find(folder);
    return it == shared_.end() ? std::map<std::string, std::string>{} : it->second;
}

void ClusterNode::put_shared(const std::string& folder, const std::string& name, const std::string& text) {
    etcd_.put(config_.prefix + folder + "/" + name, text);
    std::lock_guard lock(mu_);
    shared_[folder][name] = text;
}

void ClusterNode::remove_shared(const std::string& folder, const std::string& name) {
    etcd_.remove(config_.prefix + folder + "/" + name);
    std::lock_guard lock(mu_);
    shared_[folder].erase(name);
}

void ClusterNode::campaign() {
    const std::string key = config_.prefix + "leader";
    if (leader_revision_ == 0) etcd_.create(key, config_.node_name, lease_);
    auto held = etcd_.get(key);
    const bool mine = held && held->value == config_.node_name && held->lease == lease_;
    if (mine && leader_revision_ == 0) log::info("cluster: node '" + config_.node_name + "' leads placement");
    if (!mine && leader_revision_ != 0) log::warn("cluster: node '" + config_.node_name + "' no longer leads placement");
    leader_revision_ = mine ? held->create_revision : 0;
    std::lock_guard lock(mu_);
    leader_ = held ? held->value : "";
}

std::string ClusterNode::leader() const {
    std::lock_guard lock(mu_);
    return leader_;
}

bool ClusterNode::is_desired(const std::string& model) const {
    std::lock_guard lock(mu_);
    for (auto& d : desired_)
        if (d.uid == model || d.request.value("model_name", "") == model) return true;
    return false;
}

std::vector<DesiredModel> ClusterNode::desired() const {
    std::lock_guard lock(mu_);
    return desired_;
}

void ClusterNode::put_desired(const DesiredModel& model) {
    etcd_.put(config_.prefix + "models/" + model.uid, model.to_json().dump());
    std::lock_guard lock(mu_);
    for (auto& d : desired_)
        if (d.uid == model.uid) {
            d = model;
            return;
        }
    desired_.push_back(model);
}

bool ClusterNode::remove_desired(const std::string& uid) {
    const bool existed = etcd_.get(config_.prefix + "models/" + uid).has_value();
    etcd_.remove(config_.prefix + "models/" + uid);
    std::lock_guard lock(mu_);
    std::erase_if(desired_, [&](const DesiredModel& d) { return d.uid == uid; });
    return existed;
}

bool ClusterNode::assign_desired(const DesiredModel& model) {
    const int64_t revision = leader_revision_;
    if (!revision) return false;
    if (!etcd_.put_if_holds(config_.prefix + "leader", revision, config_.prefix + "models/" + model.uid, model.to_json().dump())) {
        leader_revision_ = 0;
        return false;
    }
    std::lock_guard lock(mu_);
    for (auto& d : desired_)
        if (d.uid == model.uid) d = model;
    return true;
}

void ClusterNode::begin_forward(const std::string& node) {
    std::lock_guard lock(mu_);
    forwards_[node]++;
}

void ClusterNode::end_forward(const std::string& node) {
    std::lock_guard lock(mu_);
    if (--forwards_[node] <= 0) forwards_.erase(node);
}

}  // namespace xinfer
