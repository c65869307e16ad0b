// One running copy of a model: an engine child process serving OpenAI-style HTTP on a private
// address. The replica knows its process and its readiness; the supervisor decides what to do
// when it ends.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "common/connection_pool.h"
#include "engines/llama_server/llama_server_command.h"

namespace xinfer {

class Replica {
public:
    Replica(std::string model_uid, int index, EngineCommand command, std::string address,
            std::string log_path);
    ~Replica();

    // Spawns the engine. on_exit runs (on the reaper thread) when the process ends for any
    // reason; the caller tells expected stops from crashes. Throws on spawn failure.
    void start(std::function<void(int wait_status)> on_exit);

    // Polls the engine's /health until it answers 200. Returns an empty string when ready,
    // otherwise why not: the process ended (with its log tail), timed out, or was cancelled.
    std::string wait_until_ready(std::chrono::seconds timeout, const std::atomic<bool>& cancel);

    // SIGTERM, then SIGKILL after a grace period; returns when the process is gone.
    void stop();

    bool running() const { return running_.load(); }
    // Running and answered /health since it started: requests may go to it (a replica added to a
    // serving model is not sent requests while it loads).
    bool healthy() const { return running_.load() && healthy_.load(); }
    pid_t pid() const { return pid_; }
    int index() const { return index_; }
    const std::string& address() const { return address_; }
    const std::string& log_path() const { return log_path_; }
    std::string exit_reason() const;
    int exit_status() const;  // the engine's wait status once it has exited (-1 before)
    const EngineCommand& command() const { return command_; }

    std::atomic<int> in_flight{0};
    ConnectionPool& connections() { return connections_; }  // keep-alive connections to this engine

private:
    std::string uid_;
    int index_;
    EngineCommand command_;
    std::string address_, log_path_;
    ConnectionPool connections_;
    pid_t pid_ = -1;
    std::atomic<bool> running_{false};
    std::atomic<bool> healthy_{false};
    mutable std::mutex mu_;
    std::string exit_reason_;
    int exit_status_ = -1;
};

}  // namespace xinfer
