// Child processes: every engine replica is one. One long-lived thread forks and reaps all of
// them, because PR_SET_PDEATHSIG fires when the *forking thread* exits: forking from a
// short-lived launch thread would kill the child with it. The death signal is what keeps a
// crashed service from leaving orphan engines behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace xinfer {

struct SpawnSpec {
    std::vector<std::string> argv;  // argv[0] is the program path
    std::vector<std::string> env;   // extra NAME=VALUE pairs on top of ours
    std::string log_path;           // stdout+stderr appended here; empty = /dev/null
};

// Called on the reaper thread with the raw wait status once the child is gone.
using ExitCallback = std::function<void(int wait_status)>;

class ProcessManager {
public:
    static ProcessManager& instance();

    // Starts the child; throws std::runtime_error when fork/exec is impossible (the exec error
    // itself, e.g. a missing program, is reported through the exit status 127 and the log).
    pid_t spawn(const SpawnSpec& spec, ExitCallback on_exit);

    // SIGTERM, then SIGKILL after `grace`; returns once the child has been reaped.
    void terminate(pid_t pid, std::chrono::milliseconds grace);

    bool alive(pid_t pid);
    // Kills every child still running (service shutdown).
    void terminate_all(std::chrono::milliseconds grace);

    ProcessManager(const ProcessManager&) = delete;
    ProcessManager& operator=(const ProcessManager&) = delete;

private:
    ProcessManager();
    ~ProcessManager();
    struct Impl;
    Impl* impl_;
};

// "exited with status 1", "killed by signal 9 (Killed)"
std::string describe_wait_status(int wait_status);

// The last `max_lines` lines of a text file (engine logs in error messages).
std::string tail_lines(const std::string& path, size_t max_lines);

}  // namespace xinfer
