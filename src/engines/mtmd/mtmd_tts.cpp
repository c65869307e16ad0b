#include "engines/mtmd/mtmd_tts.h"

#include <llama.h>
#include <mtmd-helper.h>
#include <mtmd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/text.h"
#include "engines/mtmd/llama_runtime.h"
#include "audio/encode.h"
#include "audio/tempo.h"

namespace xinfer {

namespace {

// Qwen3-TTS's languages: what clients send (ISO code or name) -> the name in its language token.
constexpr std::pair<const char*, const char*> kLanguages[] = {
    {"zh", "chinese"}, {"en", "english"},  {"de", "german"}, {"it", "italian"}, {"pt", "portuguese"},
    {"es", "spanish"}, {"ja", "japanese"}, {"ko", "korean"}, {"fr", "french"},  {"ru", "russian"},
};

// The vocabulary has this text as one special token.
bool has_token(const llama_vocab* vocab, const std::string& text) {
    llama_token t[4];
    return llama_tokenize(vocab, text.c_str(), static_cast<int32_t>(text.size()), t, 4, false, true) == 1;
}

// A frame is 80 ms (12.5 per second); a random or confused model may never say it is done, so the
// length is bounded by what the text could take read slowly: 0.3 s per character and 2 s more.
int max_frames(const std::string& text) {
    size_t chars = 0;
    for (unsigned char c : text) chars += (c & 0xC0) != 0x80;  // UTF-8 code points
    return static_cast<int>(12.5 * (2.0 + 0.3 * static_cast<double>(chars)));
}

}  // namespace

struct MtmdTts::Slot {
    llama_context* ctx = nullptr;
    mtmd_context* mtmd = nullptr;
    mtmd_helper_gen_audio* gen = nullptr;
    llama_sampler* sampler = nullptr;
    ~Slot() {
        if (gen) mtmd_helper_gen_audio_free(gen);
        if (sampler) llama_sampler_free(sampler);
        if (mtmd) mtmd_free(mtmd);
        if (ctx) llama_free(ctx);
    }
};

MtmdTts::MtmdTts(const std::string& model_path, const std::string& projector_path, int concurrency, int threads, bool use_gpu) {
    init_llama_runtime();
    const int n_threads = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    llama_model_params mp = host_model_params(use_gpu);
    model_ = llama_model_load_from_file(model_path.c_str(), mp);
    if (!model_) throw std::runtime_error("llama.cpp cannot load the model file " + model_path);
    const llama_vocab* vocab = llama_model_get_vocab(model_);
    int32_t n_suppress = 0;
    const llama_token* suppress = llama_vocab_get_suppress_tokens(vocab, &n_suppress);
    // Codec control codes must never be sampled as sound: the model's own suppress list, as -inf.
    std::vector<llama_logit_bias> bias;
    for (int32_t i = 0; i < n_suppress; ++i) bias.push_back({suppress[i], -INFINITY});
    for (int i = 0; i < std::max(1, concurrency); ++i) {
        auto slot = std::make_unique<Slot>();
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = 4096;
        cp.n_batch = 512;
        cp.embeddings = true;  // the generator continues from the talker's last hidden state
        cp.n_threads = cp.n_threads_batch = n_threads;
        cp.no_perf = true;
        slot->ctx = llama_init_from_model(model_, cp);
        mtmd_context_params pp = mtmd_context_params_default();
        pp.use_gpu = use_gpu;
        pp.n_threads = n_threads;
        pp.print_timings = false;
        if (slot->ctx) slot->mtmd = mtmd_init_from_file(projector_path.c_str(), model_, pp);
        if (!slot->ctx || !slot->mtmd) {
            slot.reset();
            shutdown();
            throw std::runtime_error("llama.cpp cannot load the speech projector " + projector_path +
                                     " (not an mmproj GGUF made for this model, or out of memory)");
        }
        const mtmd_gen_audio_info info = mtmd_gen_audio_get_info(slot->mtmd);
        if (info.type == MTMD_GEN_AUDIO_TYPE_NONE) {
            slot.reset();
            shutdown();
            throw std::runtime_error(projector_path + " does not generate audio: this is not a text-to-speech model's projector");
        }
        sample_rate_ = info.sample_rate;
        needs_voice_ = info.type == MTMD_GEN_AUDIO_TYPE_POCKETTTS;
        clones_ = mtmd_support_audio(slot->mtmd);
        if (clones_) speaker_rate_ = mtmd_get_audio_sample_rate(slot->mtmd);
        slot->gen = mtmd_helper_gen_audio_init(slot->ctx, slot->mtmd);
        slot->sampler = llama_sampler_chain_init(llama_sampler_chain_default_params());
        if (!bias.empty())
            llama_sampler_chain_add(slot->sampler, llama_sampler_init_logit_bias(llama_vocab_n_tokens(vocab),
                                                                                 static_cast<int32_t>(bias.size()), bias.data()));
        // Qwen3-TTS's recommended sampling: top-k 50 at temperature 0.9.
        llama_sampler_chain_add(slot->sampler, llama_sampler_init_top_k(50));
        llama_sampler_chain_add(slot->sampler, llama_sampler_init_temp(0.9f));
        llama_sampler_chain_add(slot->sampler, llama_sampler_init_dist(LLAMA_DEFAULT_SEED));
        slots_.add(slot.release(), [](Slot* s) { delete s; });
    }
}

MtmdTts::~MtmdTts() { shutdown(); }

void MtmdTts::shutdown() {
    slots_.stop();
    if (model_) llama_model_free(model_);
    model_ = nullptr;
}

Pcm MtmdTts::synthesize(const std::string& text, const std::string& voice, double speed) {
    return synthesize(text, voice, speed, SpeechOptions{});
}

Pcm MtmdTts::synthesize(const std::string& text, const std::string& voice, double speed, const SpeechOptions& o) {
    if (!voice.empty() && voice != "default" && !o.speaker)
        throw UnsupportedRequest("unknown voice '" + voice + "': this model speaks in its own voice ('default') or clones one: "
                                 "upload a recording as prompt_speech, or register it with POST /v1/audio/voices and name it");
    if (o.speaker && !clones_) throw UnsupportedRequest("this model cannot clone a voice (its projector has no speaker encoder)");
    if (!o.speaker && needs_voice_)
        throw UnsupportedRequest("Pocket TTS has no voice of its own: upload a recording as prompt_speech, or register one with "
                                 "POST /v1/audio/voices and name it as the voice");
    std::string language;
    if (!o.language.empty()) {
        const std::string asked = lower(o.language);
        std::string known;
        for (auto& [code, name] : kLanguages) {
            if (asked == code || asked == name) language = name;
            if (has_token(llama_model_get_vocab(model_), std::string("<|codec_language_") + name + "|>"))
                known += (known.empty() ? "" : ", ") + std::string(code);
        }
        if (language.empty() || !has_token(llama_model_get_vocab(model_), "<|codec_language_" + language + "|>"))
            throw UnsupportedRequest("this model cannot speak language '" + o.language + "'; it speaks " + known);
    }
    // The reference recording at the speaker encoder's rate.
    std::vector<float> reference;
    if (o.speaker) reference = (o.speaker->sample_rate == speaker_rate_ ? *o.speaker : resample(*o.speaker, speaker_rate_)).samples;

    Pcm pcm = slots_.run<Pcm>([&](Slot* s) {
        llama_memory_seq_rm(llama_get_memory(s->ctx), 0, -1, -1);  // the helper leaves the cache to its owner
        llama_sampler_reset(s->sampler);
        std::unique_ptr<mtmd_bitmap, decltype(&mtmd_bitmap_free)> speaker(
            reference.empty() ? nullptr : mtmd_bitmap_init_from_audio(reference.size(), reference.data()), mtmd_bitmap_free);
        mtmd_helper_gen_audio_inp in{};
        in.seq_id = 0;
        in.prompt = text.c_str();
        in.prompt_len = text.size();
        in.speaker_ref = speaker.get();
        in.lang = language.empty() ? nullptr : language.c_str();
        in.top_k = 50;
        in.top_p = 1.0f;
        in.seed = std::random_device{}();
        in.out_type = MTMD_HELPER_GEN_AUDIO_OUTTYPE_PCM;
        if (mtmd_helper_gen_audio_set_input(s->gen, &in) != 0) throw std::runtime_error("the model cannot take this text");
        int32_t left;
        while ((left = mtmd_helper_gen_audio_step_prompt(s->gen, 512)) > 0) {
        }
        if (left < 0) throw std::runtime_error("the model failed to read the text (too long for its context?)");
        const int n_embd = llama_model_n_embd(model_);
        llama_token token = llama_sampler_sample(s->sampler, s->ctx, -1);
        const float* last = llama_get_embeddings_ith(s->ctx, -1);
        std::vector<float> state(last, last + n_embd);
        const float* h = state.data();
        bool stop = false;
        for (int frame = 0, limit = max_frames(text); !stop && frame < limit; ++frame) {
            const float* next = nullptr;
            if (mtmd_helper_gen_audio_step_gen(s->gen, token, h, &next, &stop) != 0)
                throw std::runtime_error("the model failed while generating speech");
            if (!next) break;
            h = next;
            token = llama_sampler_sample(s->sampler, s->ctx, -1);
        }
        int32_t rate = 0;
        const char* data = nullptr;
        size_t bytes = 0;
        if (mtmd_helper_gen_audio_get_output(s->gen, &rate, &data, &bytes, nullptr) != 0)
            throw std::runtime_error("the model failed to turn its codes into sound");
        Pcm out;
        out.sample_rate = rate;
        out.samples.resize(bytes / sizeof(float));
        std::memcpy(out.samples.data(), data, out.samples.size() * sizeof(float));
        return out;
    });
    return change_tempo(pcm, speed);
}

}  // namespace xinfer
