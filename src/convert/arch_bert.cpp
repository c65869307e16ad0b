// BERT-family encoders, as llama.cpp's "bert" architecture runs them:
//  - BERT (bge, e5, gte): BertModel for embeddings, BertForSequenceClassification with one label
//    for reranking (its pooler and classifier become cls and cls.output); WordPiece tokenizer.
//  - XLM-RoBERTa (bce-embedding, bge-m3, bce-reranker, bge-reranker-v2-m3): the same encoder with
//    position ids that start after the padding id, a SentencePiece Unigram tokenizer, and a
//    classification head of its own (classifier.dense, classifier.out_proj).
#include <gguf.h>

#include <fstream>

#include "convert/architectures.h"
#include "convert/tokenizer_convert.h"

namespace xinfer {

using json = nlohmann::json;

namespace {

bool is_xlm_roberta(const HfFolder& f) {
    return f.architecture.rfind("XLMRoberta", 0) == 0 || (f.architecture.empty() && f.model_type == "xlm-roberta");
}

bool is_bert(const HfFolder& f) {
    static const char* known[] = {"BertModel", "BertForSequenceClassification", "XLMRobertaModel",
                                  "XLMRobertaForSequenceClassification"};
    for (const char* a : known)
        if (f.architecture == a) return true;
    return f.architecture.empty() && (f.model_type == "bert" || f.model_type == "xlm-roberta");
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

ConversionPlan plan_bert(const HfFolder& f, const WeightSet& w, gguf_context* meta, GgufStreamWriter& out,
                         const std::string& outtype) {
    const bool rerank = f.architecture.ends_with("ForSequenceClassification");
    const bool xlmr = is_xlm_roberta(f);
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
    // Models saved from a task head carry a "bert." prefix on the encoder's tensors.
    std::string p;
    for (const char* prefix : {"bert.", "roberta."})
        if (w.find(std::string(prefix) + "embeddings.word_embeddings.weight")) p = prefix;
    auto t = [&](const std::string& name) -> const SourceTensor& { return require_tensor(w, p + name, f); };
    const SourceTensor& words = t("embeddings.word_embeddings.weight");
    if (words.shape.size() != 2) throw ConvertError("the word embeddings are not a matrix");
    // The tokenizer, and a reranking pair as transformers builds it: llama-server's default pair
    // for these vocabularies leaves out a separator, so a rerank template spells it out.
    int64_t n_vocab = 0;
    std::string pair;
    if (xlmr) {
        const UnigramVocab vocab = add_unigram_tokenizer(f, words.shape[0], meta);
        n_vocab = vocab.size;
        pair = vocab.bos + "{query}" + vocab.eos + vocab.eos + "{document}" + vocab.eos;  // <s> q </s></s> d </s>
    } else {
        const WordPieceVocab vocab = add_wordpiece_tokenizer(f, words.shape[0], meta);
        n_vocab = vocab.size;
        pair = vocab.cls + "{query}" + vocab.sep + "{document}" + vocab.sep;  // [CLS] q [SEP] d [SEP]
    }
    if (words.shape[0] < n_vocab)
        throw ConvertError("the word embeddings have " + std::to_string(words.shape[0]) + " rows but the vocabulary has " +
                           std::to_string(n_vocab) + " tokens");
    if (rerank) gguf_set_val_str(meta, "tokenizer.chat_template.rerank", pair.c_str());
    // RoBERTa numbers positions from padding_idx + 1; llama.cpp from 0: the first rows go.
    const int64_t position_offset = xlmr ? f.config.value("pad_token_id", 1) + 1 : 0;
    gguf_set_val_str(meta, "general.architecture", "bert");
    gguf_set_val_u32(meta, "bert.context_length", static_cast<uint32_t>(config_int(f, "max_position_embeddings") - position_offset));
    gguf_set_val_u32(meta, "bert.embedding_length", static_cast<uint32_t>(config_int(f, "hidden_size")));
    gguf_set_val_u32(meta, "bert.feed_forward_length", static_cast<uint32_t>(config_int(f, "intermediate_size")));
    gguf_set_val_u32(meta, "bert.block_count", static_cast<uint32_t>(n_layer));
    gguf_set_val_u32(meta, "bert.attention.head_count", static_cast<uint32_t>(config_int(f, "num_attention_heads")));
    gguf_set_val_f32(meta, "bert.attention.layer_norm_epsilon", f.config.value("layer_norm_eps", 1e-12f));
    gguf_set_val_bool(meta, "bert.attention.causal", false);
    gguf_set_val_u32(meta, "bert.pooling_type", rerank ? 4 : pooling_of(f));
    gguf_set_val_u32(meta, "tokenizer.ggml.token_type_count", static_cast<uint32_t>(f.config.value("type_vocab_size", xlmr ? 1 : 2)));

    add_copy(out, "token_embd.weight", words, outtype);
    // llama.cpp adds these two tables directly (not through a row lookup): they stay f32.
    add_copy(out, "token_types.weight", t("embeddings.token_type_embeddings.weight"), outtype, true);
    const SourceTensor& positions = t("embeddings.position_embeddings.weight");
    if (positions.shape.size() != 2 || positions.shape[0] <= position_offset)
        throw ConvertError("the position embeddings are too short for this model's position offset");
    add_row_slice(out, "position_embd.weight", positions, position_offset, positions.shape[0] - position_offset, outtype, true);
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
    if (rerank && xlmr) {  // RobertaClassificationHead: dense, tanh, out_proj
        add_copy(out, "cls.weight", require_tensor(w, "classifier.dense.weight", f), outtype);
        add_copy(out, "cls.bias", require_tensor(w, "classifier.dense.bias", f), outtype);
        add_copy(out, "cls.output.weight", require_tensor(w, "classifier.out_proj.weight", f), outtype);
        add_copy(out, "cls.output.bias", require_tensor(w, "classifier.out_proj.bias", f), outtype);
    } else if (rerank) {  // BERT: the pooler (dense, tanh), then the classifier
        add_copy(out, "cls.weight", t("pooler.dense.weight"), outtype);
        add_copy(out, "cls.bias", t("pooler.dense.bias"), outtype);
        add_copy(out, "cls.output.weight", require_tensor(w, "classifier.weight", f), outtype);
        add_copy(out, "cls.output.bias", require_tensor(w, "classifier.bias", f), outtype);
    }
    return {"bert", rerank ? "rerank" : "embedding"};
}

}  // namespace

extern const Architecture kBertArchitecture;
const Architecture kBertArchitecture{"BERT and XLM-RoBERTa encoders (BertModel, XLMRobertaModel and their ForSequenceClassification rerankers)",
                                     is_bert, plan_bert};

}  // namespace xinfer
