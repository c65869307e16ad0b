#include "engines/espeak/espeak_tts.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>

#include "audio/decode.h"
#include "common/subprocess.h"

namespace xinfer {

EspeakTts::EspeakTts(std::string program) : program_(std::move(program)) {
    if (program_.find('/') == std::string::npos)
        for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"})
            if (access((dir + program_).c_str(), X_OK) == 0) {
                program_ = dir + program_;
                break;
            }
    if (access(program_.c_str(), X_OK) != 0) throw std::runtime_error("espeak-ng is not installed (" + program_ + ")");
}

std::vector<std::string> EspeakTts::voices() const { return {"en", "en-us", "zh", "cmn", "fr", "de", "es", "ja", "ru", "..."}; }

Pcm EspeakTts::synthesize(const std::string& text, const std::string& voice, double speed) {
    // OpenAI voice names mean "the default voice" here; anything else is an espeak-ng voice.
    static const std::regex openai("alloy|echo|fable|onyx|nova|shimmer|coral|sage|ash|ballad|verse");
    std::string v = voice.empty() || std::regex_match(voice, openai) ? "en" : voice;
    static const std::regex safe("[A-Za-z0-9_+\\-/]{1,40}");
    if (!std::regex_match(v, safe)) throw UnsupportedRequest("invalid espeak-ng voice name '" + voice + "'");
    static std::atomic<int> counter{0};
    auto wav = std::filesystem::temp_directory_path() /
               ("xinfer-espeak-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".wav");
    auto log = wav.string() + ".log";
    int wpm = static_cast<int>(std::lround(175 * speed));
    std::promise<int> done;
    // "--" ends options, so text starting with '-' is spoken, not parsed.
    ProcessManager::instance().spawn({{program_, "-v", v, "-s", std::to_string(wpm), "-w", wav.string(), "--", text}, {}, log},
                                     [&](int st) { done.set_value(st); });
    int st = done.get_future().get();
    std::string err = tail_lines(log, 3);
    std::filesystem::remove(log);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !std::filesystem::exists(wav)) {
        std::filesystem::remove(wav);
        if (err.find("voice") != std::string::npos || err.find("Voice") != std::string::npos)
            throw UnsupportedRequest("espeak-ng has no voice '" + v + "'");
        throw std::runtime_error("espeak-ng failed: " + err);
    }
    std::ifstream in(wav, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::filesystem::remove(wav);
    return decode_audio(ss.str(), 22050);
}

}  // namespace xinfer
