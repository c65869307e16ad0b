// One line per event on stderr: time, level, then `key=value` context (model uid, request id).
#pragma once

#include <string>

namespace xinfer::log {

enum class Level { debug, info, warn, error };

void set_level(Level level);
void write(Level level, const std::string& message);

inline void debug(const std::string& m) { write(Level::debug, m); }
inline void info(const std::string& m) { write(Level::info, m); }
inline void warn(const std::string& m) { write(Level::warn, m); }
inline void error(const std::string& m) { write(Level::error, m); }

}  // namespace xinfer::log
