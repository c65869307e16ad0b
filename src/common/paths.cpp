#include "common/paths.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace xinfer {

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return (v && *v) ? std::string(v) : fallback;
}

bool env_turns_off(const char* name) {
    std::string v = env_or(name);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return v == "0" || v == "false" || v == "off" || v == "disabled";
}

std::filesystem::path xinfer_home() {
    std::string home = env_or("XINFER_HOME", env_or("XINFERENCE_HOME"));
    if (home.empty()) home = env_or("HOME", "/tmp") + "/.xinfer";
    // Absolute: engine sockets are addressed by their path, which a relative home would make
    // depend on the working directory (and make_client reads only an absolute path as a socket).
    std::filesystem::path p = std::filesystem::absolute(home);
    std::filesystem::create_directories(p);
    return p;
}

std::filesystem::path home_subdir(const std::string& name) {
    auto p = xinfer_home() / name;
    std::filesystem::create_directories(p);
    return p;
}

std::filesystem::path executable_path() {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return std::filesystem::current_path() / "xinfer";
    buf[n] = 0;
    return std::filesystem::path(buf);
}

std::filesystem::path executable_dir() { return executable_path().parent_path(); }

}  // namespace xinfer
