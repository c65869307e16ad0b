#include "common/memory_trim.h"

#include <malloc.h>

#include <thread>

namespace xinfer {

MemoryTrimmer& MemoryTrimmer::start(std::chrono::milliseconds quiet) {
    static MemoryTrimmer* self = [quiet] {
        // Blocks of 256 KiB and more (request bodies, audio, embedding batches) are mapped on
        // their own and unmapped when freed; two arenas are plenty for an I/O-bound gateway.
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        mallopt(M_ARENA_MAX, 2);
        // Start-up (the catalog's JSON, the database) peaks at a few MiB that are free by now.
        malloc_trim(0);
        auto* t = new MemoryTrimmer();  // lives as long as the process
        std::thread([t, quiet] {
            uint64_t seen = 0, trimmed_at = 0;
            for (;;) {
                std::this_thread::sleep_for(quiet);
                const uint64_t now = t->activity_.load(std::memory_order_relaxed);
                // Quiet for a whole period, after activity since the last trim.
                if (now == seen && now != trimmed_at) {
                    malloc_trim(0);
                    trimmed_at = now;
                    t->trims_++;
                }
                seen = now;
            }
        }).detach();
        return t;
    }();
    return *self;
}

}  // namespace xinfer
