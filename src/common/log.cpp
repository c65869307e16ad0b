#include "common/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace xinfer::log {

namespace {
Level g_level = Level::info;
std::mutex g_mutex;
const char* name(Level l) {
    switch (l) {
        case Level::debug: return "DEBUG";
        case Level::info: return "INFO";
        case Level::warn: return "WARN";
        default: return "ERROR";
    }
}
}  // namespace

void set_level(Level level) { g_level = level; }

void write(Level level, const std::string& message) {
    if (level < g_level) return;
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    localtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    std::lock_guard lock(g_mutex);
    std::fprintf(stderr, "%s.%03d %-5s %s\n", stamp, static_cast<int>(ms), name(level),
                 message.c_str());
}

}  // namespace xinfer::log
