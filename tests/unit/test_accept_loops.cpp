// AcceptLoops: connections are served by the thread that accepted them while another thread is
// left accepting, and once every other loop is busy (long requests, streams) new connections
// still get served, by the pool, and stop() ends every loop.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "api/accept_loops.h"

using namespace xinfer;

namespace {

// A server with /fast and /slow (held until release()), served by `loops` accept loops.
class LoopServer {
public:
    explicit LoopServer(int loops)
        : loops_(std::make_unique<ElasticThreadPool>(1, 16), loops) {
        server_.Get("/fast", [](const httplib::Request&, httplib::Response& res) { res.set_content("fast", "text/plain"); });
        server_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
            std::unique_lock lock(mu_);
            ++held_;
            changed_.notify_all();
            changed_.wait(lock, [&] { return released_; });
            res.set_content("slow", "text/plain");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { listened_ = loops_.listen(server_); });
        server_.wait_until_ready();
    }
    ~LoopServer() {
        release();
        server_.stop();
        thread_.join();
    }
    std::unique_ptr<httplib::Client> client() {
        auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
        c->set_read_timeout(10, 0);
        c->set_connection_timeout(10, 0);
        return c;
    }
    bool wait_held(int n) {
        std::unique_lock lock(mu_);
        return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return held_ >= n; });
    }
    void wait_accepting(int n) {
        for (int i = 0; i < 1000 && loops_.accepting() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    void release() {
        std::lock_guard lock(mu_);
        released_ = true;
        changed_.notify_all();
    }
    AcceptLoops& loops() { return loops_; }
    httplib::Server& server() { return server_; }
    std::thread& thread() { return thread_; }
    bool listened() const { return listened_; }

private:
    httplib::Server server_;
    AcceptLoops loops_;
    int port_ = 0;
    std::thread thread_;
    bool listened_ = false;
    std::mutex mu_;
    std::condition_variable changed_;
    int held_ = 0;
    bool released_ = false;
};

}  // namespace

TEST(AcceptLoops, AnAcceptingThreadServesWhatItAcceptedWhileAnotherAccepts) {
    LoopServer s(3);
    for (int i = 0; i < 20; ++i) {
        s.wait_accepting(2);  // a loop may still be closing the last connection (on a busy machine)
        auto r = s.client()->Get("/fast");
        ASSERT_TRUE(r) << httplib::to_string(r.error());
        EXPECT_EQ(r->body, "fast");
    }
    EXPECT_EQ(s.loops().served_by_acceptor(), 20);
    EXPECT_EQ(s.loops().handed_to_pool(), 0);
}

TEST(AcceptLoops, WhenOnlyOneLoopIsLeftAcceptingConnectionsGoToThePool) {
    LoopServer s(3);
    // Two requests held: two loops serve them, the third is the last one accepting.
    std::vector<std::future<std::string>> slow;
    for (int i = 0; i < 2; ++i) {
        slow.push_back(std::async(std::launch::async, [&s] {
            auto r = s.client()->Get("/slow");
            return r ? r->body : httplib::to_string(r.error());
        }));
        ASSERT_TRUE(s.wait_held(i + 1));
    }
    EXPECT_EQ(s.loops().served_by_acceptor(), 2);
    // More held requests and quick ones are all served meanwhile: by the pool.
    std::vector<std::future<std::string>> more;
    for (int i = 0; i < 3; ++i)
        more.push_back(std::async(std::launch::async, [&s] {
            auto r = s.client()->Get("/slow");
            return r ? r->body : httplib::to_string(r.error());
        }));
    ASSERT_TRUE(s.wait_held(5));
    for (int i = 0; i < 5; ++i) {
        auto r = s.client()->Get("/fast");
        ASSERT_TRUE(r) << httplib::to_string(r.error());
        EXPECT_EQ(r->body, "fast");
    }
    EXPECT_EQ(s.loops().served_by_acceptor(), 2);
    EXPECT_EQ(s.loops().handed_to_pool(), 8);
    s.release();
    for (auto& f : slow) EXPECT_EQ(f.get(), "slow");
    for (auto& f : more) EXPECT_EQ(f.get(), "slow");
    // The loops are free again (once they have closed their connections): the next connection
    // is served where it was accepted.
    s.wait_accepting(2);
    auto r = s.client()->Get("/fast");
    ASSERT_TRUE(r);
    EXPECT_EQ(s.loops().served_by_acceptor(), 3);
}

TEST(AcceptLoops, StopEndsEveryLoopAfterTheRequestsUnderWay) {
    auto s = std::make_unique<LoopServer>(4);
    auto held = std::async(std::launch::async, [&s] {
        auto r = s->client()->Get("/slow");
        return r ? r->body : httplib::to_string(r.error());
    });
    ASSERT_TRUE(s->wait_held(1));
    s->server().stop();
    s->release();
    EXPECT_EQ(held.get(), "slow");  // the request under way is answered
    s->thread().join();             // listen returned: every loop ended
    EXPECT_TRUE(s->listened());
    s->thread() = std::thread([] {});  // for the destructor's join
}
