#include "registry/whisper_info.h"

#include <fstream>

namespace xinfer {

std::optional<WhisperHparams> read_whisper_hparams(const std::filesystem::path& path) {
    // uint32 magic "ggml", then int32 n_vocab, n_audio_ctx, n_audio_state, n_audio_head,
    // n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, ...
    std::ifstream in(path, std::ios::binary);
    uint32_t magic = 0;
    int32_t v[9] = {};
    if (!in.read(reinterpret_cast<char*>(&magic), sizeof magic) || magic != 0x67676d6c) return std::nullopt;
    if (!in.read(reinterpret_cast<char*>(v), sizeof v)) return std::nullopt;
    WhisperHparams h{v[1], v[2], v[4], v[5], v[6], v[8]};
    for (int32_t x : {h.n_audio_ctx, h.n_audio_state, h.n_audio_layer, h.n_text_ctx, h.n_text_state, h.n_text_layer})
        if (x <= 0 || x > (1 << 20)) return std::nullopt;
    return h;
}

uint64_t whisper_state_bytes(const WhisperHparams& h) {
    auto pad256 = [](uint64_t n) { return (n + 255) / 256 * 256; };
    const uint64_t f16_kv = 2 /*K and V*/ * 2 /*bytes*/;
    const uint64_t self = pad256(h.n_text_ctx) * h.n_text_layer * h.n_text_state * f16_kv;
    const uint64_t cross = pad256(h.n_audio_ctx) * h.n_text_layer * h.n_text_state * f16_kv;
    const uint64_t pad = pad256(h.n_audio_ctx) * h.n_audio_state * f16_kv;
    // Compute buffers grow with the encoder's activations: ~340 bytes per audio frame x width.
    const uint64_t compute = 340ull * h.n_audio_ctx * h.n_audio_state;
    return self + cross + pad + compute;
}

}  // namespace xinfer
