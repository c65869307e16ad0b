#include "convert/sentencepiece_model.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace xinfer {

namespace {

// A protobuf message walked field by field (wire format: key varint = number << 3 | wire type).
class ProtoReader {
public:
    ProtoReader(const uint8_t* p, size_t n, const std::string& what) : p_(p), end_(p + n), what_(what) {}
    bool done() const { return p_ >= end_; }

    // The next field's number and wire type; its value is then read with varint()/fixed32()/bytes().
    void next(uint32_t& number, uint32_t& wire) {
        const uint64_t key = varint();
        number = static_cast<uint32_t>(key >> 3);
        wire = static_cast<uint32_t>(key & 7);
    }
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ >= end_) fail();
            const uint8_t b = *p_++;
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        fail();
    }
    float fixed32() {
        if (end_ - p_ < 4) fail();
        float f;
        std::memcpy(&f, p_, 4);
        p_ += 4;
        return f;
    }
    std::string bytes() {
        const uint64_t n = varint();
        if (n > static_cast<uint64_t>(end_ - p_)) fail();
        std::string s(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        return s;
    }
    void skip(uint32_t wire) {
        switch (wire) {
            case 0: varint(); return;
            case 1: advance(8); return;
            case 2: bytes(); return;
            case 5: advance(4); return;
            default: fail();
        }
    }

private:
    void advance(size_t n) {
        if (static_cast<size_t>(end_ - p_) < n) fail();
        p_ += n;
    }
    [[noreturn]] void fail() const { throw std::runtime_error(what_ + " is not a SentencePiece model (malformed protobuf)"); }
    const uint8_t* p_;
    const uint8_t* end_;
    const std::string& what_;
};

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

}  // namespace

SentencePieceModel read_sentencepiece_model(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string what = file.string();
    SentencePieceModel m;
    ProtoReader proto(u8(data), data.size(), what);
    uint32_t number, wire;
    while (!proto.done()) {
        proto.next(number, wire);
        if (wire != 2) {
            proto.skip(wire);
            continue;
        }
        const std::string sub = proto.bytes();
        ProtoReader r(u8(sub), sub.size(), what);
        if (number == 1) {  // repeated SentencePiece pieces: piece = 1, score = 2, type = 3
            SentencePieceModel::Piece piece;
            while (!r.done()) {
                r.next(number, wire);
                if (number == 1 && wire == 2) piece.text = r.bytes();
                else if (number == 2 && wire == 5) piece.score = r.fixed32();
                else if (number == 3 && wire == 0) piece.type = static_cast<int>(r.varint());
                else r.skip(wire);
            }
            m.pieces.push_back(std::move(piece));
        } else if (number == 2) {  // TrainerSpec
            while (!r.done()) {
                r.next(number, wire);
                if (wire != 0) {
                    r.skip(wire);
                    continue;
                }
                const auto v = static_cast<int64_t>(r.varint());
                if (number == 3) m.type = static_cast<SentencePieceModel::Type>(v);
                else if (number == 35) m.byte_fallback = v != 0;
                else if (number == 40) m.unk_id = static_cast<int>(v);
                else if (number == 41) m.bos_id = static_cast<int>(v);
                else if (number == 42) m.eos_id = static_cast<int>(v);
                else if (number == 43) m.pad_id = static_cast<int>(v);
            }
        } else if (number == 3) {  // NormalizerSpec
            while (!r.done()) {
                r.next(number, wire);
                if (number == 2 && wire == 2) m.precompiled_charsmap = r.bytes();
                else if (number == 3 && wire == 0) m.add_dummy_prefix = r.varint() != 0;
                else if (number == 4 && wire == 0) m.remove_extra_whitespaces = r.varint() != 0;
                else r.skip(wire);
            }
        }
    }
    if (m.pieces.empty()) throw std::runtime_error(what + " is not a SentencePiece model (it holds no pieces)");
    return m;
}

}  // namespace xinfer
