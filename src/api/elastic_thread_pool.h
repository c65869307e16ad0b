// The HTTP server's threads: a few while idle, one more whenever a connection would otherwise
// wait (streams hold a thread for their whole length, so a queued connection could wait for a
// long answer to finish), up to a maximum; threads beyond the few leave after idling a while.
// (httplib's own pool spawns only when no thread is idle at the moment a job arrives, so a burst
// of connections can leave jobs queued behind long streams.)
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace xinfer {

class ElasticThreadPool final : public httplib::TaskQueue {
public:
    ElasticThreadPool(size_t base, size_t max, std::chrono::seconds idle_exit = std::chrono::seconds(5));
    ~ElasticThreadPool() override;
    bool enqueue(std::function<void()> fn) override;
    void shutdown() override;

private:
    void work(bool extra);
    const size_t base_, max_;
    const std::chrono::seconds idle_exit_;
    std::mutex mu_;
    std::condition_variable cv_, all_gone_;
    std::deque<std::function<void()>> jobs_;
    size_t threads_ = 0, idle_ = 0;
    bool stopping_ = false;
};

}  // namespace xinfer
