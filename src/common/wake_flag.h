// A one-shot wake-up from one thread to another on a Linux futex: post() sets the flag and wakes
// the thread in wait(), which clears it. Why not std::binary_semaphore or std::atomic::wait:
// libstdc++'s (GCC 12) spin with sched_yield before they sleep, and on a busy two-core machine
// those yields are context switches (measured: 3.7 -> 6.0 per text in the embedding engine).
// Each wait() is matched by exactly one post().
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace xinfer {

class WakeFlag {
public:
    void wait() {
        while (flag_.exchange(0, std::memory_order_acquire) == 0)
            syscall(SYS_futex, &flag_, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);  // returns at once if posted meanwhile
    }
    // What the posting thread wrote before post() is visible to the waiter after wait(). The
    // waiter may return (and its flag be gone) before the wake call: the kernel ignores a wake
    // with no waiter, and nothing is written after the store.
    void post() {
        flag_.store(1, std::memory_order_release);
        syscall(SYS_futex, &flag_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }

private:
    std::atomic<uint32_t> flag_{0};
};

}  // namespace xinfer
