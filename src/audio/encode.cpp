#include "audio/encode.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswresample/swresample.h>
}

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>

namespace xinfer {

namespace {

std::string s16le(const Pcm& pcm) {
    std::string out(pcm.samples.size() * 2, '\0');
    for (size_t i = 0; i < pcm.samples.size(); ++i) {
        float v = std::max(-1.0f, std::min(1.0f, pcm.samples[i]));
        int16_t s = static_cast<int16_t>(std::lrint(v * 32767.0f));
        std::memcpy(&out[i * 2], &s, 2);
    }
    return out;
}

void put32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void put16(std::string& s, uint16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); }

std::string wav(const Pcm& pcm) {
    std::string data = s16le(pcm), out;
    out.reserve(data.size() + 44);
    out += "RIFF";
    put32(out, static_cast<uint32_t>(36 + data.size()));
    out += "WAVEfmt ";
    put32(out, 16);
    put16(out, 1);  // PCM
    put16(out, 1);  // mono
    put32(out, static_cast<uint32_t>(pcm.sample_rate));
    put32(out, static_cast<uint32_t>(pcm.sample_rate * 2));
    put16(out, 2);
    put16(out, 16);
    out += "data";
    put32(out, static_cast<uint32_t>(data.size()));
    return out + data;
}

// ffmpeg 5.1 declares the write callback with a non-const buffer.
int write_packet(void* opaque, uint8_t* buf, int size) {
    static_cast<std::string*>(opaque)->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(size));
    return size;
}

// Any codec ffmpeg has, muxed into `container`, written to memory.
std::string ffmpeg_encode(const Pcm& in, const char* container, AVCodecID codec_id, int rate, int64_t bit_rate) {
    Pcm pcm = in.sample_rate == rate ? in : resample(in, rate);
    const AVCodec* codec = avcodec_find_encoder(codec_id);
    if (!codec) throw std::runtime_error(std::string("no encoder for ") + avcodec_get_name(codec_id));
    std::string out;
    AVFormatContext* fmt = nullptr;
    avformat_alloc_output_context2(&fmt, nullptr, container, nullptr);
    if (!fmt) throw std::runtime_error(std::string("no muxer for ") + container);
    auto* io_buf = static_cast<unsigned char*>(av_malloc(1 << 16));
    fmt->pb = avio_alloc_context(io_buf, 1 << 16, 1, &out, nullptr, write_packet, nullptr);
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    std::unique_ptr<AVCodecContext, void (*)(AVCodecContext*)> enc(avcodec_alloc_context3(codec),
                                                                   [](AVCodecContext* c) { avcodec_free_context(&c); });
    auto cleanup = [&] {
        if (fmt->pb) {
            av_freep(&fmt->pb->buffer);
            avio_context_free(&fmt->pb);
        }
        avformat_free_context(fmt);
    };
    std::unique_ptr<void, std::function<void(void*)>> guard(reinterpret_cast<void*>(1), [&](void*) { cleanup(); });

    enc->sample_rate = rate;
    av_channel_layout_default(&enc->ch_layout, 1);
    enc->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
    // Prefer a float or s16 planar/packed format the encoder lists, in that order.
    if (codec->sample_fmts)
        for (const AVSampleFormat* f = codec->sample_fmts; *f != AV_SAMPLE_FMT_NONE; ++f)
            if (*f == AV_SAMPLE_FMT_FLTP || *f == AV_SAMPLE_FMT_FLT) { enc->sample_fmt = *f; break; }
    if (bit_rate) enc->bit_rate = bit_rate;
    enc->time_base = {1, rate};
    if (fmt->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(enc.get(), codec, nullptr) < 0) throw std::runtime_error(std::string("cannot open encoder ") + codec->name);
    AVStream* st = avformat_new_stream(fmt, nullptr);
    avcodec_parameters_from_context(st->codecpar, enc.get());
    st->time_base = enc->time_base;
    if (avformat_write_header(fmt, nullptr) < 0) throw std::runtime_error("cannot write the audio header");

    SwrContext* swr = nullptr;
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    swr_alloc_set_opts2(&swr, &enc->ch_layout, enc->sample_fmt, rate, &mono, AV_SAMPLE_FMT_FLT, rate, 0, nullptr);
    std::unique_ptr<SwrContext, void (*)(SwrContext*)> swr_guard(swr, [](SwrContext* s) { swr_free(&s); });
    swr_init(swr);
    std::unique_ptr<AVFrame, void (*)(AVFrame*)> frame(av_frame_alloc(), [](AVFrame* f) { av_frame_free(&f); });
    std::unique_ptr<AVPacket, void (*)(AVPacket*)> pkt(av_packet_alloc(), [](AVPacket* p) { av_packet_free(&p); });
    const int frame_size = enc->frame_size > 0 ? enc->frame_size : 1024;
    auto flush_packets = [&] {
        while (avcodec_receive_packet(enc.get(), pkt.get()) == 0) {
            av_packet_rescale_ts(pkt.get(), enc->time_base, st->time_base);
            pkt->stream_index = st->index;
            av_interleaved_write_frame(fmt, pkt.get());
        }
    };
    int64_t pts = 0;
    for (size_t at = 0; at < pcm.samples.size(); at += frame_size) {
        int n = static_cast<int>(std::min<size_t>(frame_size, pcm.samples.size() - at));
        frame->nb_samples = frame_size;  // pad the last frame: fixed-size encoders need whole frames
        frame->format = enc->sample_fmt;
        av_channel_layout_copy(&frame->ch_layout, &enc->ch_layout);
        frame->sample_rate = rate;
        av_frame_get_buffer(frame.get(), 0);
        std::vector<float> chunk(frame_size, 0.0f);
        std::memcpy(chunk.data(), pcm.samples.data() + at, n * sizeof(float));
        const uint8_t* src = reinterpret_cast<const uint8_t*>(chunk.data());
        swr_convert(swr, frame->data, frame_size, &src, frame_size);
        frame->pts = pts;
        pts += frame_size;
        avcodec_send_frame(enc.get(), frame.get());
        av_frame_unref(frame.get());
        flush_packets();
    }
    avcodec_send_frame(enc.get(), nullptr);
    flush_packets();
    av_write_trailer(fmt);
    avio_flush(fmt->pb);
    return out;
}

}  // namespace

Pcm resample(const Pcm& pcm, int rate) {
    if (pcm.sample_rate == rate) return pcm;
    SwrContext* swr = nullptr;
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_FLT, rate, &mono, AV_SAMPLE_FMT_FLT, pcm.sample_rate, 0, nullptr);
    std::unique_ptr<SwrContext, void (*)(SwrContext*)> guard(swr, [](SwrContext* s) { swr_free(&s); });
    if (!swr || swr_init(swr) < 0) throw std::runtime_error("cannot resample audio");
    Pcm out;
    out.sample_rate = rate;
    int cap = swr_get_out_samples(swr, static_cast<int>(pcm.samples.size())) + 64;
    out.samples.resize(static_cast<size_t>(cap));
    uint8_t* dst = reinterpret_cast<uint8_t*>(out.samples.data());
    const uint8_t* src = reinterpret_cast<const uint8_t*>(pcm.samples.data());
    int got = std::max(0, swr_convert(swr, &dst, cap, &src, static_cast<int>(pcm.samples.size())));
    // Flush the resampler's delay line so no tail samples are lost.
    uint8_t* tail = reinterpret_cast<uint8_t*>(out.samples.data() + got);
    got += std::max(0, swr_convert(swr, &tail, cap - got, nullptr, 0));
    out.samples.resize(static_cast<size_t>(got));
    return out;
}

bool is_audio_format(const std::string& f) {
    return f == "wav" || f == "pcm" || f == "mp3" || f == "flac" || f == "opus" || f == "aac";
}

std::string audio_content_type(const std::string& f) {
    if (f == "mp3") return "audio/mpeg";
    if (f == "wav") return "audio/wav";
    if (f == "flac") return "audio/flac";
    if (f == "opus") return "audio/ogg";
    if (f == "aac") return "audio/aac";
    return "application/octet-stream";  // pcm
}

std::string encode_audio(const Pcm& pcm, const std::string& format) {
    if (format == "wav") return wav(pcm);
    if (format == "pcm") return s16le(resample(pcm, 24000));
    if (format == "mp3") return ffmpeg_encode(pcm, "mp3", AV_CODEC_ID_MP3, pcm.sample_rate >= 16000 ? 22050 : pcm.sample_rate, 64000);
    if (format == "flac") return ffmpeg_encode(pcm, "flac", AV_CODEC_ID_FLAC, pcm.sample_rate, 0);
    if (format == "opus") return ffmpeg_encode(pcm, "ogg", AV_CODEC_ID_OPUS, 48000, 32000);
    if (format == "aac") return ffmpeg_encode(pcm, "adts", AV_CODEC_ID_AAC, pcm.sample_rate >= 16000 ? 22050 : 16000, 64000);
    throw std::invalid_argument("unsupported audio format '" + format + "'; use mp3, wav, flac, opus, aac or pcm");
}

}  // namespace xinfer
