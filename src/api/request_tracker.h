// In-flight inference requests that carry a client-chosen id (Xinference's `request_id` body
// field, or an X-Request-Id header), so that POST /v1/models/{uid}/requests/{id}/abort can stop
// one for real: its engine connection is shut down, the engine sees the client gone and stops
// generating, and the caller's answer ends. Requests without an id are not tracked (no cost).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace xinfer {

// One tracked request. The proxy records the engine socket it reads from; abort() shuts it down.
class InFlightRequest {
public:
    InFlightRequest(std::string model_uid, std::string id) : model_uid_(std::move(model_uid)), id_(std::move(id)) {}
    const std::string& id() const { return id_; }
    const std::string& model_uid() const { return model_uid_; }
    bool aborted() const { return aborted_; }

    void attach_socket(int fd);  // the engine connection, once open
    void detach_socket();        // before that socket is closed
    void abort();

private:
    std::string model_uid_, id_;
    std::mutex mu_;
    int fd_ = -1;
    std::atomic<bool> aborted_{false};
};

class RequestTracker {
public:
    // Starts tracking; throws ApiError 400 when the id is in flight already or was aborted less
    // than its block duration ago. The returned handle stops tracking when the last copy goes.
    std::shared_ptr<InFlightRequest> begin(const std::string& model_uid, const std::string& id);
    // Xinference's answer: "DONE" (aborted), "NOT_FOUND" (no such request in flight). Either way
    // the id is refused for block_seconds, so a late retry of an aborted request does not run.
    std::string abort(const std::string& model_uid, const std::string& id, int block_seconds);

private:
    void end(const std::string& id);
    std::mutex mu_;
    std::map<std::string, std::weak_ptr<InFlightRequest>> in_flight_;
    std::map<std::string, std::chrono::steady_clock::time_point> blocked_until_;
};

RequestTracker& request_tracker();

}  // namespace xinfer
