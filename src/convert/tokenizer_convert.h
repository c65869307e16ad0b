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
// normalizer options (lowercase, strip accents) and special tokens of the folder; padded with
// unused tokens up to `rows` (the embedding's rows, which llama.cpp needs to equal the tokens). Throws
// ConvertError when the folder has no WordPiece vocabulary or lacks a required special token.
WordPieceVocab add_wordpiece_tokenizer(const HfFolder& folder, int64_t rows, gguf_context* out);

struct UnigramVocab {
    int64_t size = 0;
    std::string bos, eos;  // texts of the sequence start and end tokens ("<s>", "</s>")
};

// SentencePiece Unigram (XLM-RoBERTa family) from tokenizer.json, or else from
// sentencepiece.bpe.model (renumbered as XLM-R's tokenizer does): pieces with their scores, the
// normalizer's precompiled character map, the word-start prefix and the special tokens, as
// llama.cpp's "t5" (UGM) tokenizer model reads them, padded to `rows` like WordPiece's. Throws ConvertError when neither file is
// there or the model is not Unigram.
UnigramVocab add_unigram_tokenizer(const HfFolder& folder, int64_t rows, gguf_context* out);

struct BpeVocab {
    int64_t size = 0;
    int64_t bos = -1, eos = -1;
};

// Byte-level BPE (Qwen2/Qwen3, Llama 3) from tokenizer.json: vocabulary, added tokens, merges and
// the pre-tokenizer llama.cpp must run. The vocabulary is padded to `vocab_size` (the embedding's
// rows) with unused tokens. Throws ConvertError when the split pattern is not one llama.cpp has.
BpeVocab add_bpe_tokenizer(const HfFolder& folder, int64_t vocab_size, gguf_context* out);

}  // namespace xinfer
