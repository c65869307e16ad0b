#include "convert/whisper_ggml.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <utility>

#include <ggml.h>

namespace xinfer {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct WhisperConversion::Tensor {
    std::string name;          // OpenAI's name, which whisper.cpp looks up
    std::vector<int32_t> ne;   // ggml order: innermost first
    bool f16 = false;
    const SourceTensor* src = nullptr;
    uint64_t bytes() const { return static_cast<uint64_t>(src->elements()) * (f16 ? 2 : 4); }
};

namespace {

// transformers' names -> OpenAI's, as whisper.cpp reads them (the mapping of its
// convert-h5-to-ggml; the order matters where one name contains another).
const std::vector<std::pair<std::string, std::string>>& renames() {
    static const std::vector<std::pair<std::string, std::string>> r = {
        {".self_attn_layer_norm.", ".attn_ln."},
        {".encoder_attn_layer_norm.", ".cross_attn_ln."},
        {".self_attn.q_proj.", ".attn.query."},
        {".self_attn.k_proj.", ".attn.key."},
        {".self_attn.v_proj.", ".attn.value."},
        {".self_attn.out_proj.", ".attn.out."},
        {".encoder_attn.q_proj.", ".cross_attn.query."},
        {".encoder_attn.k_proj.", ".cross_attn.key."},
        {".encoder_attn.v_proj.", ".cross_attn.value."},
        {".encoder_attn.out_proj.", ".cross_attn.out."},
        {".final_layer_norm.", ".mlp_ln."},
        {".fc1.", ".mlp.0."},
        {".fc2.", ".mlp.2."},
        {".layers.", ".blocks."},
    };
    return r;
}

const std::map<std::string, std::string>& whole_names() {
    static const std::map<std::string, std::string> m = {
        {"encoder.layer_norm.weight", "encoder.ln_post.weight"},
        {"encoder.layer_norm.bias", "encoder.ln_post.bias"},
        {"decoder.layer_norm.weight", "decoder.ln.weight"},
        {"decoder.layer_norm.bias", "decoder.ln.bias"},
        {"encoder.embed_positions.weight", "encoder.positional_embedding"},
        {"decoder.embed_positions.weight", "decoder.positional_embedding"},
        {"decoder.embed_tokens.weight", "decoder.token_embedding.weight"},
        {"encoder.conv1.weight", "encoder.conv1.weight"},
        {"encoder.conv1.bias", "encoder.conv1.bias"},
        {"encoder.conv2.weight", "encoder.conv2.weight"},
        {"encoder.conv2.bias", "encoder.conv2.bias"},
    };
    return m;
}

// OpenAI's name for a transformers tensor name; "" for one whisper.cpp has no use for.
std::string openai_name(std::string name) {
    if (name.rfind("model.", 0) == 0) name = name.substr(6);
    if (name == "proj_out.weight") return "";  // tied to the token embedding
    if (auto it = whole_names().find(name); it != whole_names().end()) return it->second;
    if (name.rfind("encoder.layers.", 0) != 0 && name.rfind("decoder.layers.", 0) != 0) return "?";
    for (auto& [from, to] : renames())
        if (auto at = name.find(from); at != std::string::npos) name.replace(at, from.size(), to);
    return name;
}

// GPT-2's byte-level alphabet: each byte is a printable character in vocab.json.
std::map<uint32_t, uint8_t> unicode_to_byte() {
    std::map<uint32_t, uint8_t> m;
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        m[printable ? b : 256 + extra++] = static_cast<uint8_t>(b);
    }
    return m;
}

std::string token_bytes(const std::string& token, const std::map<uint32_t, uint8_t>& table) {
    std::string out;
    for (size_t i = 0; i < token.size();) {
        uint32_t cp = static_cast<uint8_t>(token[i]);
        const int len = cp < 0x80 ? 1 : cp < 0xE0 ? 2 : cp < 0xF0 ? 3 : 4;
        if (len > 1) cp &= 0xFFu >> (len + 1);
        for (int k = 1; k < len && i + k < token.size(); ++k) cp = cp << 6 | (static_cast<uint8_t>(token[i + k]) & 0x3F);
        i += len;
        auto it = table.find(cp);
        if (it == table.end()) throw ConvertError("vocab.json has a token that is not byte-level BPE: " + token);
        out += static_cast<char>(it->second);
    }
    return out;
}

int32_t need(const HfFolder& f, const char* key) {
    if (!f.config.contains(key) || !f.config[key].is_number_integer())
        throw ConvertError("config.json in " + f.dir.string() + " has no integer \"" + key + "\"");
    return f.config[key].get<int32_t>();
}

double hz_to_mel(double hz) {  // slaney: linear to 1 kHz, logarithmic above
    const double f_sp = 200.0 / 3, min_log_hz = 1000, min_log_mel = min_log_hz / f_sp, logstep = std::log(6.4) / 27;
    return hz < min_log_hz ? hz / f_sp : min_log_mel + std::log(hz / min_log_hz) / logstep;
}

double mel_to_hz(double mel) {
    const double f_sp = 200.0 / 3, min_log_hz = 1000, min_log_mel = min_log_hz / f_sp, logstep = std::log(6.4) / 27;
    return mel < min_log_mel ? mel * f_sp : min_log_hz * std::exp(logstep * (mel - min_log_mel));
}

}  // namespace

bool is_whisper_folder(const HfFolder& f) {
    return f.architecture == "WhisperForConditionalGeneration" || (f.architecture.empty() && f.model_type == "whisper");
}

std::vector<float> whisper_mel_filters(int n_mels) {
    constexpr int n_fft = 400, bins = n_fft / 2 + 1;
    constexpr double sample_rate = 16000;
    std::vector<double> mel_f(n_mels + 2);
    const double top = hz_to_mel(sample_rate / 2);
    for (int i = 0; i < n_mels + 2; ++i) mel_f[i] = mel_to_hz(top * i / (n_mels + 1));
    std::vector<float> w(static_cast<size_t>(n_mels) * bins);
    for (int m = 0; m < n_mels; ++m) {
        const double lower_width = mel_f[m + 1] - mel_f[m], upper_width = mel_f[m + 2] - mel_f[m + 1];
        const double norm = 2.0 / (mel_f[m + 2] - mel_f[m]);  // slaney: equal area per filter
        for (int k = 0; k < bins; ++k) {
            const double hz = sample_rate / 2 * k / (bins - 1);
            const double rising = (hz - mel_f[m]) / lower_width, falling = (mel_f[m + 2] - hz) / upper_width;
            w[static_cast<size_t>(m) * bins + k] = static_cast<float>(std::max(0.0, std::min(rising, falling)) * norm);
        }
    }
    return w;
}

WhisperConversion::WhisperConversion(HfFolder folder, const std::string& outtype) : folder_(std::move(folder)) {
    if (outtype == "q8_0") throw ConvertError("whisper models are converted to f16 or f32 (whisper.cpp's own formats)");
    f16_ = outtype != "f32";
    const HfFolder& f = folder_;
    const int32_t n_mels = need(f, "num_mel_bins"), n_state = need(f, "d_model");
    hp_ = {need(f, "vocab_size"), need(f, "max_source_positions"), n_state, need(f, "encoder_attention_heads"),
           need(f, "encoder_layers"), need(f, "max_target_positions"), n_state, need(f, "decoder_attention_heads"),
           need(f, "decoder_layers"), n_mels, f16_ ? 1 : 0};

    // The filter bank: preprocessor_config.json's own when it carries one (older transformers
    // saved it, as [n_mels][201] or [201][n_mels]), else whisper's, computed.
    filters_ = whisper_mel_filters(n_mels);
    if (f.has("preprocessor_config.json")) {
        const json pre = f.read_json("preprocessor_config.json");
        if (pre.contains("mel_filters") && pre["mel_filters"].is_array() && !pre["mel_filters"].empty()) {
            const json& rows = pre["mel_filters"];
            const size_t outer = rows.size(), inner = rows[0].is_array() ? rows[0].size() : 0;
            if (!((outer == static_cast<size_t>(n_mels) && inner == 201) || (outer == 201 && inner == static_cast<size_t>(n_mels))))
                throw ConvertError("preprocessor_config.json's mel_filters are not " + std::to_string(n_mels) + " x 201");
            for (size_t i = 0; i < outer; ++i)
                for (size_t j = 0; j < inner; ++j) {
                    const float v = rows[i][j].get<float>();
                    if (outer == static_cast<size_t>(n_mels)) filters_[i * 201 + j] = v;
                    else filters_[j * 201 + i] = v;
                }
        }
    }

    // The vocabulary, as raw bytes in id order.
    if (!f.has("vocab.json")) throw ConvertError("no vocab.json in " + f.dir.string() + " (whisper's byte-level vocabulary)");
    const json vocab = f.read_json("vocab.json");
    if (!vocab.is_object() || vocab.empty()) throw ConvertError("vocab.json in " + f.dir.string() + " is not a token -> id map");
    std::map<int64_t, std::string> by_id;
    const auto table = unicode_to_byte();
    for (auto& [token, id] : vocab.items()) {
        if (!id.is_number_integer()) throw ConvertError("vocab.json maps " + token + " to no id");
        by_id[id.get<int64_t>()] = token_bytes(token, table);
    }
    if (by_id.begin()->first != 0 || by_id.rbegin()->first != static_cast<int64_t>(by_id.size()) - 1)
        throw ConvertError("vocab.json's ids are not 0.." + std::to_string(by_id.size() - 1) + " without gaps");
    if (static_cast<int64_t>(by_id.size()) > hp_[0])
        throw ConvertError("vocab.json has more tokens than config.json's vocab_size");
    for (auto& [id, bytes] : by_id) vocab_.push_back(std::move(bytes));

    try {
        weights_ = WeightSet::open(f.dir);
    } catch (const ConvertError&) {
        throw;
    } catch (const std::runtime_error& e) {
        throw ConvertError(e.what());
    }
    std::map<std::string, bool> seen;
    for (auto& [name, src] : weights_.tensors()) {
        const std::string to = openai_name(name);
        if (to.empty()) continue;
        if (to == "?") throw ConvertError("tensor " + name + " in " + f.dir.string() + " is not part of a whisper model");
        Tensor t;
        t.name = to;
        t.src = &src;
        for (auto d = src.shape.rbegin(); d != src.shape.rend(); ++d) t.ne.push_back(static_cast<int32_t>(*d));
        const bool conv_bias = to == "encoder.conv1.bias" || to == "encoder.conv2.bias";
        if (conv_bias) t.ne = {1, static_cast<int32_t>(src.elements())};  // whisper.cpp adds it as a [1, d] column
        t.f16 = f16_ && t.ne.size() >= 2 && !conv_bias && to.find("positional_embedding") == std::string::npos;
        seen[to] = true;
        tensors_.push_back(std::move(t));
    }
    // Whatever whisper.cpp will ask for must be here, so a broken folder fails now, not at load.
    std::vector<std::string> required = {"encoder.conv1.weight", "encoder.conv2.weight", "encoder.positional_embedding",
                                         "encoder.ln_post.weight", "decoder.token_embedding.weight",
                                         "decoder.positional_embedding", "decoder.ln.weight"};
    for (int i = 0; i < hp_[4]; ++i) required.push_back("encoder.blocks." + std::to_string(i) + ".attn.query.weight");
    for (int i = 0; i < hp_[8]; ++i) required.push_back("decoder.blocks." + std::to_string(i) + ".cross_attn.key.weight");
    for (auto& r : required)
        if (!seen.count(r)) throw ConvertError("the whisper weights in " + f.dir.string() + " lack " + r);
    const SourceTensor* conv1 = weights_.find("model.encoder.conv1.weight");
    if (!conv1) conv1 = weights_.find("encoder.conv1.weight");
    if (!conv1 || conv1->shape.size() != 3 || conv1->shape[1] != n_mels)
        throw ConvertError("encoder.conv1.weight does not take " + std::to_string(n_mels) + " mel bins");
}

WhisperConversion::~WhisperConversion() = default;

uint64_t WhisperConversion::planned_bytes() const {
    uint64_t n = 4 * (1 + hp_.size()) + 8 + 4 * filters_.size() + 4;
    for (auto& v : vocab_) n += 4 + v.size();
    for (auto& t : tensors_) n += 12 + 4 * t.ne.size() + t.name.size() + t.bytes();
    return n;
}

void WhisperConversion::write(const fs::path& out, const std::function<void(double)>& progress) const {
    FILE* f = std::fopen(out.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + out.string());
    std::unique_ptr<FILE, int (*)(FILE*)> closer(f, std::fclose);
    auto put = [&](const void* p, size_t n) {
        if (std::fwrite(p, 1, n, f) != n) throw std::runtime_error("cannot write " + out.string() + " (disk full?)");
    };
    auto i32 = [&](int32_t v) { put(&v, 4); };
    i32(0x67676d6c);  // "ggml"
    for (int32_t v : hp_) i32(v);
    i32(hp_[9]);
    i32(201);
    put(filters_.data(), filters_.size() * 4);
    i32(static_cast<int32_t>(vocab_.size()));
    for (auto& v : vocab_) {
        i32(static_cast<int32_t>(v.size()));
        put(v.data(), v.size());
    }
    const uint64_t total = planned_bytes();
    uint64_t done = 0;
    std::vector<float> chunk;
    std::vector<ggml_fp16_t> half;
    for (auto& t : tensors_) {
        i32(static_cast<int32_t>(t.ne.size()));
        i32(static_cast<int32_t>(t.name.size()));
        i32(t.f16 ? 1 : 0);
        for (int32_t d : t.ne) i32(d);
        put(t.name.data(), t.name.size());
        const int64_t n = t.src->elements();
        for (int64_t first = 0; first < n; first += 1 << 20) {
            const int64_t count = std::min<int64_t>(1 << 20, n - first);
            chunk.resize(count);
            read_as_f32(*t.src, first, count, chunk.data());
            if (t.f16) {
                half.resize(count);
                ggml_fp32_to_fp16_row(chunk.data(), half.data(), count);
                put(half.data(), count * 2);
            } else {
                put(chunk.data(), count * 4);
            }
        }
        release_pages(*t.src);
        done += t.bytes();
        if (progress) progress(static_cast<double>(done) / total);
    }
    if (std::fflush(f) != 0) throw std::runtime_error("cannot write " + out.string());
}

}  // namespace xinfer
