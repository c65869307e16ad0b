#include "worker/repack_fallback.h"

#include <sys/wait.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <functional>
#include <mutex>

#include "common/log.h"
#include "common/paths.h"

namespace xinfer::repack_fallback {

namespace {

const char* const kOff = "LLAMA_ARG_REPACK=0";
const char* const kTrial = "XINFER_REPACK_TRIAL=1";

std::mutex mu;
bool loaded = false;  // the marker file was read
bool found = false;   // repacked kernels crash on this CPU

// The CPU's feature flags, hashed: the marker holds for this CPU model and VM configuration only
// (a home folder moved to another machine does not keep the slower kernels for nothing).
std::string cpu_signature() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("flags", 0) == 0) return std::to_string(std::hash<std::string>{}(line));
    return "unknown";
}

std::filesystem::path marker() { return xinfer_home() / "repack-off"; }

bool user_turned_off() { return env_turns_off("LLAMA_ARG_REPACK"); }

bool has(const EngineCommand& command, const char* entry) {
    return std::find(command.env.begin(), command.env.end(), entry) != command.env.end();
}

// Caller holds mu.
void load_marker() {
    if (loaded) return;
    loaded = true;
    std::ifstream in(marker());
    std::string sig;
    if (in >> sig && sig == cpu_signature()) found = true;
}

}  // namespace

bool active() {
    if (user_turned_off()) return true;
    std::lock_guard lock(mu);
    load_marker();
    return found;
}

bool suspect(int wait_status, const EngineCommand& command) {
    if (wait_status < 0 || !WIFSIGNALED(wait_status)) return false;
    const int sig = WTERMSIG(wait_status);
    return (sig == SIGILL || sig == SIGSEGV) && !has(command, kOff) && !user_turned_off();
}

EngineCommand trial_command(EngineCommand command) {
    if (!has(command, kOff)) command.env.push_back(kOff);
    command.env.push_back(kTrial);
    return command;
}

void engine_ready(const EngineCommand& command, const std::string& model_uid) {
    if (!has(command, kTrial)) return;
    std::lock_guard lock(mu);
    load_marker();
    if (found) return;
    found = true;
    std::ofstream out(marker());
    out << cpu_signature() << "\n"
        << "Model " << model_uid << "'s engine crashed with llama.cpp's repacked-weight kernels (AMX on this CPU) "
        << "and ran without them, so engines start with LLAMA_ARG_REPACK=0 here. Delete this file to try again.\n";
    log::warn("model=" + model_uid +
              " its engine crashed with llama.cpp's repacked-weight kernels and runs without them: this CPU "
              "advertises instructions (AMX) it does not let programs use. Every engine now starts with "
              "LLAMA_ARG_REPACK=0 (remembered in " + marker().string() + ")");
}

void apply(EngineCommand& command) {
    if (active() && !has(command, kOff)) command.env.push_back(kOff);
}

}  // namespace xinfer::repack_fallback
