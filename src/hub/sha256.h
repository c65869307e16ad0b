// SHA-256, incremental (OpenSSL's EVP, from Debian's libssl): downloads hash what they write as
// they write it, so verifying a multi-gigabyte file costs no second read.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace xinfer {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, size_t n);
    void reset();  // forget everything updated so far
    // Lower-case hex of everything updated so far; the object is spent afterwards.
    std::string hex();

private:
    struct State;
    std::unique_ptr<State> s_;
};

// Feeds the first `bytes` of a file to `h` (a resumed download hashes what it already has).
void sha256_update_from_file(Sha256& h, const std::filesystem::path& file, uint64_t bytes);

// The SHA-256 of a whole file, lower-case hex.
std::string sha256_of_file(const std::filesystem::path& file);

}  // namespace xinfer
