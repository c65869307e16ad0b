#include "engines/flite/flite_tts.h"

extern "C" {
#include <flite/flite.h>
cst_voice* register_cmu_us_slt(const char* voxdir);
cst_voice* register_cmu_us_awb(const char* voxdir);
cst_voice* register_cmu_us_rms(const char* voxdir);
cst_voice* register_cmu_us_kal16(const char* voxdir);
cst_voice* register_cmu_us_kal(const char* voxdir);
}

namespace xinfer {

namespace {
// OpenAI's voices onto flite's: female voices to slt, male to rms/awb.
const std::map<std::string, std::string>& openai_voice_map() {
    static const std::map<std::string, std::string> m = {
        {"alloy", "slt"}, {"nova", "slt"},  {"shimmer", "slt"}, {"coral", "slt"}, {"sage", "slt"},
        {"echo", "rms"},  {"onyx", "rms"},  {"ash", "rms"},     {"fable", "awb"}, {"ballad", "awb"},
        {"verse", "kal16"}};
    return m;
}
}  // namespace

FliteTts::FliteTts() {
    flite_init();
    voices_["slt"] = register_cmu_us_slt(nullptr);
    voices_["awb"] = register_cmu_us_awb(nullptr);
    voices_["rms"] = register_cmu_us_rms(nullptr);
    voices_["kal16"] = register_cmu_us_kal16(nullptr);
    voices_["kal"] = register_cmu_us_kal(nullptr);
}

std::vector<std::string> FliteTts::voices() const {
    std::vector<std::string> v;
    for (auto& [name, _] : voices_) v.push_back(name);
    for (auto& [name, _] : openai_voice_map()) v.push_back(name);
    return v;
}

Pcm FliteTts::synthesize(const std::string& text, const std::string& voice_name, double speed) {
    std::string name = voice_name.empty() ? "slt" : voice_name;
    if (auto it = openai_voice_map().find(name); it != openai_voice_map().end()) name = it->second;
    auto it = voices_.find(name);
    if (it == voices_.end())
        throw UnsupportedRequest("unknown voice '" + voice_name + "'; flite voices: slt, awb, rms, kal16, kal (or alloy, echo, fable, onyx, nova, shimmer)");
    std::lock_guard lock(mu_);
    cst_voice* v = it->second;
    feat_set_float(v->features, "duration_stretch", static_cast<float>(1.0 / speed));
    cst_wave* w = flite_text_to_wave(text.c_str(), v);
    if (!w) throw std::runtime_error("flite produced no audio");
    Pcm out;
    out.sample_rate = w->sample_rate;
    out.samples.resize(static_cast<size_t>(w->num_samples));
    for (int i = 0; i < w->num_samples; ++i) out.samples[i] = w->samples[i] / 32768.0f;
    delete_wave(w);
    return out;
}

}  // namespace xinfer
