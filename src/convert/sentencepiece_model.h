// Reads a SentencePiece model file (`sentencepiece.bpe.model`, `tokenizer.model`): the protobuf
// ModelProto that Google's sentencepiece library writes. Only what a converter needs is read:
// the pieces with their scores and types, the model type, and the normalizer settings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace xinfer {

struct SentencePieceModel {
    enum class Type { unigram = 1, bpe = 2, word = 3, character = 4 };
    // SentencePiece's piece types, numbered as in its proto (and as GGUF's token types).
    enum PieceType { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };
    struct Piece {
        std::string text;
        float score = 0;
        int type = normal;
    };
    std::vector<Piece> pieces;
    Type type = Type::unigram;
    int unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
    bool byte_fallback = false;
    std::string precompiled_charsmap;  // the normalizer's compiled rules, raw bytes
    bool add_dummy_prefix = true;
    bool remove_extra_whitespaces = true;
};

// Throws std::runtime_error naming the file when it is not a SentencePiece model.
SentencePieceModel read_sentencepiece_model(const std::filesystem::path& file);

}  // namespace xinfer
