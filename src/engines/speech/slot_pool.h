// A fixed set of decoding slots for a speech engine: each slot is a long-lived compute thread
// that owns one engine state (whisper.cpp's whisper_state, a llama_context for llama.cpp's audio
// models), so concurrent requests decode in parallel on their own state instead of queueing
// behind a global lock, and a kept state saves its allocation per request.
//
// Why dedicated threads rather than decoding on the caller's (an HTTP worker's) thread: ggml's
// OpenMP runtime keeps a thread team per calling thread, and once the teams together hold more
// threads than there are CPUs it stops spin-waiting at barriers and sleeps instead; whisper then
// ran ~20% slower behind the HTTP server than in a plain program. A fixed caller per slot keeps
// the teams at `concurrency` x `threads`.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace xinfer {

template <class State>
class SlotPool {
public:
    SlotPool() = default;
    SlotPool(const SlotPool&) = delete;
    SlotPool& operator=(const SlotPool&) = delete;
    ~SlotPool() { stop(); }

    // Starts a slot that owns `state`; `free_state` releases it on the slot's thread when the pool stops.
    void add(State* state, std::function<void(State*)> free_state) {
        slots_.emplace_back([this, state, free_state = std::move(free_state)] {
            loop(state);
            free_state(state);
        });
    }

    // Runs `job` on the next free slot and waits for it; the job's exception comes back here.
    template <class Result>
    Result run(const std::function<Result(State*)>& job) {
        std::promise<Result> result;
        auto done = result.get_future();
        {
            std::lock_guard lock(mu_);
            queue_.push_back([&](State* state) {
                try {
                    result.set_value(job(state));
                } catch (...) {
                    result.set_exception(std::current_exception());
                }
            });
        }
        work_ready_.notify_one();
        return done.get();
    }

    // Lets queued work finish, then stops every slot (freeing its state). Idempotent.
    void stop() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        work_ready_.notify_all();
        for (auto& t : slots_)
            if (t.joinable()) t.join();
        slots_.clear();
    }

private:
    void loop(State* state) {
        for (;;) {
            std::function<void(State*)> job;
            {
                std::unique_lock lock(mu_);
                work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;  // stopping, nothing left to do
                job = std::move(queue_.front());
                queue_.pop_front();
            }
            job(state);
        }
    }

    std::mutex mu_;
    std::condition_variable work_ready_;
    std::deque<std::function<void(State*)>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> slots_;
};

}  // namespace xinfer
