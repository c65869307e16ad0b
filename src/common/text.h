// Small text helpers shared across the service.
#pragma once

#include <string>

namespace xinfer {

// ASCII lower case (names, quantizations, header values).
std::string lower(std::string s);

// Lower-case hex of raw bytes (digests, secrets).
std::string to_hex(const std::string& bytes);

}  // namespace xinfer
