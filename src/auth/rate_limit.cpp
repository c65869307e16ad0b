#include "auth/rate_limit.h"

#include <algorithm>

namespace xinfer {

namespace {
constexpr auto kWindow = std::chrono::seconds(60);

int seconds_until(RateLimiter::Clock::time_point when, RateLimiter::Clock::time_point now) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when - now).count();
    return std::max<int>(1, static_cast<int>((ms + 999) / 1000));
}
}  // namespace

void RateLimiter::expire(Window& w, Clock::time_point now) {
    while (!w.requests.empty() && now - w.requests.front().first >= kWindow) w.requests.pop_front();
    while (!w.tokens.empty() && now - w.tokens.front().first >= kWindow) {
        w.token_sum -= w.tokens.front().second;
        w.tokens.pop_front();
    }
}

int RateLimiter::admit(const std::string& key, int rpm, int tpm, std::string* which) {
    if (rpm <= 0 && tpm <= 0) return 0;
    const auto now = Clock::now();
    std::lock_guard lock(mu_);
    Window& w = windows_[key];
    expire(w, now);
    if (rpm > 0 && w.requests.size() >= static_cast<size_t>(rpm)) {
        if (which) *which = "requests per minute";
        return seconds_until(w.requests.front().first + kWindow, now);
    }
    if (tpm > 0 && w.token_sum >= static_cast<uint64_t>(tpm)) {
        // Wait until enough of the minute's tokens fall out of the window to go under the limit.
        uint64_t left = w.token_sum;
        for (auto& [at, n] : w.tokens) {
            left -= n;
            if (left < static_cast<uint64_t>(tpm)) {
                if (which) *which = "tokens per minute";
                return seconds_until(at + kWindow, now);
            }
        }
    }
    w.requests.emplace_back(now, 1);
    return 0;
}

void RateLimiter::charge_tokens(const std::string& key, uint64_t tokens) {
    if (tokens == 0) return;
    std::lock_guard lock(mu_);
    Window& w = windows_[key];
    expire(w, Clock::now());
    w.tokens.emplace_back(Clock::now(), tokens);
    w.token_sum += tokens;
}

void RateLimiter::forget(const std::string& key) {
    std::lock_guard lock(mu_);
    windows_.erase(key);
}

}  // namespace xinfer
