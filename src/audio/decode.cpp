#include "audio/decode.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include <cstring>
#include <functional>
#include <memory>

namespace xinfer {

namespace {

struct MemoryReader {
    const std::string* data;
    size_t pos = 0;
};

int read_packet(void* opaque, uint8_t* buf, int size) {
    auto* r = static_cast<MemoryReader*>(opaque);
    size_t left = r->data->size() - r->pos;
    if (left == 0) return AVERROR_EOF;
    size_t n = std::min(left, static_cast<size_t>(size));
    std::memcpy(buf, r->data->data() + r->pos, n);
    r->pos += n;
    return static_cast<int>(n);
}

int64_t seek(void* opaque, int64_t offset, int whence) {
    auto* r = static_cast<MemoryReader*>(opaque);
    int64_t size = static_cast<int64_t>(r->data->size());
    if (whence == AVSEEK_SIZE) return size;
    int64_t base = (whence & ~AVSEEK_FORCE) == SEEK_CUR ? static_cast<int64_t>(r->pos)
                   : (whence & ~AVSEEK_FORCE) == SEEK_END ? size : 0;
    int64_t p = base + offset;
    if (p < 0 || p > size) return -1;
    r->pos = static_cast<size_t>(p);
    return p;
}

std::string av_error(int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(err, buf, sizeof buf);
    return buf;
}

}  // namespace

Pcm decode_audio(const std::string& bytes, int target_rate, double max_seconds) {
    if (bytes.empty()) throw AudioDecodeError("the uploaded file is empty");
    MemoryReader reader{&bytes};
    const int io_size = 1 << 16;
    auto* io_buf = static_cast<unsigned char*>(av_malloc(io_size));
    AVIOContext* io = avio_alloc_context(io_buf, io_size, 0, &reader, read_packet, nullptr, seek);
    AVFormatContext* fmt = avformat_alloc_context();
    fmt->pb = io;
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    auto cleanup_io = [&] {
        avformat_close_input(&fmt);
        if (io) av_freep(&io->buffer);
        avio_context_free(&io);
    };
    std::unique_ptr<void, std::function<void(void*)>> io_guard(reinterpret_cast<void*>(1), [&](void*) { cleanup_io(); });

    if (int err = avformat_open_input(&fmt, nullptr, nullptr, nullptr); err < 0)
        throw AudioDecodeError("the file is not audio in a known format (" + av_error(err) + ")");
    if (int err = avformat_find_stream_info(fmt, nullptr); err < 0)
        throw AudioDecodeError("cannot read the audio stream (" + av_error(err) + ")");
    int stream = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (stream < 0) throw AudioDecodeError("the file holds no audio stream");
    const AVCodecParameters* par = fmt->streams[stream]->codecpar;
    const AVCodec* codec = avcodec_find_decoder(par->codec_id);
    if (!codec) throw AudioDecodeError(std::string("unsupported audio codec: ") + avcodec_get_name(par->codec_id));

    std::unique_ptr<AVCodecContext, void (*)(AVCodecContext*)> dec(avcodec_alloc_context3(codec),
                                                                   [](AVCodecContext* c) { avcodec_free_context(&c); });
    avcodec_parameters_to_context(dec.get(), par);
    if (int err = avcodec_open2(dec.get(), codec, nullptr); err < 0)
        throw AudioDecodeError("cannot open the " + std::string(codec->name) + " decoder (" + av_error(err) + ")");

    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    AVChannelLayout in_layout;
    if (dec->ch_layout.nb_channels > 0) av_channel_layout_copy(&in_layout, &dec->ch_layout);
    else av_channel_layout_default(&in_layout, 1);
    SwrContext* swr = nullptr;
    swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_FLT, target_rate, &in_layout, dec->sample_fmt, dec->sample_rate, 0, nullptr);
    std::unique_ptr<SwrContext, void (*)(SwrContext*)> swr_guard(swr, [](SwrContext* s) { swr_free(&s); });
    if (!swr || swr_init(swr) < 0) throw AudioDecodeError("cannot convert this audio (sample format or rate)");
    av_channel_layout_uninit(&in_layout);

    Pcm out;
    out.sample_rate = target_rate;
    const size_t max_samples = static_cast<size_t>(max_seconds * target_rate);
    std::unique_ptr<AVPacket, void (*)(AVPacket*)> pkt(av_packet_alloc(), [](AVPacket* p) { av_packet_free(&p); });
    std::unique_ptr<AVFrame, void (*)(AVFrame*)> frame(av_frame_alloc(), [](AVFrame* f) { av_frame_free(&f); });
    int decode_errors = 0;
    auto drain = [&]() {
        while (avcodec_receive_frame(dec.get(), frame.get()) == 0) {
            int cap = swr_get_out_samples(swr, frame->nb_samples);
            size_t at = out.samples.size();
            out.samples.resize(at + static_cast<size_t>(cap));
            uint8_t* dst = reinterpret_cast<uint8_t*>(out.samples.data() + at);
            int got = swr_convert(swr, &dst, cap, const_cast<const uint8_t**>(frame->extended_data), frame->nb_samples);
            out.samples.resize(at + static_cast<size_t>(std::max(got, 0)));
            if (out.samples.size() > max_samples)
                throw AudioDecodeError("the audio is longer than the limit of " + std::to_string(static_cast<int>(max_seconds)) + " s");
        }
    };
    while (av_read_frame(fmt, pkt.get()) >= 0) {
        if (pkt->stream_index == stream) {
            if (avcodec_send_packet(dec.get(), pkt.get()) < 0) ++decode_errors;
            drain();
        }
        av_packet_unref(pkt.get());
    }
    avcodec_send_packet(dec.get(), nullptr);
    drain();
    // Flush what the resampler holds.
    int cap = swr_get_out_samples(swr, 0);
    if (cap > 0) {
        size_t at = out.samples.size();
        out.samples.resize(at + static_cast<size_t>(cap));
        uint8_t* dst = reinterpret_cast<uint8_t*>(out.samples.data() + at);
        int got = swr_convert(swr, &dst, cap, nullptr, 0);
        out.samples.resize(at + static_cast<size_t>(std::max(got, 0)));
    }
    if (out.samples.empty())
        throw AudioDecodeError(decode_errors ? "the audio data is corrupt or truncated" : "the file holds no audio samples");
    return out;
}

}  // namespace xinfer
