// LatencySlice gives the calling thread a short EEVDF slice and gives the old one back; it keeps
// the thread's nice value (resetting it would undo a user's `nice xinfer`, or fail without
// privilege) and leaves threads of other policies alone. Read back from /proc/self/task/TID/sched;
// skipped where the kernel has no custom slices (before Linux 6.12).
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include "common/latency_slice.h"

namespace {

constexpr uint64_t kShort = 100000;  // 0.1 ms, the kernel's shortest

int tid() { return static_cast<int>(syscall(SYS_gettid)); }

// The thread's slice in ns, or 0 when the kernel does not show it.
uint64_t slice_of(int thread) {
    std::ifstream in("/proc/self/task/" + std::to_string(thread) + "/sched");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("se.slice", 0) == 0) return std::stoull(line.substr(line.find(':') + 1));
    return 0;
}

// Runs fn on a thread of its own, so that a failed check cannot leave the test runner's thread
// with a changed slice or priority.
template <typename Fn>
void on_fresh_thread(Fn fn) {
    std::thread t(fn);
    t.join();
}

// True when this kernel honours a custom slice (checked on a throwaway thread).
bool kernel_has_custom_slices() {
    bool yes = false;
    on_fresh_thread([&] {
        const uint64_t before = slice_of(tid());
        xinfer::LatencySlice s(kShort);
        yes = before != 0 && slice_of(tid()) == kShort;
    });
    return yes;
}

TEST(LatencySlice, ShortensTheThreadsSliceAndGivesTheOldOneBack) {
    if (!kernel_has_custom_slices()) GTEST_SKIP() << "this kernel has no custom time slices";
    on_fresh_thread([] {
        const uint64_t before = slice_of(tid());
        {
            xinfer::LatencySlice s(kShort);
            EXPECT_TRUE(s.active());
            EXPECT_EQ(slice_of(tid()), kShort);
        }
        EXPECT_EQ(slice_of(tid()), before);
    });
}

TEST(LatencySlice, AnEarlierCustomSliceComesBack) {
    if (!kernel_has_custom_slices()) GTEST_SKIP() << "this kernel has no custom time slices";
    on_fresh_thread([] {
        xinfer::LatencySlice outer(3000000);
        ASSERT_EQ(slice_of(tid()), 3000000u);
        { xinfer::LatencySlice inner(kShort); EXPECT_EQ(slice_of(tid()), kShort); }
        EXPECT_EQ(slice_of(tid()), 3000000u);
    });
}

TEST(LatencySlice, KeepsTheThreadsNiceValue) {
    if (!kernel_has_custom_slices()) GTEST_SKIP() << "this kernel has no custom time slices";
    on_fresh_thread([] {
        ASSERT_EQ(setpriority(PRIO_PROCESS, static_cast<id_t>(tid()), 7), 0);
        {
            xinfer::LatencySlice s(kShort);
            EXPECT_EQ(slice_of(tid()), kShort);
            EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(tid())), 7);
        }
        EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(tid())), 7);
    });
}

TEST(LatencySlice, LeavesABatchThreadAlone) {
    on_fresh_thread([] {
        sched_param p{};
        ASSERT_EQ(sched_setscheduler(tid(), SCHED_BATCH, &p), 0);
        const uint64_t before = slice_of(tid());
        xinfer::LatencySlice s(kShort);
        EXPECT_FALSE(s.active());
        EXPECT_EQ(slice_of(tid()), before);
        EXPECT_EQ(sched_getscheduler(tid()), SCHED_BATCH);
    });
}

}  // namespace
