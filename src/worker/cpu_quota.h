// The CPU quota of the cgroup xinfer runs in (docker --cpus, systemd CPUQuota=, Kubernetes
// limits): how many cores' worth of time the kernel lets it use before it pauses every thread
// of the group until the next period. Cores that are idle are not free to use under a quota:
// any time spent on them is the group's, so work on idle cycles (the encoder's spare lane) would
// pause the engines that have work of their own.
#pragma once

#include <filesystem>
#include <string>

namespace xinfer {

// Cores' worth of CPU time the tightest quota on this process's cgroup or its parents allows; 0
// when there is none. Reads /proc/self/cgroup and /sys/fs/cgroup (v2 cpu.max, v1 cpu.cfs_*).
double cgroup_cpu_quota();
// The same from /proc/self/cgroup's text and a cgroup file system's root (for tests).
double cgroup_cpu_quota(const std::string& self_cgroup, const std::filesystem::path& root);

}  // namespace xinfer
