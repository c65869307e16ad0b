#include "registry/gguf_header.h"

#include <fcntl.h>
#include <unistd.h>

#include <ggml.h>

#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>
#include <vector>

namespace xinfer {

namespace {

// GGUF's value types, as the file format numbers them (gguf.h's enum gguf_type).
enum : uint32_t { kU8, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64 };
constexpr uint64_t kKeptString = 1u << 20;

size_t scalar_size(uint32_t type) {
    switch (type) {
        case kU8: case kI8: case kBool: return 1;
        case kU16: case kI16: return 2;
        case kU32: case kI32: case kF32: return 4;
        case kU64: case kI64: case kF64: return 8;
        default: return 0;
    }
}

// Sequential reads through a 1 MiB buffer; every read is checked against the end of the file.
class Reader {
public:
    explicit Reader(const std::filesystem::path& path) : path_(path.string()), fd_(::open(path_.c_str(), O_RDONLY | O_CLOEXEC)) {
        if (fd_ < 0) throw std::runtime_error("cannot open " + path_ + ": " + std::strerror(errno));
        const off_t end = ::lseek(fd_, 0, SEEK_END);
        size_ = end > 0 ? static_cast<uint64_t>(end) : 0;
        ::lseek(fd_, 0, SEEK_SET);
        buf_.resize(1u << 20);
    }
    ~Reader() { ::close(fd_); }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    uint64_t remaining() const { return size_ - pos_; }

    [[noreturn]] void corrupt(const std::string& why) const {
        throw std::runtime_error("GGUF header is corrupt or truncated (" + why + "): " + path_);
    }

    void read(void* out, size_t n) {
        if (n > remaining()) corrupt("ends early");
        auto* o = static_cast<char*>(out);
        while (n > 0) {
            if (at_ == have_) fill();
            const size_t k = std::min(n, have_ - at_);
            std::memcpy(o, buf_.data() + at_, k);
            o += k, n -= k, at_ += k, pos_ += k;
        }
    }
    template <typename T>
    T get() {
        T v;
        read(&v, sizeof v);
        return v;
    }
    void skip(uint64_t n) {
        if (n > remaining()) corrupt("ends early");
        const uint64_t buffered = have_ - at_;
        if (n <= buffered) {
            at_ += n, pos_ += n;
            return;
        }
        pos_ += n;
        at_ = have_ = 0;
        if (::lseek(fd_, static_cast<off_t>(pos_), SEEK_SET) < 0) corrupt("cannot seek");
    }
    // A GGUF string: u64 length, then bytes. Over `keep` bytes it is skipped and comes back empty.
    std::string string(uint64_t keep = std::numeric_limits<uint64_t>::max()) {
        const uint64_t n = get<uint64_t>();
        if (n > remaining()) corrupt("a string longer than the file");
        if (n > keep) {
            skip(n);
            return {};
        }
        std::string s(n, '\0');
        read(s.data(), n);
        return s;
    }

private:
    void fill() {
        ssize_t got;
        do got = ::read(fd_, buf_.data(), buf_.size());
        while (got < 0 && errno == EINTR);
        if (got <= 0) corrupt("ends early");
        at_ = 0;
        have_ = static_cast<size_t>(got);
    }

    std::string path_;
    int fd_;
    uint64_t size_ = 0, pos_ = 0;
    std::vector<char> buf_;
    size_t at_ = 0, have_ = 0;
};

int64_t clamp_u64(uint64_t v) { return v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v); }

void read_value(Reader& r, GgufHeader& h, const std::string& key, uint32_t type) {
    switch (type) {
        case kU8: h.integers[key] = r.get<uint8_t>(); break;
        case kI8: h.integers[key] = r.get<int8_t>(); break;
        case kBool: h.booleans[key] = r.get<uint8_t>() != 0; break;
        case kU16: h.integers[key] = r.get<uint16_t>(); break;
        case kI16: h.integers[key] = r.get<int16_t>(); break;
        case kU32: h.integers[key] = r.get<uint32_t>(); break;
        case kI32: h.integers[key] = r.get<int32_t>(); break;
        case kU64: h.integers[key] = clamp_u64(r.get<uint64_t>()); break;
        case kI64: h.integers[key] = r.get<int64_t>(); break;
        case kF32: h.floats[key] = r.get<float>(); break;
        case kF64: h.floats[key] = r.get<double>(); break;
        case kString: h.strings[key] = r.string(kKeptString); break;
        case kArray: {
            const uint32_t element = r.get<uint32_t>();
            const uint64_t n = r.get<uint64_t>();
            if (element == kString) {
                // Each element at least its 8-byte length: a count beyond that cannot be in the file.
                if (n > r.remaining() / 8) r.corrupt("array '" + key + "' longer than the file");
                for (uint64_t i = 0; i < n; ++i) r.skip(r.get<uint64_t>());
            } else if (const size_t each = scalar_size(element)) {
                if (n > r.remaining() / each) r.corrupt("array '" + key + "' longer than the file");
                r.skip(n * each);
            } else {
                r.corrupt("array '" + key + "' of unknown type " + std::to_string(element));  // ggml refuses nested arrays too
            }
            h.array_lengths[key] = n;
            break;
        }
        default: r.corrupt("key '" + key + "' of unknown type " + std::to_string(type));
    }
}

}  // namespace

GgufHeader read_gguf_header(const std::filesystem::path& path) {
    Reader r(path);
    char magic[4] = {};
    if (r.remaining() >= 4) r.read(magic, 4);
    if (std::memcmp(magic, "GGUF", 4) != 0) throw std::runtime_error("not a GGUF file (bad magic): " + path.string());
    GgufHeader h;
    h.version = r.get<uint32_t>();
    if (h.version != 2 && h.version != 3)
        throw std::runtime_error("unsupported GGUF version " + std::to_string(h.version) + " (2 and 3 are read): " + path.string());
    h.tensor_count = r.get<uint64_t>();
    const uint64_t kv_count = r.get<uint64_t>();
    // The smallest key-value pair is 13 bytes and the smallest tensor record 24.
    if (kv_count > r.remaining() / 13) r.corrupt("more keys than the file can hold");
    if (h.tensor_count > r.remaining() / 24) r.corrupt("more tensors than the file can hold");
    std::set<std::string> keys;
    for (uint64_t i = 0; i < kv_count; ++i) {
        const std::string key = r.string(kKeptString);
        if (key.empty()) r.corrupt("an empty or oversized key");
        if (!keys.insert(key).second) r.corrupt("key '" + key + "' twice");
        read_value(r, h, key, r.get<uint32_t>());
    }
    // The data section's alignment, which each tensor's place in it follows.
    uint64_t alignment = 32;  // GGUF_DEFAULT_ALIGNMENT
    if (keys.count("general.alignment")) {
        auto it = h.integers.find("general.alignment");
        alignment = it == h.integers.end() ? 0 : static_cast<uint64_t>(it->second);
        if (alignment == 0 || alignment > UINT32_MAX || (alignment & (alignment - 1)) != 0)
            r.corrupt("general.alignment is not a power of two");
    }
    // What ggml checks of each tensor record: a short unique name, at most four dimensions, a
    // type it knows, a first dimension in whole blocks of that type, and data that follows the
    // previous tensor's (padded to the alignment).
    std::set<std::string> names;
    uint64_t data_end = 0;
    for (uint64_t t = 0; t < h.tensor_count; ++t) {
        const std::string name = r.string(GGML_MAX_NAME - 1);
        if (name.empty() || !names.insert(name).second) r.corrupt("a tensor name empty, too long or given twice");
        const uint32_t dims = r.get<uint32_t>();
        if (dims > GGML_MAX_DIMS) r.corrupt("a tensor with " + std::to_string(dims) + " dimensions");
        int64_t ne[GGML_MAX_DIMS] = {1, 1, 1, 1};
        uint64_t elements = 1;
        for (uint32_t d = 0; d < dims; ++d) {
            ne[d] = r.get<int64_t>();
            if (ne[d] < 0) r.corrupt("tensor '" + name + "' of negative size");
            const auto u = static_cast<uint64_t>(ne[d]);
            if (u != 0 && elements > static_cast<uint64_t>(INT64_MAX) / u) r.corrupt("tensor '" + name + "' of more than 2^63 elements");
            elements *= u;
        }
        // A type this ggml does not know (or one it retired, of size 0) is refused, as ggml does.
        const uint32_t type_id = r.get<uint32_t>();
        if (type_id >= GGML_TYPE_COUNT || ggml_type_size(static_cast<ggml_type>(type_id)) == 0)
            r.corrupt("tensor '" + name + "' of unknown type");
        const auto type = static_cast<ggml_type>(type_id);
        const auto block = static_cast<int64_t>(ggml_blck_size(type));
        if (block <= 0 || ne[0] % block != 0) r.corrupt("tensor '" + name + "' not in whole blocks of its type");
        if (r.get<uint64_t>() != data_end) r.corrupt("tensor '" + name + "' not where the previous one ends");
        const uint64_t blocks = elements / static_cast<uint64_t>(block), size = ggml_type_size(type);
        if (size != 0 && blocks > (UINT64_MAX - alignment) / size) r.corrupt("tensor '" + name + "' too large");
        const uint64_t padded = (blocks * size + alignment - 1) / alignment * alignment;
        if (padded > UINT64_MAX - data_end) r.corrupt("tensor data larger than 2^64 bytes");
        data_end += padded;
        h.parameter_count = elements > UINT64_MAX - h.parameter_count ? UINT64_MAX : h.parameter_count + elements;
    }
    return h;
}

}  // namespace xinfer
