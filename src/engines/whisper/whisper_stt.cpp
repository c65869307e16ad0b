#include "engines/whisper/whisper_stt.h"

#include <whisper.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <thread>

#include "host/ggml_backends.h"

namespace xinfer {

namespace {
void quiet_log(ggml_log_level, const char*, void*) {}

// OpenAI clients send ISO codes ("en", "zh") or names ("english"); whisper takes either.
std::string normalize_language(std::string lang) {
    std::transform(lang.begin(), lang.end(), lang.begin(), ::tolower);
    return lang;
}
}  // namespace

WhisperStt::WhisperStt(const std::string& path, int concurrency, int threads, bool use_gpu)
    : threads_(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) {
    whisper_log_set(quiet_log, nullptr);
    load_ggml_backends();
    whisper_context_params cp = whisper_context_default_params();
    cp.use_gpu = use_gpu;  // without a GPU backend whisper.cpp stays on the CPU
    ctx_ = whisper_init_from_file_with_params_no_state(path.c_str(), cp);
    if (!ctx_) throw std::runtime_error("whisper.cpp cannot load the model file " + path + " (not a whisper ggml model?)");
    for (int i = 0; i < std::max(1, concurrency); ++i) {
        whisper_state* state = whisper_init_state(ctx_);
        if (!state) {
            shutdown();  // the slots already started, and the model
            throw std::runtime_error("whisper.cpp could not allocate a decoding state (out of memory?)");
        }
        slots_.add(state, whisper_free_state);
    }
}

WhisperStt::~WhisperStt() { shutdown(); }

void WhisperStt::shutdown() {
    slots_.stop();
    if (ctx_) whisper_free(ctx_);
    ctx_ = nullptr;
}

Transcript WhisperStt::transcribe(const Pcm& pcm, const TranscribeOptions& opt) {
    const bool multilingual = whisper_is_multilingual(ctx_) != 0;
    std::string lang = normalize_language(opt.language);
    if (!lang.empty() && lang != "auto" && whisper_lang_id(lang.c_str()) < 0)
        throw UnsupportedRequest("unknown language '" + opt.language + "' (use an ISO 639-1 code such as en, zh, de)");
    if (!multilingual && opt.translate) throw UnsupportedRequest("this whisper model is English-only; it cannot translate");
    if (!multilingual && !lang.empty() && lang != "en" && lang != "english")
        throw UnsupportedRequest("this whisper model is English-only (language '" + opt.language + "')");

    return slots_.run<Transcript>([&](whisper_state* state) { return decode(state, pcm, opt, lang, multilingual); });
}

Transcript WhisperStt::decode(whisper_state* state, const Pcm& pcm, const TranscribeOptions& opt, const std::string& lang,
                              bool multilingual) const {
    whisper_full_params wp = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
    wp.n_threads = threads_;
    wp.print_progress = false;
    wp.print_realtime = false;
    wp.print_timestamps = false;
    wp.print_special = false;
    wp.translate = opt.translate;
    wp.language = lang.empty() ? (multilingual ? "auto" : "en") : lang.c_str();
    wp.detect_language = false;
    wp.initial_prompt = opt.prompt.empty() ? nullptr : opt.prompt.c_str();
    wp.temperature = opt.temperature;
    // OpenAI's rule: with no temperature given, retry hard windows at rising temperatures.
    if (opt.temperature_given) wp.temperature_inc = 0.0f;
    wp.no_context = true;
    if (whisper_full_with_state(ctx_, state, wp, pcm.samples.data(), static_cast<int>(pcm.samples.size())) != 0)
        throw std::runtime_error("whisper.cpp failed to transcribe the audio");

    Transcript t;
    t.duration = pcm.seconds();
    int lang_id = whisper_full_lang_id_from_state(state);
    t.language = lang_id >= 0 ? whisper_lang_str(lang_id) : (lang.empty() ? "en" : lang);
    for (int i = 0, n = whisper_full_n_segments_from_state(state); i < n; ++i) {
        TranscriptSegment s;
        s.start = whisper_full_get_segment_t0_from_state(state, i) / 100.0;  // 10 ms units
        s.end = whisper_full_get_segment_t1_from_state(state, i) / 100.0;
        // Timestamps from a confused model can fall outside the audio: keep them inside it.
        s.start = std::clamp(s.start, 0.0, t.duration);
        s.end = std::clamp(s.end, s.start, t.duration);
        s.text = whisper_full_get_segment_text_from_state(state, i);
        size_t first = s.text.find_first_not_of(' ');
        s.text = first == std::string::npos ? "" : s.text.substr(first);
        t.segments.push_back(s);
        t.text += (t.text.empty() || s.text.empty() ? "" : " ") + s.text;
    }
    return t;
}

}  // namespace xinfer
