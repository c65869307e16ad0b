#include "convert/zip_archive.h"

#include <cstring>
#include <stdexcept>

namespace xinfer {

namespace {

// Little-endian field readers; the caller has checked that the bytes are inside the archive.
uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t u32(const uint8_t* p) { return static_cast<uint32_t>(u16(p)) | static_cast<uint32_t>(u16(p + 2)) << 16; }
uint64_t u64(const uint8_t* p) { return static_cast<uint64_t>(u32(p)) | static_cast<uint64_t>(u32(p + 4)) << 32; }

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;

struct Directory {
    uint64_t entries = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
};

Directory find_directory(const uint8_t* data, size_t size, const std::string& what) {
    if (size < 22) throw std::runtime_error(what + ": too short to be a zip archive");
    // The end record is the last 22 bytes plus a comment of at most 65535 bytes.
    const size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
    for (size_t at = size - 22 + 1; at-- > lowest;) {
        if (u32(data + at) != kEndOfDirectory) continue;
        Directory d{u16(data + at + 10), u32(data + at + 16), u32(data + at + 12)};
        // ZIP64: the 32-bit fields are saturated and a locator precedes the end record.
        if (at >= 20 && u32(data + at - 20) == kZip64Locator) {
            const uint64_t end64 = u64(data + at - 20 + 8);
            if (end64 + 56 > size || u32(data + end64) != kZip64End)
                throw std::runtime_error(what + ": broken ZIP64 end of central directory");
            d.entries = u64(data + end64 + 32);
            d.size = u64(data + end64 + 40);
            d.offset = u64(data + end64 + 48);
        }
        if (d.offset > size || d.size > size - d.offset)
            throw std::runtime_error(what + ": central directory lies outside the file (truncated?)");
        return d;
    }
    throw std::runtime_error(what + ": no zip end-of-directory record (truncated, or not a zip archive)");
}

}  // namespace

bool looks_like_zip(const uint8_t* data, size_t size) { return size >= 4 && u32(data) == kLocalHeader; }

std::map<std::string, ZipEntry> read_stored_zip(const uint8_t* data, size_t size, const std::string& what) {
    const Directory dir = find_directory(data, size, what);
    std::map<std::string, ZipEntry> out;
    size_t at = dir.offset;
    const size_t end = dir.offset + dir.size;
    for (uint64_t i = 0; i < dir.entries; ++i) {
        if (at + 46 > end || u32(data + at) != kCentralHeader)
            throw std::runtime_error(what + ": malformed central directory entry " + std::to_string(i));
        const uint16_t method = u16(data + at + 10);
        uint64_t stored_size = u32(data + at + 20);
        uint64_t plain_size = u32(data + at + 24);
        const uint16_t name_len = u16(data + at + 28), extra_len = u16(data + at + 30), comment_len = u16(data + at + 32);
        uint64_t local = u32(data + at + 42);
        if (at + 46 + name_len + extra_len + comment_len > end)
            throw std::runtime_error(what + ": central directory entry " + std::to_string(i) + " runs past the directory");
        const std::string name(reinterpret_cast<const char*>(data + at + 46), name_len);
        // ZIP64 extended information: the saturated fields follow, in this order.
        for (size_t e = at + 46 + name_len; e + 4 <= at + 46 + name_len + extra_len;) {
            const uint16_t id = u16(data + e), len = u16(data + e + 2);
            if (id == 0x0001) {
                size_t f = e + 4;
                const size_t f_end = f + len;
                if (plain_size == 0xffffffff && f + 8 <= f_end) plain_size = u64(data + f), f += 8;
                if (stored_size == 0xffffffff && f + 8 <= f_end) stored_size = u64(data + f), f += 8;
                if (local == 0xffffffff && f + 8 <= f_end) local = u64(data + f);
            }
            e += 4 + len;
        }
        at += 46 + name_len + extra_len + comment_len;
        if (method != 0)
            throw std::runtime_error(what + ": entry " + name + " is compressed (method " + std::to_string(method) +
                                     "); PyTorch stores weights uncompressed, so this file was not written by torch.save");
        if (stored_size != plain_size) throw std::runtime_error(what + ": entry " + name + " has inconsistent sizes");
        if (local > size || size - local < 30 || u32(data + local) != kLocalHeader)
            throw std::runtime_error(what + ": entry " + name + " points at no local header");
        const uint64_t begin = local + 30 + u16(data + local + 26) + u16(data + local + 28);
        if (begin > size || stored_size > size - begin)
            throw std::runtime_error(what + ": entry " + name + " runs past the end of the file (truncated?)");
        out[name] = ZipEntry{data + begin, static_cast<size_t>(stored_size)};
    }
    return out;
}

}  // namespace xinfer
