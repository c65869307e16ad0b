// The merging of concurrent requests into engine calls (call_merger.h), on real threads: a lone
// request goes at once and alone; requests that arrive while the engine has no room ride in one
// call, each told when its call is done; a batch never takes more than its item budget; calls at
// once never exceed the limit.
#include "api/call_merger.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <utility>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace xinfer;
using namespace std::chrono_literals;

namespace {

struct Request {
    int id = 0;
    int call = -1;  // which call carried it, set by the call
};

// Records each call's members; a call waits for `release` while `hold` is set.
struct Engine {
    std::mutex mu;
    std::vector<std::vector<int>> calls;
    std::atomic<int> in_flight{0}, most_in_flight{0};
    std::promise<void> release;
    std::shared_future<void> released{release.get_future().share()};
    std::atomic<bool> hold{false};
    std::atomic<int> started{0};
    std::once_flag released_once;

    void let_go() { std::call_once(released_once, [this] { release.set_value(); }); }

    void run(std::vector<Request*>& members) {
        const int now = ++in_flight;
        for (int m = most_in_flight.load(); now > m && !most_in_flight.compare_exchange_weak(m, now);) {}
        ++started;
        if (hold) released.wait();
        {
            std::lock_guard lock(mu);
            std::vector<int> ids;
            for (Request* r : members) {
                ids.push_back(r->id);
                r->call = static_cast<int>(calls.size());
            }
            calls.push_back(ids);
        }
        --in_flight;
    }
};

// The test's threads: on the way out (an ASSERT that returns early too) the engine lets its held
// calls go and every thread is joined, so a failure fails one test instead of aborting them all.
struct Threads {
    Engine& engine;
    std::vector<std::thread> list;
    template <class F>
    void emplace_back(F&& f) { list.emplace_back(std::forward<F>(f)); }
    void join() {
        engine.let_go();
        for (auto& t : list)
            if (t.joinable()) t.join();
    }
    ~Threads() { join(); }
};

template <class Pred>
bool eventually(Pred pred) {
    for (int i = 0; i < 500; ++i) {
        if (pred()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}

}  // namespace

TEST(CallMerger, ALoneRequestGoesAtOnceAndAlone) {
    CallMerger<Request> merger;
    Engine engine;
    Request r{7};
    merger.join("m", 1, 64, r, 1, [&](std::vector<Request*>& ms) { engine.run(ms); });
    ASSERT_EQ(engine.calls.size(), 1u);
    EXPECT_EQ(engine.calls[0], std::vector<int>{7});
    EXPECT_EQ(r.call, 0);
}

TEST(CallMerger, RequestsThatWaitForRoomRideInOneCall) {
    CallMerger<Request> merger;
    Engine engine;
    engine.hold = true;
    auto run = [&](std::vector<Request*>& ms) { engine.run(ms); };
    std::vector<Request> reqs(6);
    for (int i = 0; i < 6; ++i) reqs[i].id = i;
    Threads threads{engine, {}};
    // The first takes the only room and is held at the engine.
    threads.emplace_back([&] { merger.join("m", 1, 64, reqs[0], 1, run); });
    ASSERT_TRUE(eventually([&] { return engine.started == 1; }));
    // The rest arrive meanwhile: one leads, four join it.
    for (int i = 1; i < 6; ++i) threads.emplace_back([&, i] { merger.join("m", 1, 64, reqs[i], 1, run); });
    ASSERT_TRUE(eventually([&] { return merger.waiting("m") == 5; }));
    EXPECT_EQ(engine.started, 1) << "no second call while the engine has no room";
    engine.let_go();
    threads.join();
    ASSERT_EQ(engine.calls.size(), 2u);
    EXPECT_EQ(engine.calls[0], std::vector<int>{0});
    std::vector<int> second = engine.calls[1];
    std::sort(second.begin(), second.end());
    EXPECT_EQ(second, (std::vector<int>{1, 2, 3, 4, 5}));
    for (int i = 1; i < 6; ++i) EXPECT_EQ(reqs[i].call, 1) << "each returned after its own call was done";
    EXPECT_EQ(engine.most_in_flight, 1);
}

TEST(CallMerger, ABatchKeepsToItsItemBudgetAndCallsToTheLimit) {
    CallMerger<Request> merger;
    Engine engine;
    engine.hold = true;
    auto run = [&](std::vector<Request*>& ms) { engine.run(ms); };
    std::vector<Request> reqs(12);
    Threads threads{engine, {}};
    for (int i = 0; i < 2; ++i) {  // two calls take the limit of 2
        reqs[i].id = i;
        threads.emplace_back([&, i] { merger.join("m", 2, 10, reqs[i], 3, run); });
    }
    ASSERT_TRUE(eventually([&] { return engine.started == 2; }));
    for (int i = 2; i < 12; ++i) {  // ten of 3 items each, batches of at most 10 items: 3 a batch
        reqs[i].id = i;
        threads.emplace_back([&, i] { merger.join("m", 2, 10, reqs[i], 3, run); });
    }
    ASSERT_TRUE(eventually([&] { return merger.waiting("m") == 10; }));
    engine.let_go();
    threads.join();
    size_t carried = 0;
    for (auto& c : engine.calls) {
        EXPECT_LE(c.size(), 3u) << "at most 10 items a call";
        carried += c.size();
    }
    EXPECT_EQ(carried, 12u);
    EXPECT_EQ(engine.calls.size(), 2u + 4u) << "the ten waiting requests went in four calls (3, 3, 3, 1)";
    EXPECT_LE(engine.most_in_flight, 2);
}

TEST(CallMerger, ModelsAreMergedApart) {
    CallMerger<Request> merger;
    Engine engine;
    engine.hold = true;
    auto run = [&](std::vector<Request*>& ms) { engine.run(ms); };
    std::vector<Request> reqs(6);
    reqs[1].id = 1;
    Threads threads{engine, {}};
    threads.emplace_back([&] { merger.join("a", 1, 64, reqs[0], 1, run); });
    threads.emplace_back([&] { merger.join("b", 1, 64, reqs[1], 1, run); });
    ASSERT_TRUE(eventually([&] { return engine.started == 2; })) << "each model has its own room";
    for (int i = 2; i < 6; ++i) {
        reqs[i].id = i;
        threads.emplace_back([&, i] { merger.join(i % 2 ? "b" : "a", 1, 64, reqs[i], 1, run); });
    }
    ASSERT_TRUE(eventually([&] { return merger.waiting("a") == 2 && merger.waiting("b") == 2; }));
    engine.let_go();
    threads.join();
    ASSERT_EQ(engine.calls.size(), 4u) << "each model's two waiting requests in one call";
    for (auto& c : engine.calls)
        for (int id : c) EXPECT_EQ(id % 2, c[0] % 2) << "a call holds one model's requests";
}

TEST(CallMerger, ACallThatThrowsFailsEveryMemberAndFreesTheEngine) {
    CallMerger<Request> merger;
    Engine engine;
    engine.hold = true;
    auto run = [&](std::vector<Request*>& ms) { engine.run(ms); };
    auto failing = [&](std::vector<Request*>& ms) {
        if (ms.size() > 1) throw std::runtime_error("merged call failed");
        engine.run(ms);
    };
    std::vector<Request> reqs(4);
    std::atomic<int> threw{0};
    Threads threads{engine, {}};
    threads.emplace_back([&] { merger.join("m", 1, 64, reqs[0], 1, run); });
    ASSERT_TRUE(eventually([&] { return engine.started == 1; }));
    for (int i = 1; i < 4; ++i)
        threads.emplace_back([&, i] {
            try {
                merger.join("m", 1, 64, reqs[i], 1, failing);
            } catch (const std::runtime_error& e) {
                if (std::string(e.what()) == "merged call failed") ++threw;
            }
        });
    ASSERT_TRUE(eventually([&] { return merger.waiting("m") == 3; }));
    engine.let_go();
    threads.join();
    EXPECT_EQ(threw, 3) << "the leader and both members got the call's error";
    Request after{9};
    merger.join("m", 1, 64, after, 1, run);  // the engine's room was given back
    EXPECT_EQ(after.call, 1);
}
