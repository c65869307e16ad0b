#include "api/request_tracker.h"

#include <sys/socket.h>

#include "common/errors.h"

namespace xinfer {

void InFlightRequest::attach_socket(int fd) {
    std::lock_guard lock(mu_);
    fd_ = fd;
    if (aborted_) ::shutdown(fd_, SHUT_RDWR);  // aborted while connecting
}

void InFlightRequest::detach_socket() {
    std::lock_guard lock(mu_);
    fd_ = -1;
}

void InFlightRequest::abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    // Shutting the socket down (not closing it: its owner still holds the descriptor) wakes the
    // reader at once and tells the engine its client is gone.
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

RequestTracker& request_tracker() {
    static RequestTracker tracker;
    return tracker;
}

std::shared_ptr<InFlightRequest> RequestTracker::begin(const std::string& model_uid, const std::string& id) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(blocked_until_, [&](auto& b) { return b.second <= now; });
    if (blocked_until_.count(id)) throw bad_request("The request has been aborted: " + id, "request_id");
    if (auto it = in_flight_.find(id); it != in_flight_.end() && !it->second.expired())
        throw bad_request("Duplicate request id: " + id + " is already in flight", "request_id");
    // The deleter ends tracking, so every way out of a request (answer, error, client gone) does.
    auto* raw = new InFlightRequest(model_uid, id);
    std::shared_ptr<InFlightRequest> req(raw, [this](InFlightRequest* r) {
        end(r->id());
        delete r;
    });
    in_flight_[id] = req;
    return req;
}

void RequestTracker::end(const std::string& id) {
    std::lock_guard lock(mu_);
    if (auto it = in_flight_.find(id); it != in_flight_.end() && it->second.expired()) in_flight_.erase(it);
}

std::string RequestTracker::abort(const std::string& model_uid, const std::string& id, int block_seconds) {
    std::shared_ptr<InFlightRequest> req;
    {
        std::lock_guard lock(mu_);
        if (block_seconds > 0) blocked_until_[id] = std::chrono::steady_clock::now() + std::chrono::seconds(block_seconds);
        if (auto it = in_flight_.find(id); it != in_flight_.end()) req = it->second.lock();
    }
    if (!req || req->model_uid() != model_uid) return "NOT_FOUND";
    req->abort();
    return "DONE";
}

}  // namespace xinfer
