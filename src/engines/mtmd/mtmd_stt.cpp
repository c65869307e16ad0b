#include "engines/mtmd/mtmd_stt.h"

#include <llama.h>
#include <mtmd-helper.h>
#include <mtmd.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/text.h"
#include "engines/mtmd/llama_runtime.h"
#include "audio/pieces.h"

namespace xinfer {

namespace {

constexpr double kPieceSeconds = 30;
constexpr int kContextTokens = 2048;  // 30 s of audio is ~390 tokens for Qwen3-ASR (13 per second), its text fewer

// The languages Qwen3-ASR names in its answers, with their ISO 639 codes.
struct Language {
    const char* code;
    const char* name;
};
constexpr Language kLanguages[] = {
    {"zh", "Chinese"},    {"en", "English"},  {"yue", "Cantonese"}, {"ar", "Arabic"},    {"de", "German"},
    {"fr", "French"},     {"es", "Spanish"},  {"pt", "Portuguese"}, {"id", "Indonesian"}, {"it", "Italian"},
    {"ko", "Korean"},     {"ru", "Russian"},  {"th", "Thai"},       {"vi", "Vietnamese"}, {"ja", "Japanese"},
    {"tr", "Turkish"},    {"hi", "Hindi"},    {"ms", "Malay"},      {"nl", "Dutch"},     {"sv", "Swedish"},
    {"da", "Danish"},     {"fi", "Finnish"},  {"pl", "Polish"},     {"cs", "Czech"},     {"fil", "Filipino"},
    {"fa", "Persian"},    {"el", "Greek"},    {"hu", "Hungarian"},  {"mk", "Macedonian"}, {"ro", "Romanian"},
};

// "en", "EN", "english" -> the language; nullptr when the model does not know it.
const Language* find_language(const std::string& asked) {
    const std::string l = lower(asked);
    for (auto& lang : kLanguages)
        if (l == lang.code || l == lower(lang.name)) return &lang;
    if (l == "tl") return &kLanguages[24];  // Tagalog: Filipino's ISO 639-1 code
    return nullptr;
}

std::string token_text(const llama_vocab* vocab, llama_token t) {
    char buf[256];
    int n = llama_token_to_piece(vocab, t, buf, sizeof buf, 0, false);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::string trim(const std::string& s) {
    size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

MtmdStt::MtmdStt(const std::string& model_path, const std::string& projector_path, int concurrency, int threads, bool use_gpu)
    : threads_(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) {
    init_llama_runtime();
    llama_model_params mp = host_model_params(use_gpu);
    model_ = llama_model_load_from_file(model_path.c_str(), mp);
    if (!model_) throw std::runtime_error("llama.cpp cannot load the model file " + model_path);
    mtmd_context_params pp = mtmd_context_params_default();
    pp.use_gpu = use_gpu;
    pp.n_threads = threads_;
    pp.print_timings = false;
    mtmd_ = mtmd_init_from_file(projector_path.c_str(), model_, pp);
    if (!mtmd_) {
        shutdown();
        throw std::runtime_error("llama.cpp cannot load the audio projector " + projector_path +
                                 " (not an mmproj GGUF, or made for another text model)");
    }
    if (!mtmd_support_audio(mtmd_)) {
        shutdown();
        throw std::runtime_error(projector_path + " is a projector for images, not audio: this model cannot transcribe");
    }
    for (int i = 0; i < std::max(1, concurrency); ++i) {
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = kContextTokens;
        cp.n_batch = kContextTokens;
        cp.n_threads = cp.n_threads_batch = threads_;
        cp.no_perf = true;
        llama_context* ctx = llama_init_from_model(model_, cp);
        if (!ctx) {
            shutdown();
            throw std::runtime_error("llama.cpp could not allocate a decoding context (out of memory?)");
        }
        slots_.add(ctx, llama_free);
    }
}

MtmdStt::~MtmdStt() { shutdown(); }

void MtmdStt::shutdown() {
    slots_.stop();
    if (mtmd_) mtmd_free(mtmd_);
    mtmd_ = nullptr;
    if (model_) llama_model_free(model_);
    model_ = nullptr;
}

Transcript MtmdStt::transcribe(const Pcm& pcm, const TranscribeOptions& opt) {
    if (opt.translate)
        throw UnsupportedRequest("this model transcribes speech in its own language; it does not translate to English "
                                 "(use /v1/audio/transcriptions, or a whisper model for translations)");
    std::string language;
    if (!opt.language.empty() && lower(opt.language) != "auto") {
        const Language* l = find_language(opt.language);
        if (!l) {
            std::string known;
            for (auto& k : kLanguages) known += (known.empty() ? "" : ", ") + std::string(k.code);
            throw UnsupportedRequest("this model cannot transcribe language '" + opt.language + "'; it knows " + known);
        }
        language = l->name;
    }
    if (pcm.sample_rate != mtmd_get_audio_sample_rate(mtmd_))
        throw std::runtime_error("audio must be resampled to the model's rate first");

    Transcript t;
    t.duration = pcm.seconds();
    for (const PcmPiece& piece : split_at_pauses(pcm, kPieceSeconds)) {
        Piece p = slots_.run<Piece>([&](llama_context* ctx) {
            return decode_piece(ctx, pcm.samples.data() + piece.begin, piece.end - piece.begin, opt, language);
        });
        TranscriptSegment s;
        s.start = static_cast<double>(piece.begin) / pcm.sample_rate;
        s.end = static_cast<double>(piece.end) / pcm.sample_rate;
        s.text = p.text;
        if (t.language.empty() && !p.language.empty()) t.language = p.language;
        if (!s.text.empty()) t.text += (t.text.empty() ? "" : " ") + s.text;
        t.segments.push_back(std::move(s));
    }
    if (t.language.empty()) t.language = language;
    if (const Language* l = find_language(t.language)) t.language = l->code;  // "English" -> "en"
    return t;
}

MtmdStt::Piece MtmdStt::decode_piece(llama_context* ctx, const float* samples, size_t n, const TranscribeOptions& opt,
                                     const std::string& language) {
    const llama_vocab* vocab = llama_model_get_vocab(model_);
    llama_memory_clear(llama_get_memory(ctx), true);

    // The model's own chat template (ChatML for Qwen3-ASR): context as the system message, the
    // audio as the user's; ChatML when the template is one llama.cpp cannot apply.
    std::vector<llama_chat_message> chat;
    if (!opt.prompt.empty()) chat.push_back({"system", opt.prompt.c_str()});
    chat.push_back({"user", mtmd_default_marker()});
    std::string prompt(4096 + opt.prompt.size() * 2, '\0');
    const char* tmpl = llama_model_chat_template(model_, nullptr);
    int len = tmpl ? llama_chat_apply_template(tmpl, chat.data(), chat.size(), true, prompt.data(), static_cast<int>(prompt.size()))
                   : -1;
    if (len < 0 || len > static_cast<int>(prompt.size())) {
        prompt.clear();
        for (auto& m : chat) prompt += std::string("<|im_start|>") + m.role + "\n" + m.content + "<|im_end|>\n";
        prompt += "<|im_start|>assistant\n";
    } else {
        prompt.resize(static_cast<size_t>(len));
    }
    if (!language.empty()) prompt += "language " + language + "<asr_text>";

    std::unique_ptr<mtmd_bitmap, decltype(&mtmd_bitmap_free)> audio(mtmd_bitmap_init_from_audio(n, samples), mtmd_bitmap_free);
    std::unique_ptr<mtmd_input_chunks, decltype(&mtmd_input_chunks_free)> chunks(mtmd_input_chunks_init(), mtmd_input_chunks_free);
    mtmd_input_text text{prompt.c_str(), prompt.size(), /*add_special=*/true, /*parse_special=*/true};
    const mtmd_bitmap* bitmaps[] = {audio.get()};
    if (mtmd_tokenize(mtmd_, chunks.get(), &text, bitmaps, 1) != 0) throw std::runtime_error("cannot prepare the audio for the model");

    // Prompt: text chunks decode on this request's context; audio chunks are encoded by the
    // shared projector (one at a time), then decoded here too.
    llama_pos n_past = 0;
    const int n_batch = static_cast<int>(llama_n_batch(ctx));
    const size_t n_chunks = mtmd_input_chunks_size(chunks.get());
    for (size_t i = 0; i < n_chunks; ++i) {
        const mtmd_input_chunk* chunk = mtmd_input_chunks_get(chunks.get(), i);
        const bool last = i + 1 == n_chunks;
        llama_pos next = n_past;
        int rc;
        if (mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
            rc = mtmd_helper_eval_chunk_single(mtmd_, ctx, chunk, n_past, 0, n_batch, last, &next);
        } else {
            std::vector<float> embd;
            {
                std::lock_guard lock(encode_mu_);
                if (mtmd_encode_chunk(mtmd_, chunk) != 0) throw std::runtime_error("the audio encoder failed");
                const size_t size = static_cast<size_t>(llama_model_n_embd_inp(model_)) * mtmd_input_chunk_get_n_tokens(chunk);
                const float* out = mtmd_get_output_embd(mtmd_);
                embd.assign(out, out + size);
            }
            rc = mtmd_helper_decode_image_chunk(mtmd_, ctx, chunk, embd.data(), n_past, 0, n_batch, &next, nullptr, nullptr);
        }
        if (rc != 0) throw std::runtime_error("the model failed to read the audio (decode error " + std::to_string(rc) + ")");
        n_past = next;
    }
    if (n_past >= kContextTokens - 16) throw std::runtime_error("the audio piece does not fit the model's context");

    // Generation: greedy by default, or at the client's temperature; at most what 30 s of fast
    // speech needs, and never past the context.
    std::unique_ptr<llama_sampler, decltype(&llama_sampler_free)> sampler(llama_sampler_chain_init(llama_sampler_chain_default_params()),
                                                                         llama_sampler_free);
    if (opt.temperature_given && opt.temperature > 0) {
        llama_sampler_chain_add(sampler.get(), llama_sampler_init_temp(opt.temperature));
        llama_sampler_chain_add(sampler.get(), llama_sampler_init_dist(LLAMA_DEFAULT_SEED));
    } else {
        llama_sampler_chain_add(sampler.get(), llama_sampler_init_greedy());
    }
    const int max_tokens = std::min(kContextTokens - 1 - n_past, 32 + static_cast<int>(12.0 * n / 16000.0));
    std::string out;
    llama_batch batch = llama_batch_init(1, 0, 1);
    for (int i = 0; i < max_tokens; ++i) {
        llama_token tok = llama_sampler_sample(sampler.get(), ctx, -1);
        if (llama_vocab_is_eog(vocab, tok)) break;
        out += token_text(vocab, tok);
        batch.n_tokens = 1;
        batch.token[0] = tok;
        batch.pos[0] = n_past++;
        batch.n_seq_id[0] = 1;
        batch.seq_id[0][0] = 0;
        batch.logits[0] = 1;
        if (llama_decode(ctx, batch) != 0) {
            llama_batch_free(batch);
            throw std::runtime_error("the model failed while writing the transcript");
        }
    }
    llama_batch_free(batch);

    // "language English<asr_text>words": the language the model heard, then the words.
    Piece p;
    p.language = language;
    const std::string tag = "<asr_text>";
    if (size_t at = out.find(tag); at != std::string::npos) {
        std::string head = trim(out.substr(0, at));
        if (head.rfind("language ", 0) == 0) p.language = trim(head.substr(9));
        out = out.substr(at + tag.size());
    }
    p.text = trim(out);
    return p;
}

}  // namespace xinfer
