// Brute force at POST /token: after 3 failed logins in a row from one address each answer is
// slowed by a second; after 5 the address is refused (429 with Retry-After) for a minute. A
// success clears the address.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace xinfer {

class LoginGuard {
public:
    // Seconds the address must still wait (0: it may try now).
    int refused_for(const std::string& address);
    // Called after an attempt; returns how long to hold the (failed) answer back.
    std::chrono::milliseconds after_attempt(const std::string& address, bool success);

private:
    struct State {
        int failures = 0;
        std::chrono::steady_clock::time_point locked_until{};
    };
    std::mutex mu_;
    std::map<std::string, State> by_address_;
};

}  // namespace xinfer
