#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "audio/decode.h"
#include "audio/encode.h"
#include "host/transcript_format.h"

using namespace xinfer;

namespace {
Pcm tone(double seconds, int rate) {
    Pcm p;
    p.sample_rate = rate;
    for (int i = 0; i < static_cast<int>(seconds * rate); ++i) p.samples.push_back(0.5f * std::sin(2 * M_PI * 440 * i / rate));
    return p;
}
}  // namespace

TEST(Audio, EveryFormatEncodesAndDecodesBackToSameDuration) {
    Pcm t = tone(1.0, 16000);
    for (auto f : {"wav", "mp3", "flac", "opus", "aac"}) {
        std::string bytes = encode_audio(t, f);
        ASSERT_GT(bytes.size(), 100u) << f;
        Pcm back = decode_audio(bytes);
        EXPECT_EQ(back.sample_rate, 16000);
        EXPECT_NEAR(back.seconds(), 1.0, 0.12) << f;  // codecs pad a frame or two
    }
    EXPECT_EQ(encode_audio(t, "pcm").size(), 24000u * 2);  // OpenAI's raw format: 24 kHz s16le
    EXPECT_THROW(encode_audio(t, "midi"), std::invalid_argument);
}

TEST(Audio, DecodeResamplesAndDownmixes) {
    Pcm t = tone(0.5, 22050);
    Pcm back = decode_audio(encode_audio(t, "wav"));
    EXPECT_EQ(back.sample_rate, 16000);
    EXPECT_NEAR(back.seconds(), 0.5, 0.01);
}

TEST(Audio, BadInputsHaveReasons) {
    EXPECT_THROW(decode_audio(""), AudioDecodeError);
    EXPECT_THROW(decode_audio("plain text, no audio here at all........"), AudioDecodeError);
    std::string wav = encode_audio(tone(1.0, 16000), "wav");
    EXPECT_THROW(decode_audio(wav.substr(0, 44)), AudioDecodeError);  // header only
    EXPECT_THROW(decode_audio(wav, 16000, 0.5), AudioDecodeError);    // longer than the limit
}

TEST(TranscriptFormat, SubtitlesAndVerboseJson) {
    Transcript t{"hello world again", "en", 3.5, {{0.0, 1.25, "hello world"}, {2.0, 3.5, "again"}}};
    EXPECT_EQ(format_transcript(t, "srt", "transcribe").body,
              "1\n00:00:00,000 --> 00:00:01,250\nhello world\n\n2\n00:00:02,000 --> 00:00:03,500\nagain\n\n");
    EXPECT_EQ(format_transcript(t, "vtt", "transcribe").body.substr(0, 40), "WEBVTT\n\n00:00:00.000 --> 00:00:01.250\nhe");
    EXPECT_EQ(format_transcript(t, "text", "transcribe").body, "hello world again\n");
    auto j = nlohmann::json::parse(format_transcript(t, "verbose_json", "translate").body);
    EXPECT_EQ(j["task"], "translate");
    EXPECT_EQ(j["language"], "english");
    EXPECT_EQ(j["segments"].size(), 2u);
    EXPECT_EQ(j["segments"][1]["start"], 2.0);
    EXPECT_EQ(nlohmann::json::parse(format_transcript(t, "json", "transcribe").body)["text"], "hello world again");
    EXPECT_EQ(timestamp(3723.4567, ','), "01:02:03,457");
    EXPECT_FALSE(is_transcript_format("xml"));
}
