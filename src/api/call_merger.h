// Merges requests for one engine that arrive together into one engine call (the batchers of
// /v1/embeddings and /v1/rerank). No timer and no batching thread: the first request of a batch
// leads it: it waits until fewer than `limit` calls are under way at the engine, then makes the
// call for every request that joined meanwhile, on its own thread; the others sleep until it is
// done (each woken alone, on a futex of its own). A request that finds the engine with room goes
// at once, so one client sees no added latency, and under load each call carries everything that
// queued behind the last one.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/wake_flag.h"

namespace xinfer {

template <class Member>
class CallMerger {
public:
    // The call of one batch: fills each member's answer or error. What it throws, every member's
    // join throws (the engine is freed for the next batch either way).
    using Run = std::function<void(std::vector<Member*>& members)>;

    // Adds `me` (`items` inputs) to the open batch of `key` (a batch holds at most `max_items`
    // inputs) and returns once its call is done: made by this thread when it leads the batch.
    void join(const std::string& key, int limit, size_t max_items, Member& me, size_t items, const Run& run) {
        Group& g = group(key, limit);
        WakeFlag answered;
        std::unique_lock lock(g.mu);
        std::shared_ptr<Batch> batch = g.open;
        if (!batch || batch->taken || batch->items + items > max_items) {
            batch = std::make_shared<Batch>();
            g.open = batch;
        }
        batch->members.reserve(batch->members.size() + 1);  // both below, or neither (they cannot throw now)
        batch->answered.reserve(batch->answered.size() + 1);
        batch->members.push_back(&me);
        batch->answered.push_back(&answered);
        batch->items += items;
        ++g.waiting;
        if (batch->members.size() > 1) {
            lock.unlock();
            answered.wait();
            if (batch->failed) std::rethrow_exception(batch->failed);
            return;
        }
        // Leader: wait for room at the engine; whoever joins meanwhile rides along.
        g.room.wait(lock, [&] { return g.in_flight < g.limit; });
        batch->taken = true;
        g.waiting -= batch->members.size();
        if (g.open == batch) g.open.reset();
        ++g.in_flight;
        lock.unlock();
        try {
            run(batch->members);
        } catch (...) {
            batch->failed = std::current_exception();
        }
        lock.lock();
        --g.in_flight;
        g.room.notify_one();
        lock.unlock();
        // Woken after the lock is let go: a woken member does not at once sleep again on it.
        for (size_t k = 1; k < batch->answered.size(); ++k) batch->answered[k]->post();
        if (batch->failed) std::rethrow_exception(batch->failed);
    }

    // Requests of `key` waiting for their call to begin.
    size_t waiting(const std::string& key) {
        Group* g = nullptr;
        {
            std::lock_guard lock(mu_);
            auto it = groups_.find(key);
            if (it == groups_.end()) return 0;
            g = it->second.get();
        }
        std::lock_guard lock(g->mu);
        return g->waiting;
    }

private:
    struct Batch {
        std::vector<Member*> members;
        std::vector<WakeFlag*> answered;  // each member's, posted when the call is done
        size_t items = 0;
        bool taken = false;  // its leader is making the call: no more members
        std::exception_ptr failed;  // what the call threw
    };
    struct Group {
        std::mutex mu;
        std::condition_variable room;  // leaders wait here for an engine call to end
        int in_flight = 0;             // engine calls under way
        int limit = 4;
        size_t waiting = 0;            // requests in batches not yet taken
        std::shared_ptr<Batch> open;  // the batch new requests join
    };

    // Groups live as long as the merger (a few per model): the pointer stays valid.
    Group& group(const std::string& key, int limit) {
        std::lock_guard lock(mu_);
        auto& g = groups_[key];
        if (!g) {
            g = std::make_unique<Group>();
            g->limit = limit;
        }
        return *g;
    }

    std::mutex mu_;
    std::map<std::string, std::unique_ptr<Group>> groups_;
};

// For a batch's call that threw; call it from the catch block. Bad input (a 4xx: one request's
// fault) sends each request again alone, so a bad one gets exactly its own error, and counts in
// `refused`; an engine failure (5xx) is every request's error; an answer that could not be split
// back sends each alone. Members have `bool alone` and `std::optional<ApiError> error`.
template <class Member>
void settle_failed_call(std::vector<Member*>& members, std::atomic<uint64_t>& refused) {
    try {
        throw;
    } catch (const ApiError& e) {
        if (e.status() < 500) refused++;
        for (Member* m : members) e.status() < 500 ? void(m->alone = true) : void(m->error = e);
    } catch (const std::exception&) {
        for (Member* m : members) m->alone = true;
    }
}

}  // namespace xinfer
