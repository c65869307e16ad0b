// Some virtual machines advertise Intel AMX in CPUID, and the kernel grants it, yet programs
// using its tile instructions fault (seen on a Firecracker VM on a Sapphire Rapids host: a tiny
// probe passes, while llama.cpp's Q8_0 kernels die of SIGILL, or SIGSEGV with two threads, in the
// first decode). ggml reaches those kernels through weight repacking (its "extra buffer types"),
// so every quantized model crashes on such a machine. xinfer's answer: an engine that crashes
// with repacking on is started once more with repacking off (llama.cpp's own switch,
// LLAMA_ARG_REPACK=0, read by llama-server and by xinfer's model host). If that run becomes
// ready, the kernels were the cause: repacking stays off for every engine from then on, and in
// later runs on this CPU (remembered in XINFER_HOME/repack-off). If it crashes too, the cause
// was something else and nothing is remembered.
#pragma once

#include <string>

#include "engines/llama_server/llama_server_command.h"

namespace xinfer::repack_fallback {

// True when engines start without repacked weights: the user set LLAMA_ARG_REPACK=0 (or
// false/off), or repacked kernels were found to crash on this CPU (now or in an earlier run).
bool active();

// An engine exit that may be the repacked kernels faulting: killed by SIGILL or SIGSEGV while
// its command had repacking on. The caller starts it once more with trial_command().
bool suspect(int wait_status, const EngineCommand& command);

// The command with repacking off, marked as the trial that engine_ready() confirms.
EngineCommand trial_command(EngineCommand command);

// The engine started with `command` became ready. After a trial, repacking stays off from now on.
void engine_ready(const EngineCommand& command, const std::string& model_uid);

// Adds LLAMA_ARG_REPACK=0 to the engine's environment when the fallback is active.
void apply(EngineCommand& command);

}  // namespace xinfer::repack_fallback
