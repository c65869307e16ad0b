// SentencePiece Unigram from a tokenizer.json or, when a folder has none, from its
// sentencepiece.bpe.model, written as llama.cpp's UGM ("t5") tokenizer: pieces, scores, token
// types, and the normalizer's precompiled character map (base64 in tokenizer.json, raw bytes in
// the model file and in GGUF) that turns text into SentencePiece's normal form.
#include <gguf.h>

#include <map>
#include <string>
#include <vector>

#include "convert/sentencepiece_model.h"
#include "convert/tokenizer_convert.h"

namespace xinfer {

using json = nlohmann::json;

namespace {

std::vector<uint8_t> base64_decode(const std::string& in) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+' || c == '-') return 62;
        if (c == '/' || c == '_') return 63;
        return -1;
    };
    std::vector<uint8_t> out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = value(c);
        if (v < 0) continue;  // padding, line breaks
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
        }
    }
    return out;
}

// The first component of a given type, looking inside a Sequence.
json find_component(const json& j, const std::string& type, const char* list_key) {
    if (!j.is_object()) return nullptr;
    if (j.value("type", "") == type) return j;
    if (j.value("type", "") == "Sequence" && j.contains(list_key))
        for (auto& part : j[list_key])
            if (part.value("type", "") == type) return part;
    return nullptr;
}

// A Unigram vocabulary, whichever file it came from.
struct UnigramSource {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    std::vector<int32_t> types;
    int64_t unk = -1;
    std::vector<uint8_t> charsmap;
    bool add_space_prefix = true;
    bool remove_extra_whitespaces = true;
};

UnigramSource from_tokenizer_json(const HfFolder& folder) {
    const json tj = folder.read_json("tokenizer.json");
    const json model = tj.value("model", json::object());
    if (model.value("type", "") != "Unigram" || !model.contains("vocab") || !model["vocab"].is_array())
        throw ConvertError("tokenizer.json in " + folder.dir.string() + " is not a SentencePiece Unigram model");
    UnigramSource u;
    for (auto& entry : model["vocab"]) {
        if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number())
            throw ConvertError("tokenizer.json's Unigram vocabulary has an entry that is not [piece, score]");
        u.pieces.push_back(entry[0]);
        u.scores.push_back(entry[1].get<float>());
    }
    u.unk = model.value("unk_id", 3);
    u.types.assign(u.pieces.size(), 1 /* normal */);
    for (auto& added : tj.value("added_tokens", json::array())) {
        const int64_t id = added.value("id", -1);
        if (id < 0 || id >= static_cast<int64_t>(u.pieces.size())) continue;
        u.types[id] = added.value("special", false) ? 3 /* control */ : 4 /* user-defined */;
    }
    const json precompiled = find_component(tj.value("normalizer", json(nullptr)), "Precompiled", "normalizers");
    const json metaspace = find_component(tj.value("pre_tokenizer", json(nullptr)), "Metaspace", "pretokenizers");
    if (metaspace.is_null())
        throw ConvertError("tokenizer.json's pre-tokenizer is not SentencePiece's Metaspace; xinfer cannot reproduce it");
    u.add_space_prefix = metaspace.value("prepend_scheme", metaspace.value("add_prefix_space", true) ? "always" : "never") != "never";
    if (precompiled.is_object() && precompiled.contains("precompiled_charsmap") && precompiled["precompiled_charsmap"].is_string())
        u.charsmap = base64_decode(precompiled["precompiled_charsmap"]);
    return u;
}

// XLM-RoBERTa's tokenizer renumbers SentencePiece's pieces the way fairseq did: <s> <pad> </s>
// <unk> first, every other piece one id further on, <mask> last (transformers'
// XLMRobertaTokenizer and its tokenizer.json converter do the same).
bool uses_fairseq_ids(const HfFolder& folder) {
    return folder.model_type == "xlm-roberta" ||
           folder.tokenizer_config.value("tokenizer_class", "").find("XLMRoberta") != std::string::npos;
}

UnigramSource from_sentencepiece(const HfFolder& folder, const std::string& file) {
    SentencePieceModel m;
    try {
        m = read_sentencepiece_model(folder.dir / file);
    } catch (const std::runtime_error& e) {
        throw ConvertError(e.what());
    }
    if (m.type != SentencePieceModel::Type::unigram)
        throw ConvertError(file + " in " + folder.dir.string() + " is a SentencePiece " +
                           (m.type == SentencePieceModel::Type::bpe ? "BPE" : "word/char") +
                           " model; xinfer converts SentencePiece Unigram models (XLM-RoBERTa family)");
    UnigramSource u;
    u.add_space_prefix = m.add_dummy_prefix;
    u.remove_extra_whitespaces = m.remove_extra_whitespaces;
    u.charsmap.assign(m.precompiled_charsmap.begin(), m.precompiled_charsmap.end());
    auto add = [&](const std::string& text, float score, int type) {
        u.pieces.push_back(text);
        u.scores.push_back(score);
        u.types.push_back(type);
    };
    if (!uses_fairseq_ids(folder)) {
        for (auto& p : m.pieces) add(p.text, p.score, p.type);
        u.unk = m.unk_id;
        return u;
    }
    if (m.pieces.size() < 3 || m.unk_id != 0 || m.bos_id != 1 || m.eos_id != 2)
        throw ConvertError(file + " in " + folder.dir.string() + " does not start with <unk> <s> </s> as XLM-RoBERTa's does");
    add("<s>", 0, SentencePieceModel::control);
    add("<pad>", 0, SentencePieceModel::control);
    add("</s>", 0, SentencePieceModel::control);
    add("<unk>", 0, SentencePieceModel::unknown);
    for (size_t i = 3; i < m.pieces.size(); ++i) add(m.pieces[i].text, m.pieces[i].score, m.pieces[i].type);
    add("<mask>", 0, SentencePieceModel::control);
    u.unk = 3;
    return u;
}

}  // namespace

UnigramVocab add_unigram_tokenizer(const HfFolder& folder, int64_t rows, gguf_context* out) {
    UnigramSource u;
    if (folder.has("tokenizer.json"))
        u = from_tokenizer_json(folder);
    else if (folder.has("sentencepiece.bpe.model"))
        u = from_sentencepiece(folder, "sentencepiece.bpe.model");
    else
        throw ConvertError("no tokenizer.json or sentencepiece.bpe.model in " + folder.dir.string());
    // llama.cpp needs one token per embedding row; rows past the vocabulary are never produced.
    for (auto i = static_cast<int64_t>(u.pieces.size()); i < rows; ++i) {
        u.pieces.push_back("[PAD" + std::to_string(i) + "]");
        u.scores.push_back(0);
        u.types.push_back(5 /* unused */);
    }
    const auto& pieces = u.pieces;
    if (u.unk >= 0 && u.unk < static_cast<int64_t>(pieces.size())) u.types[u.unk] = 2;  // unknown
    std::map<std::string, int64_t> id_of;
    for (size_t i = 0; i < pieces.size(); ++i) id_of.emplace(pieces[i], static_cast<int64_t>(i));
    auto id_for = [&](const char* key, const char* fallback) -> int64_t {
        auto it = id_of.find(folder.special_token(key, fallback));
        return it == id_of.end() ? -1 : it->second;
    };
    const int64_t bos = id_for("bos_token", "<s>"), eos = id_for("eos_token", "</s>"), pad = id_for("pad_token", "<pad>"),
                  mask = id_for("mask_token", "<mask>"), sep = id_for("sep_token", "</s>");
    if (bos < 0 || eos < 0) throw ConvertError("the tokenizer's <s> and </s> tokens are not in its vocabulary");

    std::vector<const char*> ptrs;
    for (auto& p : pieces) ptrs.push_back(p.c_str());
    gguf_set_val_str(out, "tokenizer.ggml.model", "t5");
    gguf_set_val_str(out, "tokenizer.ggml.pre", "default");
    gguf_set_arr_str(out, "tokenizer.ggml.tokens", ptrs.data(), ptrs.size());
    gguf_set_arr_data(out, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, u.scores.data(), u.scores.size());
    gguf_set_arr_data(out, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, u.types.data(), u.types.size());
    gguf_set_val_bool(out, "tokenizer.ggml.add_space_prefix", u.add_space_prefix);
    gguf_set_val_bool(out, "tokenizer.ggml.remove_extra_whitespaces", u.remove_extra_whitespaces);
    if (!u.charsmap.empty())
        gguf_set_arr_data(out, "tokenizer.ggml.precompiled_charsmap", GGUF_TYPE_UINT8, u.charsmap.data(), u.charsmap.size());
    gguf_set_val_u32(out, "tokenizer.ggml.bos_token_id", static_cast<uint32_t>(bos));
    gguf_set_val_u32(out, "tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos));
    if (u.unk >= 0) gguf_set_val_u32(out, "tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(u.unk));
    if (sep >= 0) gguf_set_val_u32(out, "tokenizer.ggml.seperator_token_id", static_cast<uint32_t>(sep));
    if (pad >= 0) gguf_set_val_u32(out, "tokenizer.ggml.padding_token_id", static_cast<uint32_t>(pad));
    if (mask >= 0) gguf_set_val_u32(out, "tokenizer.ggml.mask_token_id", static_cast<uint32_t>(mask));
    gguf_set_val_bool(out, "tokenizer.ggml.add_bos_token", true);
    gguf_set_val_bool(out, "tokenizer.ggml.add_eos_token", true);
    return {static_cast<int64_t>(pieces.size()), pieces[bos], pieces[eos]};
}

}  // namespace xinfer
