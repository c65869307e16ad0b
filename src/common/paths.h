// Where xinfer keeps things: XINFER_HOME (state, logs, sockets) and the folder of its own binary
// (llama-server is looked up beside it).
#pragma once

#include <filesystem>
#include <string>

namespace xinfer {

// XINFER_HOME, else XINFERENCE_HOME, else ~/.xinfer. Created on first use.
std::filesystem::path xinfer_home();
std::filesystem::path home_subdir(const std::string& name);  // created if missing
std::filesystem::path executable_dir();
std::filesystem::path executable_path();  // this binary (the model host is started from it)

// Reads an environment variable, empty string when unset.
std::string env_or(const char* name, const std::string& fallback = "");
// True when the variable turns something off the way llama.cpp reads a switch: 0, false, off or
// disabled, in any case.
bool env_turns_off(const char* name);

}  // namespace xinfer
