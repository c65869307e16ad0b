#include "api/accept_loops.h"

#include <thread>
#include <vector>

namespace xinfer {

// Each accept loop's task queue (httplib makes one per listen call): the connection is served on
// the loop's own thread when another loop is still accepting, else in the pool.
class AcceptLoops::LoopQueue final : public httplib::TaskQueue {
public:
    explicit LoopQueue(AcceptLoops& loops) : loops_(loops) {}
    bool enqueue(std::function<void()> fn) override {
        if (loops_.accepting_.fetch_sub(1) > 1) {
            loops_.inline_++;
            fn();
            loops_.accepting_.fetch_add(1);
            return true;
        }
        loops_.accepting_.fetch_add(1);
        loops_.pooled_++;
        return loops_.pool_->enqueue(std::move(fn));
    }
    void shutdown() override {}  // the pool is shut down once every loop has ended

private:
    AcceptLoops& loops_;
};

AcceptLoops::AcceptLoops(std::unique_ptr<ElasticThreadPool> pool, int loops)
    : pool_(std::move(pool)), loops_(std::max(1, loops)), accepting_(loops_) {}

bool AcceptLoops::listen(httplib::Server& server) {
    server.new_task_queue = [this] { return new LoopQueue(*this); };
    // A loop that starts after stop() returns false at once; the others' answer counts then.
    std::atomic<bool> served{false};
    std::vector<std::thread> others;
    for (int i = 1; i < loops_; ++i)
        others.emplace_back([&server, &served] {
            if (server.listen_after_bind()) served = true;
        });
    if (server.listen_after_bind()) served = true;
    for (auto& t : others) t.join();
    pool_->shutdown();  // as httplib's loop ends: every connection served
    return served;
}

}  // namespace xinfer
