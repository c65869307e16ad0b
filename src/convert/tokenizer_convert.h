// Tokenizers of Hugging Face folders, written as the tokenizer.* keys llama.cpp reads, so the
// converted GGUF splits text into the same token ids as the original tokenizer.
#pragma once

#include <cstdint>
#include <string>

#include "convert/hf_folder.h"

struct gguf_context;

namespace xinfer {

struct WordPieceVocab {
    int64_t size = 0;
    std::string cls, sep;  // the texts of the classification and separator tokens
};

// WordPiece (BERT family: vocab.txt, or tokenizer.json with a WordPiece model), with the
// normalizer options (lowercase, strip accents) and special tokens of the folder. Throws
// ConvertError when the folder has no WordPiece vocabulary or lacks a required special token.
WordPieceVocab add_wordpiece_tokenizer(const HfFolder& folder, gguf_context* out);

}  // namespace xinfer
