// Decoder-only chat models of the Llama family: Llama 3.x (LlamaForCausalLM), Qwen2 / Qwen2.5
// (Qwen2ForCausalLM), Qwen3 (Qwen3ForCausalLM) and GLM-4 (Glm4ForCausalLM, the GLM-4-0414
// series; GlmForCausalLM, glm-4-9b-chat-hf, llama.cpp's "chatglm"). They share one tensor
// layout; they differ in that Qwen2 and GLM-4 have q/k/v biases, Qwen3 per-head q/k norms, GLM-4
// a fused gate/up projection and a rotary over part of each head only (GLM-4-0414 also norms
// after attention and after the MLP); and Llama's rotary pairs adjacent values
// where transformers pairs the two halves of a head, so its query and key rows are reordered
// (llama.cpp's qwen architectures use the halves, as transformers does; GLM-4 pairs adjacent
// values in both).
#include <gguf.h>

#include <cmath>
#include <memory>
#include <vector>

#include "convert/architectures.h"
#include "convert/tokenizer_convert.h"

namespace xinfer {

using json = nlohmann::json;

namespace {

bool is_decoder(const HfFolder& f) {
    return f.architecture == "Qwen2ForCausalLM" || f.architecture == "Qwen3ForCausalLM" || f.architecture == "LlamaForCausalLM" ||
           f.architecture == "Glm4ForCausalLM" || f.architecture == "GlmForCausalLM" ||
           (f.architecture.empty() && (f.model_type == "qwen2" || f.model_type == "qwen3" || f.model_type == "llama" ||
                                       f.model_type == "glm4" || f.model_type == "glm"));
}

// A query or key projection with each head's rows reordered from transformers' halves
// (0..d/2-1 | d/2..d-1) to llama.cpp's interleaved pairs (0, d/2, 1, d/2+1, ...).
void add_interleaved_heads(GgufStreamWriter& out, const std::string& name, const SourceTensor& src, int64_t heads,
                           const std::string& outtype) {
    if (src.shape.size() != 2 || src.shape[0] % (2 * heads) != 0)
        throw ConvertError("tensor " + src.name + " does not split into " + std::to_string(heads) + " heads");
    OutputTensor t;
    t.name = name;
    t.ne = {src.shape[1], src.shape[0]};
    t.type = output_type_for(outtype, t.ne);
    const int64_t cols = src.shape[1], d = src.shape[0] / heads;
    const SourceTensor* s = &src;
    t.produce = [s, cols, d](int64_t first, int64_t rows, float* dst) {
        for (int64_t k = 0; k < rows; ++k) {
            const int64_t r = first + k, h = r / d, i = (r % d) / 2, j = r % 2;
            read_as_f32(*s, (h * d + j * (d / 2) + i) * cols, cols, dst + k * cols);
        }
    };
    t.written = [s] { release_pages(*s); };
    out.add(std::move(t));
}

int64_t need_int(const HfFolder& f, const char* key) {
    if (!f.config.contains(key) || !f.config[key].is_number_integer())
        throw ConvertError("config.json in " + f.dir.string() + " has no integer \"" + key + "\"");
    return f.config[key].get<int64_t>();
}

// Llama 3.1+'s long-context rotary: each frequency is divided by a factor that is 1 for short
// wavelengths, `factor` for long ones and smoothly in between; llama.cpp reads the factors from a
// rope_freqs tensor (transformers computes the same when it builds its inverse frequencies).
void add_llama3_rope_factors(GgufStreamWriter& out, const json& scaling, double theta, int64_t head_dim) {
    const double factor = scaling.value("factor", 8.0), low = scaling.value("low_freq_factor", 1.0),
                 high = scaling.value("high_freq_factor", 4.0),
                 context = scaling.value("original_max_position_embeddings", 8192.0);
    auto factors = std::make_shared<std::vector<float>>();
    for (int64_t i = 0; i < head_dim; i += 2) {
        const double wavelen = 2 * M_PI * std::pow(theta, static_cast<double>(i) / head_dim);
        if (wavelen < context / high) factors->push_back(1.0f);
        else if (wavelen > context / low) factors->push_back(static_cast<float>(factor));
        else {
            const double smooth = (context / wavelen - low) / (high - low);
            factors->push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
        }
    }
    OutputTensor t;
    t.name = "rope_freqs.weight";
    t.ne = {static_cast<int64_t>(factors->size())};
    t.type = GGML_TYPE_F32;
    t.produce = [factors](int64_t, int64_t, float* dst) { std::copy(factors->begin(), factors->end(), dst); };
    out.add(std::move(t));
}

// GLM-4 starts its prompts with "[gMASK]<sop>" from the chat template, never with a BOS token
// (llama.cpp's "glm4" pre-tokenizer knows that), and a turn ends when the model writes the next
// role tag: <|user|> is its end-of-turn token, as in llama.cpp's own converter.
void add_glm4_tokens(const HfFolder& f, gguf_context* meta) {
    gguf_set_val_str(meta, "tokenizer.ggml.pre", "glm4");
    gguf_set_val_bool(meta, "tokenizer.ggml.add_bos_token", false);
    const json tj = f.read_json("tokenizer.json");
    for (auto& added : tj.value("added_tokens", json::array()))
        if (added.value("content", "") == "<|user|>")
            gguf_set_val_u32(meta, "tokenizer.ggml.eot_token_id", static_cast<uint32_t>(added.value("id", 0)));
}

ConversionPlan plan_decoder(const HfFolder& f, const WeightSet& w, gguf_context* meta, GgufStreamWriter& out,
                            const std::string& outtype) {
    const bool qwen3 = f.architecture == "Qwen3ForCausalLM" || f.model_type == "qwen3";
    const bool llama = f.architecture == "LlamaForCausalLM" || f.model_type == "llama";
    const bool glm4 = f.architecture == "Glm4ForCausalLM" || f.model_type == "glm4";
    const bool glm = f.architecture == "GlmForCausalLM" || f.model_type == "glm";  // GLM-4's first release, in HF format
    // Qwen2's q/k/v, and GLM-4's unless config.json turns them off.
    const bool biases = glm4 || glm ? f.config.value("attention_bias", true) : !qwen3 && !llama;
    const std::string a = llama ? "llama" : qwen3 ? "qwen3" : glm4 ? "glm4" : glm ? "chatglm" : "qwen2";
    if (f.config.value("hidden_act", "silu") != "silu")
        throw ConvertError("config.json asks for activation '" + f.config.value("hidden_act", "") + "'; " + a + " uses silu");
    const json scaling = f.config.value("rope_scaling", json(nullptr));
    const std::string scaling_type = scaling.is_object() ? scaling.value("rope_type", scaling.value("type", "")) : "";
    if (!scaling.is_null() && !(llama && scaling_type == "llama3"))
        throw ConvertError("rope_scaling of type '" + scaling_type + "' in config.json is not converted yet (Llama 3's llama3 type is)");
    const int64_t n_layer = need_int(f, "num_hidden_layers"), n_embd = need_int(f, "hidden_size"),
                  n_head = need_int(f, "num_attention_heads");
    const int64_t n_head_kv = f.config.value("num_key_value_heads", n_head);
    const int64_t head_dim = f.config.value("head_dim", n_embd / n_head);
    const SourceTensor& embed = require_tensor(w, "model.embed_tokens.weight", f);
    if (embed.shape.size() != 2) throw ConvertError("model.embed_tokens.weight is not a matrix");
    add_bpe_tokenizer(f, embed.shape[0], meta);
    if (glm4 || glm) add_glm4_tokens(f, meta);

    gguf_set_val_str(meta, "general.architecture", a.c_str());
    auto u32 = [&](const std::string& key, int64_t v) { gguf_set_val_u32(meta, (a + "." + key).c_str(), static_cast<uint32_t>(v)); };
    u32("context_length", f.config.value("max_position_embeddings", int64_t{32768}));
    u32("embedding_length", n_embd);
    u32("feed_forward_length", need_int(f, "intermediate_size"));
    u32("block_count", n_layer);
    u32("attention.head_count", n_head);
    u32("attention.head_count_kv", n_head_kv);
    if (qwen3 || glm4) {
        u32("attention.key_length", head_dim);
        u32("attention.value_length", head_dim);
    }
    if (glm4 || glm) {
        const double partial = f.config.value("partial_rotary_factor", 0.5);
        u32("rope.dimension_count", static_cast<int64_t>(head_dim * partial));
    }
    if (llama) {
        u32("rope.dimension_count", head_dim);
        u32("vocab_size", embed.shape[0]);
    }
    gguf_set_val_f32(meta, (a + ".rope.freq_base").c_str(),
                     f.config.value("rope_theta", llama ? 500000.0f : glm4 || glm ? 10000.0f : 1000000.0f));
    gguf_set_val_f32(meta, (a + ".attention.layer_norm_rms_epsilon").c_str(), f.config.value("rms_norm_eps", 1e-6f));

    auto t = [&](const std::string& name) -> const SourceTensor& { return require_tensor(w, name, f); };
    add_copy(out, "token_embd.weight", embed, outtype);
    if (scaling_type == "llama3") add_llama3_rope_factors(out, scaling, f.config.value("rope_theta", 500000.0), head_dim);
    add_copy(out, "output_norm.weight", t("model.norm.weight"), outtype);
    // Tied embeddings (small Qwen models) have no lm_head: llama.cpp then reuses token_embd.
    if (const SourceTensor* head = w.find("lm_head.weight"); head && !f.config.value("tie_word_embeddings", false))
        add_copy(out, "output.weight", *head, outtype);
    for (int64_t i = 0; i < n_layer; ++i) {
        const std::string s = "model.layers." + std::to_string(i) + ".", d = "blk." + std::to_string(i) + ".";
        add_copy(out, d + "attn_norm.weight", t(s + "input_layernorm.weight"), outtype);
        for (auto [hf, gg] : {std::pair{"q_proj", "attn_q"}, {"k_proj", "attn_k"}, {"v_proj", "attn_v"}}) {
            const SourceTensor& proj = t(s + "self_attn." + hf + ".weight");
            if (llama && std::string(hf) != "v_proj")
                add_interleaved_heads(out, d + gg + ".weight", proj, std::string(hf) == "q_proj" ? n_head : n_head_kv, outtype);
            else
                add_copy(out, d + gg + ".weight", proj, outtype);
            if (biases) add_copy(out, d + gg + ".bias", t(s + "self_attn." + hf + ".bias"), outtype);
        }
        add_copy(out, d + "attn_output.weight", t(s + "self_attn.o_proj.weight"), outtype);
        if (qwen3) {
            add_copy(out, d + "attn_q_norm.weight", t(s + "self_attn.q_norm.weight"), outtype);
            add_copy(out, d + "attn_k_norm.weight", t(s + "self_attn.k_norm.weight"), outtype);
        }
        add_copy(out, d + "ffn_norm.weight", t(s + "post_attention_layernorm.weight"), outtype);
        if (glm4 || glm) {
            // gate and up in one matrix (gate rows first), as llama.cpp's fused SwiGLU reads it.
            add_copy(out, d + "ffn_up.weight", t(s + "mlp.gate_up_proj.weight"), outtype);
            if (glm4) {
                add_copy(out, d + "post_attention_norm.weight", t(s + "post_self_attn_layernorm.weight"), outtype);
                add_copy(out, d + "post_ffw_norm.weight", t(s + "post_mlp_layernorm.weight"), outtype);
            }
        } else {
            add_copy(out, d + "ffn_gate.weight", t(s + "mlp.gate_proj.weight"), outtype);
            add_copy(out, d + "ffn_up.weight", t(s + "mlp.up_proj.weight"), outtype);
        }
        add_copy(out, d + "ffn_down.weight", t(s + "mlp.down_proj.weight"), outtype);
    }
    return {a, "LLM"};
}

}  // namespace

extern const Architecture kDecoderArchitecture;
const Architecture kDecoderArchitecture{"Llama 3, Qwen2/Qwen2.5, Qwen3 and GLM-4 chat models (LlamaForCausalLM, Qwen2ForCausalLM, "
                                        "Qwen3ForCausalLM, Glm4ForCausalLM, GlmForCausalLM)",
                                        is_decoder, plan_decoder};

}  // namespace xinfer
