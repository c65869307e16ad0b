#include "api/elastic_thread_pool.h"

namespace xinfer {

ElasticThreadPool::ElasticThreadPool(size_t base, size_t max, std::chrono::seconds idle_exit)
    : base_(std::max<size_t>(1, base)), max_(std::max(max, std::max<size_t>(1, base))), idle_exit_(idle_exit) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < base_; ++i, ++threads_) std::thread([this] { work(false); }).detach();
}

ElasticThreadPool::~ElasticThreadPool() { shutdown(); }

bool ElasticThreadPool::enqueue(std::function<void()> fn) {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return false;
        jobs_.push_back(std::move(fn));
        // Every waiting job needs a thread of its own: idle threads count only once each.
        if (jobs_.size() > idle_ && threads_ < max_) {
            ++threads_;
            std::thread([this] { work(true); }).detach();
        }
    }
    // Outside the lock: a thread woken while it is held sleeps again at once, waiting for it.
    // (The pool is still there: the accept loops make every enqueue call, and the shutdown call
    // comes after every loop has ended; see accept_loops.h.)
    cv_.notify_one();
    return true;
}

void ElasticThreadPool::work(bool extra) {
    std::unique_lock lock(mu_);
    for (;;) {
        ++idle_;
        const bool woke = cv_.wait_for(lock, idle_exit_, [&] { return stopping_ || !jobs_.empty(); });
        --idle_;
        if (jobs_.empty() && (stopping_ || (!woke && extra))) break;  // an extra thread idle too long leaves
        if (jobs_.empty()) continue;
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job();
        lock.lock();
    }
    if (--threads_ == 0) all_gone_.notify_all();
}

void ElasticThreadPool::shutdown() {
    std::unique_lock lock(mu_);
    stopping_ = true;
    cv_.notify_all();
    all_gone_.wait(lock, [&] { return threads_ == 0; });
}

}  // namespace xinfer
