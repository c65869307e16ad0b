// WakeFlag: the embedding engine's callers sleep on it until the compute thread has their outputs.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "common/wake_flag.h"

using xinfer::WakeFlag;
using namespace std::chrono_literals;

TEST(WakeFlag, PostedBeforeTheWaitReturnsAtOnceAndIsUsedUp) {
    WakeFlag flag;
    flag.post();
    flag.wait();  // would block forever had the post been lost
    auto second = std::async(std::launch::async, [&] { flag.wait(); });
    EXPECT_EQ(second.wait_for(200ms), std::future_status::timeout) << "one post wakes one wait, not two";
    flag.post();
    EXPECT_EQ(second.wait_for(5s), std::future_status::ready) << "a posted wake-up did not wake the waiter";
    while (second.wait_for(10ms) != std::future_status::ready) flag.post();  // let a failed run end
}

TEST(WakeFlag, TheWaiterSeesWhatWasWrittenBeforeThePost) {
    // Many rounds between two threads, as a caller and the compute thread take turns.
    WakeFlag to_worker, to_caller;
    std::vector<int> out(1);
    int rounds_seen_wrong = 0;
    std::thread worker([&] {
        for (int i = 1; i <= 20000; ++i) {
            to_worker.wait();
            out[0] = i;  // a plain write, made visible by the post
            to_caller.post();
        }
    });
    auto caller = std::async(std::launch::async, [&] {
        for (int i = 1; i <= 20000; ++i) {
            to_worker.post();
            to_caller.wait();
            if (out[0] != i) ++rounds_seen_wrong;
        }
    });
    EXPECT_EQ(caller.wait_for(60s), std::future_status::ready) << "a wake-up was lost";
    while (caller.wait_for(1ms) != std::future_status::ready) to_worker.post(), to_caller.post();  // let a failed run end
    worker.join();
    EXPECT_EQ(rounds_seen_wrong, 0);
}
