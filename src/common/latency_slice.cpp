#include "common/latency_slice.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace xinfer {
namespace {

// The kernel's struct sched_attr (glibc 2.36 has no wrapper); sizes past these fields are fine.
struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;  // for SCHED_OTHER: the custom slice in ns, 0 for the default
    uint64_t sched_deadline;
    uint64_t sched_period;
    uint32_t sched_util_min;
    uint32_t sched_util_max;
};
constexpr uint32_t kSchedOther = 0;
constexpr uint64_t kResetOnFork = 0x01;

// Sets the thread's slice, keeping its policy, nice value and flags (setting nice 0 on a thread
// that runs niced would need privilege and undo the user's choice).
bool set_slice(int tid, uint64_t slice_ns, uint64_t* earlier) {
    SchedAttr attr;
    std::memset(&attr, 0, sizeof attr);
    if (syscall(SYS_sched_getattr, tid, &attr, sizeof attr, 0) != 0) return false;
    if (attr.sched_policy != kSchedOther) return false;  // batch, idle, real-time: left alone
    if (earlier) *earlier = attr.sched_runtime;
    attr.size = sizeof attr;
    attr.sched_flags &= kResetOnFork;
    attr.sched_runtime = slice_ns;
    return syscall(SYS_sched_setattr, tid, &attr, 0) == 0;
}

}  // namespace

LatencySlice::LatencySlice(uint64_t slice_ns) {
    const int tid = static_cast<int>(syscall(SYS_gettid));
    if (set_slice(tid, slice_ns, &earlier_ns_)) tid_ = tid;
}

LatencySlice::~LatencySlice() {
    if (tid_) set_slice(tid_, earlier_ns_, nullptr);
}

}  // namespace xinfer
