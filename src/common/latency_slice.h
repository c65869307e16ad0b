// A short EEVDF time slice for the calling thread while it exists (Linux 6.12+, sched_setattr's
// sched_runtime for SCHED_OTHER; no privilege needed). A woken thread whose slice is shorter than
// the running one's preempts it at once instead of waiting until that one's slice ends, which the
// scheduler only checks at its next tick (4 ms at HZ=250). The gateway thread relaying a chat
// stream sleeps while the engine computes on every core and wakes for each token: without this,
// the first token sat in the gateway for up to a tick while the engine decoded the next one.
// Elsewhere (older kernels, seccomp) it does nothing.
#pragma once

#include <cstdint>

namespace xinfer {

class LatencySlice {
public:
    explicit LatencySlice(uint64_t slice_ns);
    ~LatencySlice();  // the thread's earlier slice again (from any thread)
    LatencySlice(const LatencySlice&) = delete;
    LatencySlice& operator=(const LatencySlice&) = delete;
    bool active() const { return tid_ != 0; }

private:
    int tid_ = 0;                // the thread given the slice; 0 when it was not changed
    uint64_t earlier_ns_ = 0;    // its custom slice before (0: the default)
};

}  // namespace xinfer
