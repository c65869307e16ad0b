// Requests and tokens per minute for one API key: a sliding one-minute window of what the key
// used, so a burst at the end of one minute and the start of the next is still one minute's use.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace xinfer {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    // Admits one request for `key` when it is under both limits (0: unlimited) and counts it.
    // Returns 0 when admitted, else the seconds until it would be (for Retry-After); `which`
    // names the limit hit ("requests per minute" or "tokens per minute").
    int admit(const std::string& key, int rpm, int tpm, std::string* which = nullptr);
    // Counts tokens a request of `key` read and wrote (charged after the answer).
    void charge_tokens(const std::string& key, uint64_t tokens);
    // Forgets a key (revoked).
    void forget(const std::string& key);

private:
    struct Window {
        std::deque<std::pair<Clock::time_point, uint64_t>> requests, tokens;
        uint64_t token_sum = 0;
    };
    static void expire(Window& w, Clock::time_point now);
    std::mutex mu_;
    std::map<std::string, Window> windows_;
};

}  // namespace xinfer
