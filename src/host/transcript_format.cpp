#include "host/transcript_format.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

namespace xinfer {

namespace {
std::string language_name(const std::string& code) {
    static const std::map<std::string, std::string> names = {
        {"en", "english"}, {"zh", "chinese"}, {"de", "german"}, {"es", "spanish"}, {"fr", "french"},
        {"ja", "japanese"}, {"ru", "russian"}, {"ko", "korean"}, {"it", "italian"}, {"pt", "portuguese"}};
    auto it = names.find(code);
    return it == names.end() ? code : it->second;
}
}  // namespace

bool is_transcript_format(const std::string& f) {
    return f == "json" || f == "text" || f == "srt" || f == "vtt" || f == "verbose_json";
}

std::string timestamp(double seconds, char sep) {
    long long ms = std::llround(std::max(0.0, seconds) * 1000);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, sep, ms % 1000);
    return buf;
}

FormattedTranscript format_transcript(const Transcript& t, const std::string& format, const std::string& task) {
    using json = nlohmann::json;
    if (format == "text") return {t.text + "\n", "text/plain; charset=utf-8"};
    if (format == "srt" || format == "vtt") {
        std::string out = format == "vtt" ? "WEBVTT\n\n" : "";
        int n = 1;
        for (auto& s : t.segments) {
            if (format == "srt") out += std::to_string(n++) + "\n";
            char sep = format == "srt" ? ',' : '.';
            out += timestamp(s.start, sep) + " --> " + timestamp(s.end, sep) + "\n" + s.text + "\n\n";
        }
        return {out, format == "vtt" ? "text/vtt; charset=utf-8" : "application/x-subrip; charset=utf-8"};
    }
    if (format == "verbose_json") {
        json segs = json::array();
        int id = 0;
        for (auto& s : t.segments)
            segs.push_back({{"id", id++}, {"seek", 0}, {"start", s.start}, {"end", s.end}, {"text", s.text},
                            {"tokens", json::array()}, {"temperature", 0.0}, {"avg_logprob", nullptr},
                            {"compression_ratio", nullptr}, {"no_speech_prob", nullptr}});
        json j = {{"task", task}, {"language", language_name(t.language)}, {"duration", t.duration},
                  {"text", t.text}, {"segments", segs}};
        return {j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json"};
    }
    // Models can emit a multi-byte character split across tokens: replace, never fail.
    return {json{{"text", t.text}}.dump(-1, ' ', false, json::error_handler_t::replace), "application/json"};
}

}  // namespace xinfer
