// BERT encoders (bge, e5, gte, …): BertModel for embeddings, BertForSequenceClassification with
// one label for reranking (its pooler and classifier become llama.cpp's cls and cls.output).
#include <gguf.h>

#include <fstream>

#include "convert/architectures.h"
#include "convert/tokenizer_convert.h"

namespace xinfer {

using json = nlohmann::json;

namespace {

bool is_bert(const HfFolder& f) {
    if (f.architecture == "BertModel" || f.architecture == "BertForSequenceClassification") return true;
    return f.architecture.empty() && f.model_type == "bert";
}

int64_t config_int(const HfFolder& f, const char* key) {
    if (!f.config.contains(key) || !f.config[key].is_number_integer())
        throw ConvertError("config.json in " + f.dir.string() + " has no integer \"" + key + "\"");
    return f.config[key].get<int64_t>();
}

// Sentence-transformers' pooling (modules.json -> its Pooling module's config.json): 2 = CLS,
// 1 = mean, as llama.cpp numbers them. Without it, mean pooling.
uint32_t pooling_of(const HfFolder& f) {
    if (!f.has("modules.json")) return 1;
    for (auto& m : f.read_json("modules.json")) {
        if (m.value("type", "").find("Pooling") == std::string::npos) continue;
        const std::string cfg = m.value("path", "") + "/config.json";
        if (!f.has(cfg)) break;
        json p = f.read_json(cfg);
        if (p.value("pooling_mode_cls_token", false)) return 2;
        if (p.value("pooling_mode_mean_tokens", false)) return 1;
        if (p.value("pooling_mode_lasttoken", false)) return 3;
        throw ConvertError(cfg + " in " + f.dir.string() + " asks for a pooling llama.cpp does not have (use CLS, mean or last token)");
    }
    return 1;
}

ConversionPlan plan_bert(const HfFolder& f, const SafetensorsSet& w, gguf_context* meta, GgufStreamWriter& out,
                         const std::string& outtype) {
    const bool rerank = f.architecture == "BertForSequenceClassification";
    if (f.config.value("hidden_act", "gelu") != "gelu")
        throw ConvertError("config.json asks for activation '" + f.config.value("hidden_act", "") + "'; llama.cpp's BERT uses gelu");
    if (f.config.value("position_embedding_type", "absolute") != "absolute")
        throw ConvertError("config.json asks for position embeddings '" + f.config.value("position_embedding_type", "") +
                           "'; llama.cpp's BERT uses absolute ones");
    if (rerank) {
        int labels = 1;
        if (f.config.contains("id2label") && f.config["id2label"].is_object()) labels = static_cast<int>(f.config["id2label"].size());
        labels = f.config.value("num_labels", labels);
        if (labels != 1)
            throw ConvertError("a sequence classifier with " + std::to_string(labels) + " labels is not a reranker (it needs exactly 1)");
    }
    const int64_t n_layer = config_int(f, "num_hidden_layers");
    const WordPieceVocab vocab = add_wordpiece_tokenizer(f, meta);
    const int64_t n_vocab = vocab.size;
    // A pair as transformers builds it: [CLS] query [SEP] document [SEP]. llama-server's default
    // for a WordPiece vocabulary leaves out the last [SEP]; its rerank template puts it back.
    if (rerank)
        gguf_set_val_str(meta, "tokenizer.chat_template.rerank", (vocab.cls + "{query}" + vocab.sep + "{document}" + vocab.sep).c_str());
    gguf_set_val_str(meta, "general.architecture", "bert");
    gguf_set_val_u32(meta, "bert.context_length", static_cast<uint32_t>(config_int(f, "max_position_embeddings")));
    gguf_set_val_u32(meta, "bert.embedding_length", static_cast<uint32_t>(config_int(f, "hidden_size")));
    gguf_set_val_u32(meta, "bert.feed_forward_length", static_cast<uint32_t>(config_int(f, "intermediate_size")));
    gguf_set_val_u32(meta, "bert.block_count", static_cast<uint32_t>(n_layer));
    gguf_set_val_u32(meta, "bert.attention.head_count", static_cast<uint32_t>(config_int(f, "num_attention_heads")));
    gguf_set_val_f32(meta, "bert.attention.layer_norm_epsilon", f.config.value("layer_norm_eps", 1e-12f));
    gguf_set_val_bool(meta, "bert.attention.causal", false);
    gguf_set_val_u32(meta, "bert.pooling_type", rerank ? 4 : pooling_of(f));
    gguf_set_val_u32(meta, "tokenizer.ggml.token_type_count", static_cast<uint32_t>(f.config.value("type_vocab_size", 2)));

    // Models saved from a task head carry a "bert." prefix on the encoder's tensors.
    const std::string p = w.find("bert.embeddings.word_embeddings.weight") ? "bert." : "";
    auto t = [&](const std::string& name) -> const SourceTensor& { return require_tensor(w, p + name, f); };
    const SourceTensor& words = t("embeddings.word_embeddings.weight");
    if (words.shape.size() != 2 || words.shape[0] < n_vocab)
        throw ConvertError("the word embeddings have " + std::to_string(words.shape.empty() ? 0 : words.shape[0]) +
                           " rows but the vocabulary has " + std::to_string(n_vocab) + " tokens");
    add_copy(out, "token_embd.weight", words, outtype);
    // llama.cpp adds these two tables directly (not through a row lookup): they stay f32.
    add_copy(out, "token_types.weight", t("embeddings.token_type_embeddings.weight"), outtype, true);
    add_copy(out, "position_embd.weight", t("embeddings.position_embeddings.weight"), outtype, true);
    add_copy(out, "token_embd_norm.weight", t("embeddings.LayerNorm.weight"), outtype);
    add_copy(out, "token_embd_norm.bias", t("embeddings.LayerNorm.bias"), outtype);
    const std::pair<const char*, const char*> layer_map[] = {
        {"attention.self.query", "attn_q"},           {"attention.self.key", "attn_k"},
        {"attention.self.value", "attn_v"},           {"attention.output.dense", "attn_output"},
        {"attention.output.LayerNorm", "attn_output_norm"}, {"intermediate.dense", "ffn_up"},
        {"output.dense", "ffn_down"},                 {"output.LayerNorm", "layer_output_norm"}};
    for (int64_t i = 0; i < n_layer; ++i) {
        const std::string src = "encoder.layer." + std::to_string(i) + ".", dst = "blk." + std::to_string(i) + ".";
        for (auto& [hf, gg] : layer_map) {
            add_copy(out, dst + gg + ".weight", t(src + hf + ".weight"), outtype);
            add_copy(out, dst + gg + ".bias", t(src + hf + ".bias"), outtype);
        }
    }
    if (rerank) {
        add_copy(out, "cls.weight", t("pooler.dense.weight"), outtype);
        add_copy(out, "cls.bias", t("pooler.dense.bias"), outtype);
        add_copy(out, "cls.output.weight", require_tensor(w, "classifier.weight", f), outtype);
        add_copy(out, "cls.output.bias", require_tensor(w, "classifier.bias", f), outtype);
    }
    return {"bert", rerank ? "rerank" : "embedding"};
}

}  // namespace

extern const Architecture kBertArchitecture;
const Architecture kBertArchitecture{"BERT (BertModel, BertForSequenceClassification)", is_bert, plan_bert};

}  // namespace xinfer
