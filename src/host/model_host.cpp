#include "host/model_host.h"

#include <httplib.h>

#include <memory>
#include <regex>

#include "api/http_util.h"
#include "audio/decode.h"
#include "audio/encode.h"
#include "common/json_util.h"
#include "common/text.h"
#include "engines/espeak/espeak_tts.h"
#include "engines/flite/flite_tts.h"
#include "engines/llama_encoder/llama_encoder.h"
#include "engines/mtmd/mtmd_stt.h"
#include "engines/mtmd/mtmd_tts.h"
#include "engines/pocketsphinx/pocketsphinx_stt.h"
#include "engines/whisper/whisper_stt.h"
#include "host/encoder_host.h"
#include "host/encoder_routes.h"
#include "host/host_server.h"
#include "host/transcript_format.h"

namespace xinfer {

namespace {

struct Engines {
    std::unique_ptr<SpeechToText> stt;
    std::unique_ptr<TextToSpeech> tts;
    std::unique_ptr<LlamaEncoder> encoder;  // embedding or rerank
};

Engines load(const HostOptions& o) {
    Engines e;
    if (o.engine == "pocketsphinx")
        e.stt = std::make_unique<PocketsphinxStt>(o.model_path.empty() ? default_pocketsphinx_model_dir() : o.model_path,
                                                  std::max(1, o.concurrency));
    else if (o.engine == "whisper") {
        if (o.model_path.empty()) throw std::runtime_error("the whisper engine needs --model-path (a ggml whisper model)");
        e.stt = std::make_unique<WhisperStt>(o.model_path, std::max(1, o.concurrency), o.threads, o.use_gpu);
    } else if (o.engine == "mtmd") {
        if (o.model_path.empty() || o.projector.empty())
            throw std::runtime_error("the mtmd engine needs --model-path (the text model GGUF) and --projector (its mmproj GGUF)");
        e.stt = std::make_unique<MtmdStt>(o.model_path, o.projector, std::max(1, o.concurrency), o.threads, o.use_gpu);
    } else if (o.engine == "mtmd-tts") {
        if (o.model_path.empty() || o.projector.empty())
            throw std::runtime_error("the mtmd-tts engine needs --model-path (the talker GGUF) and --projector (its mmproj GGUF)");
        e.tts = std::make_unique<MtmdTts>(o.model_path, o.projector, std::max(1, o.concurrency), o.threads, o.use_gpu);
    } else if (is_encoder_engine(o.engine)) {
        e.encoder = load_encoder(o);
    } else if (o.engine == "flite") e.tts = std::make_unique<FliteTts>();
    else if (o.engine == "espeak") e.tts = std::make_unique<EspeakTts>();
    else throw std::runtime_error("unknown speech engine '" + o.engine + "' (pocketsphinx, whisper, mtmd, mtmd-tts, flite, espeak, "
                                      "llama-embedding, llama-rerank)");
    return e;
}

// Sentences, so streamed speech starts after the first one instead of after the whole text.
std::vector<std::string> sentences(const std::string& text) {
    static const std::regex end_re("([.!?;:]+\\s+|\\n+|。|！|？|；)");
    std::vector<std::string> out;
    std::sregex_iterator it(text.begin(), text.end(), end_re), stop;
    size_t from = 0;
    for (; it != stop; ++it) {
        size_t to = static_cast<size_t>(it->position() + it->length());
        std::string s = text.substr(from, to - from);
        if (s.find_first_not_of(" \t\n") != std::string::npos) out.push_back(s);
        from = to;
    }
    if (from < text.size() && text.find_first_not_of(" \t\n", from) != std::string::npos) out.push_back(text.substr(from));
    return out;
}

void add_transcription_route(httplib::Server& server, SpeechToText& stt, const char* path, bool translate) {
    server.Post(path, guarded([&stt, translate](const httplib::Request& req, httplib::Response& res) {
        if (!req.form.has_file("file")) throw bad_request("'file' (the audio upload) is required", "file");
        auto field = [&](const char* k) { return req.form.has_field(k) ? req.form.get_field(k) : std::string(); };
        std::string format = field("response_format");
        if (format.empty()) format = "json";
        if (!is_transcript_format(format))
            throw bad_request("'response_format' must be json, text, srt, vtt or verbose_json", "response_format");
        TranscribeOptions opt;
        opt.language = field("language");
        opt.prompt = field("prompt");
        opt.translate = translate;
        if (auto t = field("temperature"); !t.empty()) {
            try {
                opt.temperature = std::stof(t);
                opt.temperature_given = true;
            } catch (...) {
                throw bad_request("'temperature' must be a number", "temperature");
            }
        }
        Pcm pcm;
        try {
            pcm = decode_audio(req.form.get_file("file").content);
        } catch (const AudioDecodeError& e) {
            throw bad_request(std::string("Cannot read the audio file: ") + e.what(), "file");
        }
        Transcript t;
        try {
            t = stt.transcribe(pcm, opt);
        } catch (const UnsupportedRequest& e) {
            throw bad_request(e.what());
        }
        auto out = format_transcript(t, format, translate ? "translate" : "transcribe");
        res.set_content(out.body, out.content_type);
    }));
}

// OpenAI's JSON body, or the multipart form Xinference's client sends when it uploads a voice to
// clone (prompt_speech): the same fields either way.
struct SpeechRequest {
    std::string input, voice, format = "mp3";
    double speed = 1.0;
    bool stream = false;
    SpeechOptions options;
    Pcm speaker;  // the decoded prompt_speech, when there is one
};

SpeechRequest read_speech_request(const httplib::Request& req) {
    SpeechRequest r;
    json body;
    if (req.is_multipart_form_data()) {
        body = json::object();
        for (auto& [name, f] : req.form.fields) body[name] = f.content;
        // Form fields are text: numbers and booleans as Python's requests writes them.
        if (body.contains("speed")) {
            try {
                body["speed"] = std::stod(body["speed"].get<std::string>());
            } catch (...) {
                throw bad_request("'speed' must be a number", "speed");
            }
        }
        if (body.contains("stream")) body["stream"] = lower(body["stream"].get<std::string>()) == "true";
    } else {
        body = parse_json_object(req.body);
    }
    r.input = require_string(body, "input");
    r.voice = opt_string(body, "voice").value_or("");
    r.format = opt_string(body, "response_format").value_or("mp3");
    if (!is_audio_format(r.format)) throw bad_request("'response_format' must be mp3, opus, aac, flac, wav or pcm", "response_format");
    if (body.contains("speed") && !body["speed"].is_null()) {
        if (!body["speed"].is_number()) throw bad_request("'speed' must be a number", "speed");
        r.speed = body["speed"].get<double>();
        if (r.speed < 0.25 || r.speed > 4.0) throw bad_request("'speed' must be between 0.25 and 4.0", "speed");
    }
    r.stream = opt_bool(body, "stream").value_or(false);
    r.options.language = opt_string(body, "language").value_or("");
    // Xinference's client puts further options in a JSON string, "kwargs".
    if (r.options.language.empty() && body.contains("kwargs") && body["kwargs"].is_string()) {
        json kw = json::parse(body["kwargs"].get<std::string>(), nullptr, false);
        if (kw.is_object() && kw.contains("language") && kw["language"].is_string()) r.options.language = kw["language"];
    }
    if (req.is_multipart_form_data() && req.form.has_file("prompt_speech")) {
        try {
            r.speaker = decode_audio(req.form.get_file("prompt_speech").content);
        } catch (const AudioDecodeError& e) {
            throw bad_request(std::string("Cannot read the voice recording (prompt_speech): ") + e.what(), "prompt_speech");
        }
        if (r.speaker.seconds() < 1.0) throw bad_request("The voice recording (prompt_speech) must be at least 1 second long", "prompt_speech");
        r.options.speaker = &r.speaker;
    }
    return r;
}

void add_speech_route(httplib::Server& server, TextToSpeech& tts) {
    server.Post("/v1/audio/speech", guarded([&tts](const httplib::Request& req, httplib::Response& res) {
        auto r = std::make_shared<SpeechRequest>(read_speech_request(req));
        r->options.speaker = r->speaker.samples.empty() ? nullptr : &r->speaker;  // points into the shared copy
        try {
            if (!r->stream || (r->format != "pcm" && r->format != "mp3")) {
                Pcm pcm = tts.synthesize(r->input, r->voice, r->speed, r->options);
                res.set_content(encode_audio(pcm, r->format), audio_content_type(r->format));
                return;
            }
            // Streaming: synthesize and send one sentence at a time (pcm and mp3 concatenate).
            auto parts = std::make_shared<std::vector<std::string>>(sentences(r->input));
            if (parts->empty()) parts->push_back(r->input);
            // The first sentence now: a bad voice or language is a 400, not a broken stream.
            auto first = std::make_shared<std::string>(encode_audio(tts.synthesize((*parts)[0], r->voice, r->speed, r->options), r->format));
            auto next = std::make_shared<size_t>(1);
            res.set_chunked_content_provider(audio_content_type(r->format), [&tts, r, parts, next, first](size_t, httplib::DataSink& sink) {
                if (!first->empty()) {
                    std::string chunk = std::move(*first);
                    first->clear();
                    return sink.write(chunk.data(), chunk.size());
                }
                if (*next >= parts->size()) {
                    sink.done();
                    return true;
                }
                std::string chunk = encode_audio(tts.synthesize((*parts)[(*next)++], r->voice, r->speed, r->options), r->format);
                return sink.write(chunk.data(), chunk.size());
            });
        } catch (const UnsupportedRequest& e) {
            const std::string why = e.what();
            throw bad_request(why, why.find("language") != std::string::npos ? "language" : "voice");
        }
    }));
}

}  // namespace

int run_model_host(const HostOptions& o) {
    return serve_model_host(o, [&o]() -> HostRoutes {
        auto engines = std::make_shared<Engines>(load(o));
        return [engines](httplib::Server& server) {
            if (engines->stt) {
                add_transcription_route(server, *engines->stt, "/v1/audio/transcriptions", false);
                add_transcription_route(server, *engines->stt, "/v1/audio/translations", true);
            }
            if (engines->tts) add_speech_route(server, *engines->tts);
            if (engines->encoder) add_encoder_routes(server, *engines->encoder);
        };
    });
}

}  // namespace xinfer
