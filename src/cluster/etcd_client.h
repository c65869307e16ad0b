// A small client for etcd's v3 API through its HTTP/JSON gateway (etcd 3.4: /v3/kv/*,
// /v3/lease/*, /v3/watch). Keys and values are plain strings here; the wire's base64 and its
// int64-as-string numbers stay inside this file's implementation.
//
// Every call tries the endpoints in turn, starting with the one that answered last, so losing one
// member of a 3-member cluster costs one connect timeout, not the call. A call that reaches no
// member, or a member without quorum, throws EtcdUnavailable.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xinfer {

class EtcdUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};


struct EtcdKv {
    std::string key, value;
    int64_t create_revision = 0, mod_revision = 0, lease = 0;
};

struct EtcdEvent {
    bool deleted = false;
    EtcdKv kv;
};

class EtcdClient {
public:
    // endpoints: "http://host:port" (or "host:port"), at least one.
    // timeout_ms bounds a connect (a member on the same network answers in far less); a
    // request gets three times that to be answered.
    explicit EtcdClient(std::vector<std::string> endpoints, int timeout_ms = 500);

    const std::vector<std::string>& endpoints() const { return endpoints_; }


    // A lease that lapses `ttl_s` seconds after its last keep-alive; returns its id.
    int64_t grant_lease(int ttl_s);
    // Renews the lease; returns the TTL it now has, 0 when the lease no longer exists.
    int64_t keep_alive(int64_t lease);
    void revoke_lease(int64_t lease);

    // The store's revision after the write.
    int64_t put(const std::string& key, const std::string& value, int64_t lease = 0);
    // Writes `key` only while `guard_key` still exists with this create revision (a leader's
    // election key): false when the guard is gone or changed.
    bool put_if_holds(const std::string& guard_key, int64_t guard_create_revision, const std::string& key,
                      const std::string& value, int64_t lease = 0);
    // Creates `key` only if it does not exist; false when it does.
    bool create(const std::string& key, const std::string& value, int64_t lease = 0);
    std::optional<EtcdKv> get(const std::string& key);
    // Every key under the prefix, and the revision the answer was read at.
    std::vector<EtcdKv> list(const std::string& prefix, int64_t* revision = nullptr);
    void remove(const std::string& key);

    // Streams changes under `prefix` from `start_revision` to `on_events` until `stop` is set
    // (checked at least every `timeout_ms`) or the stream breaks: returns false when it broke
    // (reconnect and re-read), true when stopped. A compacted start revision also returns false.
    bool watch(const std::string& prefix, int64_t start_revision, const std::function<void(const std::vector<EtcdEvent>&)>& on_events,
               const std::atomic<bool>& stop);

private:
    nlohmann::json call(const std::string& path, const nlohmann::json& body);
    // Endpoints in the order to try: the one that answered last, then those that have not failed
    // lately, then the rest.
    std::vector<size_t> try_order();
    void failed(size_t endpoint);

    std::vector<std::string> endpoints_;
    int timeout_ms_;
    std::mutex mu_;
    size_t preferred_ = 0;  // the endpoint that answered last
    std::vector<int64_t> failed_until_ms_;  // per endpoint: tried last only until then
};

// The end of a prefix range in etcd's sense: the prefix with its last byte incremented.
std::string etcd_prefix_end(const std::string& prefix);

}  // namespace xinfer
