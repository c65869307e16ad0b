// Gives memory back to the system once a burst of requests is over. glibc keeps freed memory in
// its arenas for reuse (and raises its mmap threshold after large frees, so later large bodies
// come from the heap too); after load the service would stay at its peak. Here: large blocks
// always get their own mapping (returned when freed), the arenas are capped, and when no request
// has arrived for a couple of seconds after some did, malloc_trim returns the arenas' free pages.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace xinfer {

class MemoryTrimmer {
public:
    // Sets the allocator's limits and starts the background check (one thread, asleep mostly).
    static MemoryTrimmer& start(std::chrono::milliseconds quiet = std::chrono::milliseconds(2000));
    // Called for every request: there was activity.
    void touch() { activity_.fetch_add(1, std::memory_order_relaxed); }
    uint64_t trims() const { return trims_.load(); }

private:
    MemoryTrimmer() = default;
    std::atomic<uint64_t> activity_{0};
    std::atomic<uint64_t> trims_{0};
};

}  // namespace xinfer
