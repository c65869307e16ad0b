// Speech benchmark: real-time factor (seconds of audio per second of compute) for transcription
// (pocketsphinx) and synthesis (flite), with the engine called directly in this process and
// through xinfer's HTTP API and model host, interleaved in one run; prints the ratio (goal >= 0.95).
//
//   bench_speech XINFER_BIN [rounds=5] [WHISPER_MODEL.bin]
#include <chrono>
#include <memory>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "audio/encode.h"
#include "bench_harness.h"
#include "common/http_client.h"
#include "engines/flite/flite_tts.h"
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
    int rounds = argc > 2 ? std::stoi(argv[2]) : 5;
    xinfer::FliteTts tts;
    xinfer::PocketsphinxStt stt(xinfer::default_pocketsphinx_model_dir(), 1);
    bench::Service svc(argv[1]);
    svc.launch({{"model_name", "flite"}, {"model_type", "audio"}});
    svc.launch({{"model_name", "pocketsphinx-en-us"}, {"model_type", "audio"}, {"concurrency", 1}});
    auto api = xinfer::make_client(svc.front());
    api->set_read_timeout(600, 0);

    xinfer::Pcm speech = tts.synthesize(kText, "slt", 1.0);
    xinfer::Pcm speech16 = xinfer::resample(speech, 16000);
    std::string wav = xinfer::encode_audio(speech16, "wav");
    const double audio_s = speech16.seconds();
    std::printf("speech benchmark: %.1f s of flite speech, %d rounds, medians (RTF = audio seconds per compute second)\n",
                audio_s, rounds);

    const std::string whisper_path = argc > 3 ? argv[3] : "";
    std::unique_ptr<xinfer::WhisperStt> whisper;
    if (!whisper_path.empty()) {
        whisper = std::make_unique<xinfer::WhisperStt>(whisper_path, 1, 0);
        // Same threads as the in-process engine (which uses every core), so only the path differs.
        const int cores = static_cast<int>(std::thread::hardware_concurrency());
        svc.launch({{"model_name", "whisper"}, {"model_type", "audio"}, {"model_path", whisper_path}, {"concurrency", 1},
                    {"n_threads", cores}});
    }
    std::vector<double> stt_direct, stt_xinfer, tts_direct, tts_xinfer, wh_direct, wh_xinfer;
    for (int r = 0; r < rounds; ++r) {
        auto t0 = Clock::now();
        stt.transcribe(speech16, {});
        stt_direct.push_back(audio_s / seconds_since(t0));

        t0 = Clock::now();
        httplib::UploadFormDataItems items = {{"model", "pocketsphinx-en-us", "", ""}, {"file", wav, "speech.wav", "audio/wav"}};
        auto res = api->Post("/v1/audio/transcriptions", items);
        if (!res || res->status != 200) return std::fprintf(stderr, "transcription failed\n"), 1;
        stt_xinfer.push_back(audio_s / seconds_since(t0));

        if (whisper) {
            xinfer::TranscribeOptions o;
            o.language = "en";
            o.temperature_given = true;
            t0 = Clock::now();
            whisper->transcribe(speech16, o);
            wh_direct.push_back(audio_s / seconds_since(t0));
            t0 = Clock::now();
            httplib::UploadFormDataItems w = {{"model", "whisper", "", ""}, {"language", "en", "", ""},
                                              {"temperature", "0", "", ""}, {"file", wav, "speech.wav", "audio/wav"}};
            auto wr = api->Post("/v1/audio/transcriptions", w);
            if (!wr || wr->status != 200) return std::fprintf(stderr, "whisper transcription failed\n"), 1;
            wh_xinfer.push_back(audio_s / seconds_since(t0));
        }

        t0 = Clock::now();
        xinfer::encode_audio(tts.synthesize(kText, "slt", 1.0), "wav");
        tts_direct.push_back(audio_s / seconds_since(t0));

        t0 = Clock::now();
        bench::post_or_die(svc.front(), "/v1/audio/speech",
                           json{{"model", "flite"}, {"input", kText}, {"voice", "slt"}, {"response_format", "wav"}}.dump());
        tts_xinfer.push_back(audio_s / seconds_since(t0));
    }
    double sd = bench::median(stt_direct), sx = bench::median(stt_xinfer);
    double td = bench::median(tts_direct), tx = bench::median(tts_xinfer);
    std::printf("%-28s %10s %10s %8s\n", "task", "direct", "xinfer", "ratio");
    std::printf("%-28s %10.2f %10.2f %8.3f\n", "transcribe (pocketsphinx)", sd, sx, sx / sd);
    std::printf("%-28s %10.2f %10.2f %8.3f\n", "synthesize wav (flite)", td, tx, tx / td);
    bool ok = sx / sd >= 0.95 && tx / td >= 0.95;
    if (whisper) {
        double wd = bench::median(wh_direct), wx = bench::median(wh_xinfer);
        std::printf("%-28s %10.2f %10.2f %8.3f\n", "transcribe (whisper)", wd, wx, wx / wd);
        ok = ok && wx / wd >= 0.95;
    }
    std::printf("%s\n", ok ? "within goals (>= 0.95)" : "OUTSIDE GOALS");
    return 0;
}
