// Byte-level BPE (GPT-2 style: Qwen2/Qwen3, Llama 3) from tokenizer.json, written as llama.cpp's
// "gpt2" tokenizer model: the vocabulary in its byte-level spelling, added tokens after it, the
// merges, and the name of the pre-tokenizer llama.cpp must run, recognised from the regex
// tokenizer.json splits with (a tokenizer whose split llama.cpp has no name for is refused).
#include <gguf.h>

#include <map>
#include <string>
#include <vector>

#include "convert/tokenizer_convert.h"

namespace xinfer {

using json = nlohmann::json;

namespace {

// The split patterns of the pre-tokenizers llama.cpp implements, by the name it knows them by.
const std::map<std::string, std::string>& known_pre_tokenizers() {
    static const std::map<std::string, std::string> known = {
        {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)", "qwen2"},
        {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)", "llama-bpe"},
    };
    return known;
}

std::string split_regex(const json& pre) {
    auto from = [](const json& p) -> std::string {
        if (p.value("type", "") == "Split" && p.contains("pattern") && p["pattern"].contains("Regex")) return p["pattern"]["Regex"];
        return "";
    };
    if (!pre.is_object()) return "";
    if (pre.value("type", "") == "Sequence")
        for (auto& p : pre.value("pretokenizers", json::array()))
            if (auto r = from(p); !r.empty()) return r;
    return from(pre);
}

}  // namespace

BpeVocab add_bpe_tokenizer(const HfFolder& folder, int64_t vocab_size, gguf_context* out) {
    if (!folder.has("tokenizer.json")) throw ConvertError("no tokenizer.json in " + folder.dir.string());
    const json tj = folder.read_json("tokenizer.json");
    const json model = tj.value("model", json::object());
    if (model.value("type", "") != "BPE" || !model.contains("vocab") || !model["vocab"].is_object())
        throw ConvertError("tokenizer.json in " + folder.dir.string() + " is not a BPE model");
    const std::string regex = split_regex(tj.value("pre_tokenizer", json(nullptr)));
    auto pre = known_pre_tokenizers().find(regex);
    if (pre == known_pre_tokenizers().end())
        throw ConvertError("tokenizer.json splits text with a pattern llama.cpp has no pre-tokenizer for (" +
                           (regex.empty() ? std::string("none") : regex.substr(0, 60)) + "…); xinfer cannot reproduce it");

    std::map<int64_t, std::pair<std::string, int32_t>> by_id;  // id -> (text, type)
    for (auto& [tok, id] : model["vocab"].items()) by_id[id.get<int64_t>()] = {tok, 1 /* normal */};
    for (auto& added : tj.value("added_tokens", json::array()))
        by_id[added.value("id", int64_t{-1})] = {added.value("content", ""), added.value("special", false) ? 3 /* control */ : 4 /* user-defined */};
    by_id.erase(-1);
    const int64_t n = std::max<int64_t>(vocab_size, by_id.empty() ? 0 : by_id.rbegin()->first + 1);
    std::vector<std::string> tokens(static_cast<size_t>(n));
    std::vector<int32_t> types(static_cast<size_t>(n), 5 /* unused */);
    for (int64_t i = 0; i < n; ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";  // padding rows of the embedding
    for (auto& [id, tt] : by_id) {
        tokens[id] = tt.first;
        types[id] = tt.second;
    }
    std::vector<std::string> merges;
    for (auto& m : model.value("merges", json::array())) {
        if (m.is_string()) merges.push_back(m);
        else if (m.is_array() && m.size() == 2) merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    }
    std::vector<const char*> tp, mp;
    for (auto& t : tokens) tp.push_back(t.c_str());
    for (auto& m : merges) mp.push_back(m.c_str());
    gguf_set_val_str(out, "tokenizer.ggml.model", "gpt2");
    gguf_set_val_str(out, "tokenizer.ggml.pre", pre->second.c_str());
    gguf_set_arr_str(out, "tokenizer.ggml.tokens", tp.data(), tp.size());
    gguf_set_arr_data(out, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
    gguf_set_arr_str(out, "tokenizer.ggml.merges", mp.data(), mp.size());

    std::map<std::string, int64_t> id_of;
    for (auto& [id, tt] : by_id) id_of.emplace(tt.first, id);
    auto special = [&](const char* key, const char* config_key) -> int64_t {
        if (auto it = id_of.find(folder.special_token(key, "")); it != id_of.end()) return it->second;
        if (folder.config.contains(config_key) && folder.config[config_key].is_number_integer()) return folder.config[config_key];
        return -1;
    };
    BpeVocab v;
    v.size = n;
    v.bos = special("bos_token", "bos_token_id");
    v.eos = special("eos_token", "eos_token_id");
    const int64_t pad = special("pad_token", "pad_token_id");
    if (v.bos >= 0) gguf_set_val_u32(out, "tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.bos));
    if (v.eos >= 0) gguf_set_val_u32(out, "tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos));
    if (pad >= 0) gguf_set_val_u32(out, "tokenizer.ggml.padding_token_id", static_cast<uint32_t>(pad));
    // Whether a sequence starts with BOS: tokenizer_config says so, or (Llama 3) the post-processor
    // template of tokenizer.json puts the BOS token first.
    bool add_bos = folder.tokenizer_config.value("add_bos_token", false);
    const json post = tj.value("post_processor", json(nullptr));
    std::vector<json> processors;
    if (post.is_object() && post.value("type", "") == "Sequence") processors = post.value("processors", json::array()).get<std::vector<json>>();
    else if (post.is_object()) processors.push_back(post);
    for (auto& p : processors) {
        if (p.value("type", "") != "TemplateProcessing" || !p.contains("single") || p["single"].empty()) continue;
        const json& first = p["single"][0];
        if (first.contains("SpecialToken") && v.bos >= 0 && id_of.count(first["SpecialToken"].value("id", "")) &&
            id_of[first["SpecialToken"].value("id", "")] == v.bos)
            add_bos = true;
    }
    gguf_set_val_bool(out, "tokenizer.ggml.add_bos_token", add_bos);
    return v;
}

}  // namespace xinfer
