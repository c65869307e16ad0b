#include "auth/login_guard.h"

namespace xinfer {

namespace {
constexpr int kSlowAfter = 3, kLockAfter = 5;
constexpr auto kLockFor = std::chrono::seconds(60);
}  // namespace

int LoginGuard::refused_for(const std::string& address) {
    std::lock_guard lock(mu_);
    auto it = by_address_.find(address);
    if (it == by_address_.end()) return 0;
    const auto left = it->second.locked_until - std::chrono::steady_clock::now();
    return left > std::chrono::seconds(0) ? static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(left).count()) + 1 : 0;
}

std::chrono::milliseconds LoginGuard::after_attempt(const std::string& address, bool success) {
    std::lock_guard lock(mu_);
    if (success) {
        by_address_.erase(address);
        return std::chrono::milliseconds(0);
    }
    State& s = by_address_[address];
    ++s.failures;
    if (s.failures >= kLockAfter) s.locked_until = std::chrono::steady_clock::now() + kLockFor;
    if (by_address_.size() > 100000) by_address_.clear();  // bounded, whatever a flood of addresses does
    return s.failures >= kSlowAfter ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(0);
}

}  // namespace xinfer
