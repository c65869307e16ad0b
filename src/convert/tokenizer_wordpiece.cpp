// WordPiece as llama.cpp's "bert" tokenizer model stores it: a word-initial piece carries a
// leading U+2581 ("▁"), a continuation piece drops its "##", bracketed specials stay as they are.
#include <gguf.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "convert/tokenizer_convert.h"

namespace xinfer {

using json = nlohmann::json;

namespace {

std::vector<std::string> read_vocab(const HfFolder& folder) {
    std::vector<std::string> tokens;
    if (folder.has("tokenizer.json")) {
        json tj = folder.read_json("tokenizer.json");
        const json model = tj.value("model", json::object());
        if (model.value("type", "") == "WordPiece" && model.contains("vocab") && model["vocab"].is_object()) {
            std::map<int64_t, std::string> by_id;
            for (auto& [tok, id] : model["vocab"].items()) by_id[id.get<int64_t>()] = tok;
            for (auto& [id, tok] : by_id) {
                if (id != static_cast<int64_t>(tokens.size()))
                    throw ConvertError("tokenizer.json's WordPiece vocabulary has a gap at id " + std::to_string(tokens.size()));
                tokens.push_back(tok);
            }
            return tokens;
        }
    }
    std::ifstream in(folder.dir / "vocab.txt");
    if (!in) throw ConvertError("no WordPiece vocabulary in " + folder.dir.string() + " (vocab.txt, or tokenizer.json with a WordPiece model)");
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        tokens.push_back(line);
    }
    while (!tokens.empty() && tokens.back().empty()) tokens.pop_back();
    return tokens;
}

}  // namespace

WordPieceVocab add_wordpiece_tokenizer(const HfFolder& folder, int64_t rows, gguf_context* out) {
    std::vector<std::string> vocab = read_vocab(folder);
    if (vocab.empty()) throw ConvertError("the WordPiece vocabulary in " + folder.dir.string() + " is empty");

    std::map<std::string, int64_t> id_of;
    for (size_t i = 0; i < vocab.size(); ++i) id_of.emplace(vocab[i], static_cast<int64_t>(i));
    auto find = [&](const char* key, const char* fallback, bool required) -> int64_t {
        std::string text = folder.special_token(key, fallback);
        auto it = id_of.find(text);
        if (it != id_of.end()) return it->second;
        if (required) throw ConvertError("the special token " + std::string(key) + " (" + text + ") is not in the vocabulary");
        return -1;
    };
    const int64_t unk = find("unk_token", "[UNK]", true), cls = find("cls_token", "[CLS]", true),
                  sep = find("sep_token", "[SEP]", true), pad = find("pad_token", "[PAD]", false),
                  mask = find("mask_token", "[MASK]", false);

    std::vector<std::string> pieces;
    std::vector<int32_t> types;
    for (size_t i = 0; i < vocab.size(); ++i) {
        const std::string& t = vocab[i];
        const auto id = static_cast<int64_t>(i);
        const bool is_special = id == unk || id == cls || id == sep || id == pad || id == mask;
        if (t.size() >= 2 && t.front() == '[' && t.back() == ']') pieces.push_back(t);
        else if (t.rfind("##", 0) == 0) pieces.push_back(t.substr(2));
        else pieces.push_back("\xe2\x96\x81" + t);
        types.push_back(is_special ? 3 /* control */ : 1 /* normal */);
    }
    // llama.cpp needs one token per embedding row; rows past the vocabulary are never produced.
    for (auto i = static_cast<int64_t>(pieces.size()); i < rows; ++i) {
        pieces.push_back("[PAD" + std::to_string(i) + "]");
        types.push_back(5 /* unused */);
    }
    std::vector<const char*> ptrs;
    for (auto& p : pieces) ptrs.push_back(p.c_str());
    gguf_set_val_str(out, "tokenizer.ggml.model", "bert");
    gguf_set_val_str(out, "tokenizer.ggml.pre", "default");
    gguf_set_arr_str(out, "tokenizer.ggml.tokens", ptrs.data(), ptrs.size());
    gguf_set_arr_data(out, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
    gguf_set_val_u32(out, "tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(unk));
    gguf_set_val_u32(out, "tokenizer.ggml.cls_token_id", static_cast<uint32_t>(cls));
    gguf_set_val_u32(out, "tokenizer.ggml.seperator_token_id", static_cast<uint32_t>(sep));
    if (pad >= 0) gguf_set_val_u32(out, "tokenizer.ggml.padding_token_id", static_cast<uint32_t>(pad));
    if (mask >= 0) gguf_set_val_u32(out, "tokenizer.ggml.mask_token_id", static_cast<uint32_t>(mask));

    // BertNormalizer: lowercase (and, unless told otherwise, strip accents) as the folder says.
    bool lowercase = folder.tokenizer_config.value("do_lower_case", true);
    json strip = folder.tokenizer_config.value("strip_accents", json(nullptr));
    if (folder.has("tokenizer.json")) {
        json norm = folder.read_json("tokenizer.json").value("normalizer", json(nullptr));
        if (norm.is_object() && norm.value("type", "") == "BertNormalizer") {
            lowercase = norm.value("lowercase", lowercase);
            strip = norm.value("strip_accents", strip);
        }
    }
    gguf_set_val_bool(out, "tokenizer.ggml.normalizer.lowercase", lowercase);
    gguf_set_val_bool(out, "tokenizer.ggml.normalizer.strip_accents", strip.is_boolean() ? strip.get<bool>() : lowercase);
    return {static_cast<int64_t>(vocab.size()), vocab[cls], vocab[sep]};
}

}  // namespace xinfer
