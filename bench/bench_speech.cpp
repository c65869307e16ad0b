// Speech benchmark: real-time factor (seconds of audio per second of compute) for transcription
// (pocketsphinx, whisper, Qwen3-ASR) and synthesis (flite), with the engine called directly in this
// process and through xinfer's HTTP API and model host, interleaved in one run (the three in an
// order that rotates round by round); prints the median of the round-by-round ratios with its
// confidence range (goal >= 0.95). Qwen3-ASR's reference is llama.cpp's own llama-server with the
// projector, started by hand with the same threads, generating the same number of tokens.
//
// Qwen3-TTS's reference is the same engine (libmtmd's audio generation) driven in this process.
//
//   bench_speech XINFER_BIN [rounds=9] [WHISPER_MODEL.bin|-] [QWEN3_ASR_FOLDER|-] [QWEN3_TTS_FOLDER]
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "audio/decode.h"
#include "audio/encode.h"
#include "bench_harness.h"
#include "common/http_client.h"
#include "engines/flite/flite_tts.h"
#include "engines/mtmd/mtmd_tts.h"
#include "engines/pocketsphinx/pocketsphinx_stt.h"
#include "engines/whisper/whisper_stt.h"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {
const char* kText =
    "The quarterly meeting starts at ten in the morning. Please bring the report on customer search, "
    "and the numbers for the new transcription service. We will also review the budget for next year.";

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s XINFER_BIN [rounds=3]\n", argv[0]);
        return 2;
    }
    int rounds = argc > 2 ? std::stoi(argv[2]) : 9;
    xinfer::FliteTts tts;
    xinfer::PocketsphinxStt stt(xinfer::default_pocketsphinx_model_dir(), 1);
    // Every engine gets every core, as when started by hand; the rounds run one request at a time,
    // so the budget (which would give the later models none) is widened for this run.
    setenv("XINFER_CPU_CORES", std::to_string(4 * std::thread::hardware_concurrency()).c_str(), 1);
    bench::Service svc(argv[1]);
    const std::string flite_host = svc.launch({{"model_name", "flite"}, {"model_type", "audio"}});
    const std::string sphinx_host = svc.launch({{"model_name", "pocketsphinx-en-us"}, {"model_type", "audio"}, {"concurrency", 1}});
    std::string whisper_host;
    auto api = xinfer::make_client(svc.front());
    api->set_read_timeout(600, 0);

    xinfer::Pcm speech = tts.synthesize(kText, "slt", 1.0);
    xinfer::Pcm speech16 = xinfer::resample(speech, 16000);
    std::string wav = xinfer::encode_audio(speech16, "wav");
    // The in-process engine gets exactly the samples the host decodes from the upload (16-bit),
    // so every path transcribes the same input (a model's work depends on what it hears).
    speech16 = xinfer::decode_audio(wav);
    const double audio_s = speech16.seconds();
    std::printf("speech benchmark: %.1f s of flite speech, %d rounds, medians (RTF = audio seconds per compute second)\n",
                audio_s, rounds);

    // "-" skips a model. Whisper and Qwen3-TTS both compute with OpenMP teams in this process, and
    // two teams on 2 cores make OpenMP sleep at its barriers (both would measure slow): give them
    // in separate runs (`bench_speech XINFER 9 WHISPER.bin ASR_DIR -`, `bench_speech XINFER 9 - - TTS_DIR`).
    auto arg = [&](int i) { return argc > i && std::string(argv[i]) != "-" ? std::string(argv[i]) : std::string(); };
    const std::string whisper_path = arg(3);
    std::unique_ptr<xinfer::WhisperStt> whisper;
    if (!whisper_path.empty()) {
        whisper = std::make_unique<xinfer::WhisperStt>(whisper_path, 1, 0);
        // Same threads as the in-process engine (which uses every core), so only the path differs.
        const int cores = static_cast<int>(std::thread::hardware_concurrency());
        whisper_host = svc.launch({{"model_name", "whisper"}, {"model_type", "audio"}, {"model_path", whisper_path},
                                   {"concurrency", 1}, {"n_threads", cores}});
    }
    // Qwen3-ASR: a folder with model.gguf and mmproj-model.gguf (make_tiny_gguf qwen3-asr, or real files).
    const std::string asr_dir = arg(4);
    std::unique_ptr<bench::Engine> asr_reference;
    std::string asr_host;
    const int asr_tokens = 32 + static_cast<int>(12.0 * audio_s);  // what xinfer's engine allows per piece
    if (!asr_dir.empty()) {
        const int cores = static_cast<int>(std::thread::hardware_concurrency());
        const std::string server = (std::filesystem::path(argv[1]).parent_path() / "llama-server").string();
        std::string model, projector;
        for (auto& e : std::filesystem::directory_iterator(asr_dir))
            (e.path().filename().string().rfind("mmproj", 0) == 0 ? projector : model) = e.path().string();
        asr_reference = std::make_unique<bench::Engine>(server, std::vector<std::string>{"-m", model, "--mmproj", projector, "-t",
            std::to_string(cores), "-c", "2048", "-np", "1", "--no-webui"});
        asr_host = svc.launch({{"model_name", "Qwen3-ASR-0.6B"}, {"model_type", "audio"}, {"model_path", asr_dir},
                               {"concurrency", 1}, {"n_threads", cores}});
    }
    // Qwen3-TTS: a folder with the talker (model.gguf) and its projector (mmproj-model.gguf).
    const std::string tts_dir = arg(5);
    std::unique_ptr<xinfer::MtmdTts> qwen_tts;
    std::string tts_host;
    const std::string tts_text = "The quarterly meeting starts at ten in the morning.";
    if (!tts_dir.empty()) {
        const int cores = static_cast<int>(std::thread::hardware_concurrency());
        qwen_tts = std::make_unique<xinfer::MtmdTts>(tts_dir + "/model.gguf", tts_dir + "/mmproj-model.gguf", 1, cores, false);
        tts_host = svc.launch({{"model_name", "Qwen3-TTS-12Hz-0.6B-Base"}, {"model_type", "audio"}, {"model_path", tts_dir},
                               {"concurrency", 1}, {"n_threads", cores}});
    }
    // Three paths per task: the engine in this process, the model host process straight over its
    // socket, and through xinfer. xinfer/host isolates what routing costs.
    struct Row {
        const char* name;
        std::vector<double> direct, host, xinfer;
    };
    Row sphinx{"transcribe (pocketsphinx)", {}, {}, {}}, flite{"synthesize wav (flite)", {}, {}, {}},
        wh{"transcribe (whisper)", {}, {}, {}}, asr{"transcribe (Qwen3-ASR)*", {}, {}, {}},
        qtts{"synthesize wav (Qwen3-TTS)", {}, {}, {}};
    auto upload = [&](const std::string& address, const std::string& model, bool whisper_opts, bool token_limit = false) {
        auto c = xinfer::make_client(address);
        c->set_read_timeout(600, 0);
        httplib::UploadFormDataItems items = {{"model", model, "", ""}, {"file", wav, "speech.wav", "audio/wav"}};
        if (whisper_opts) items.insert(items.end(), {{"language", "en", "", ""}, {"temperature", "0", "", ""}});
        if (token_limit) items.push_back({"max_tokens", std::to_string(asr_tokens), "", ""});
        auto t0 = Clock::now();
        auto res = c->Post("/v1/audio/transcriptions", items);
        if (!res || res->status != 200) std::fprintf(stderr, "transcription failed\n"), std::exit(1);
        return audio_s / seconds_since(t0);
    };
    auto speak = [&](const std::string& address) {
        auto t0 = Clock::now();
        bench::post_or_die(address, "/v1/audio/speech",
                           json{{"model", "flite"}, {"input", kText}, {"voice", "slt"}, {"response_format", "wav"}}.dump());
        return audio_s / seconds_since(t0);
    };
    // Speech out of Qwen3-TTS: seconds of audio made per second (its length is the model's choice).
    auto speak_qwen = [&](const std::string& address, const std::string& model) {
        auto t0 = Clock::now();
        std::string wav_out = bench::post_or_die(address, "/v1/audio/speech",
                                                 json{{"model", model}, {"input", tts_text}, {"response_format", "wav"}}.dump());
        return static_cast<double>(wav_out.size() - 44) / (24000 * 2) / seconds_since(t0);
    };
    // Each task's three paths, in an order that rotates round by round (so that none always runs
    // first, on a machine that got faster or slower meanwhile).
    auto measure = [&](Row& row, const std::function<double()>& direct, const std::function<double()>& host,
                       const std::function<double()>& through, int round) {
        const std::function<double()>* paths[3] = {&direct, &host, &through};
        std::vector<double>* out[3] = {&row.direct, &row.host, &row.xinfer};
        for (int k = 0; k < 3; ++k) {
            const int p = (k + round) % 3;
            out[p]->push_back((*paths[p])());
        }
    };
    for (int r = 0; r < rounds; ++r) {
        measure(sphinx, [&] {
            auto t0 = Clock::now();
            stt.transcribe(speech16, {});
            return audio_s / seconds_since(t0);
        }, [&] { return upload(sphinx_host, "pocketsphinx-en-us", false); },
           [&] { return upload(svc.front(), "pocketsphinx-en-us", false); }, r);
        measure(flite, [&] {
            auto t0 = Clock::now();
            xinfer::encode_audio(tts.synthesize(kText, "slt", 1.0), "wav");
            return audio_s / seconds_since(t0);
        }, [&] { return speak(flite_host); }, [&] { return speak(svc.front()); }, r);
        if (whisper)
            measure(wh, [&] {
                xinfer::TranscribeOptions o;
                o.language = "en";
                o.temperature_given = true;
                auto t0 = Clock::now();
                whisper->transcribe(speech16, o);
                return audio_s / seconds_since(t0);
            }, [&] { return upload(whisper_host, "whisper", true); }, [&] { return upload(svc.front(), "whisper", true); }, r);
        if (asr_reference)
            measure(asr, [&] { return upload(asr_reference->address(), "asr", false, true); },
                    [&] { return upload(asr_host, "Qwen3-ASR-0.6B", false); },
                    [&] { return upload(svc.front(), "Qwen3-ASR-0.6B", false); }, r);
        if (qwen_tts)
            measure(qtts, [&] {
                auto t0 = Clock::now();
                xinfer::Pcm made = qwen_tts->synthesize(tts_text, "", 1.0);
                xinfer::encode_audio(made, "wav");
                return made.seconds() / seconds_since(t0);
            }, [&] { return speak_qwen(tts_host, "Qwen3-TTS-12Hz-0.6B-Base"); },
               [&] { return speak_qwen(svc.front(), "Qwen3-TTS-12Hz-0.6B-Base"); }, r);
    }
    // Ratios are the medians of the round-by-round ratios (bench::round_ratios), with the
    // confidence range of xinfer/direct and its single rounds.
    std::printf("%-28s %10s %10s %10s %14s %12s %14s %12s\n", "task (RTF)", "in-process", "host", "xinfer", "xinfer/direct",
                "ci", "rounds", "xinfer/host");
    bool ok = true;
    for (Row* row : {&sphinx, &flite, &wh, &asr, &qtts}) {
        if (row->direct.empty()) continue;
        const bench::RatioSpread d = bench::round_ratios(row->xinfer, row->direct);
        const bench::RatioSpread h = bench::round_ratios(row->xinfer, row->host);
        std::printf("%-28s %10.2f %10.2f %10.2f %14.3f %5.3f-%5.3f %6.3f-%6.3f %12.3f\n", row->name, bench::median(row->direct),
                    bench::median(row->host), bench::median(row->xinfer), d.median, d.ci_low, d.ci_high, d.low, d.high, h.median);
        ok = ok && d.median >= 0.95;
    }
    if (asr_reference)
        std::printf("* Qwen3-ASR: in-process column = llama-server with --mmproj started by hand (%d tokens written)\n", asr_tokens);
    std::printf("%s\n", ok ? "within goals (>= 0.95)" : "OUTSIDE GOALS");
    return 0;
}
