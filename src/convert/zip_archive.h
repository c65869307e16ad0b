// The entries of a zip archive held in memory (a mapped file), as PyTorch's torch.save writes it:
// every entry stored uncompressed, so each entry's bytes can be used in place. Reads the central
// directory, with ZIP64 sizes and offsets for archives over 4 GiB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace xinfer {

struct ZipEntry {
    const uint8_t* data = nullptr;
    size_t size = 0;
};

// Maps each entry name to its bytes. Throws std::runtime_error (prefixed with `what`, e.g. the
// file name) when the archive is malformed, truncated, or has a compressed entry.
std::map<std::string, ZipEntry> read_stored_zip(const uint8_t* data, size_t size, const std::string& what);

// True when the bytes start like a zip archive (a local file header).
bool looks_like_zip(const uint8_t* data, size_t size);

}  // namespace xinfer
