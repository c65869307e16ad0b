// Converts a Hugging Face whisper folder (WhisperForConditionalGeneration: config.json,
// safetensors or pytorch_model.bin, vocab.json, preprocessor_config.json) to the ggml model file
// whisper.cpp reads: a header of sizes, the mel filter bank, the byte-level vocabulary, then each
// tensor under OpenAI's original names. Tensors are streamed, one at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "convert/hf_folder.h"
#include "convert/weights.h"

namespace xinfer {

// True for a folder whose config.json describes a whisper model.
bool is_whisper_folder(const HfFolder& folder);

// The slaney-normalised mel filter bank whisper was trained with (librosa's
// filters.mel(sr=16000, n_fft=400, n_mels)), `n_mels` rows of 201 FFT bins, row-major.
std::vector<float> whisper_mel_filters(int n_mels);

class WhisperConversion {
public:
    // Reads and checks everything: hparams, vocabulary, filters and every tensor. Throws
    // ConvertError naming what is missing or unsupported.
    WhisperConversion(HfFolder folder, const std::string& outtype);
    ~WhisperConversion();

    uint64_t planned_bytes() const;
    // The sizes whisper.cpp's header will carry (for the memory estimate of a decoding state).
    int32_t n_audio_ctx() const { return hp_[1]; }
    int32_t n_audio_state() const { return hp_[2]; }
    int32_t n_audio_layer() const { return hp_[4]; }
    int32_t n_text_ctx() const { return hp_[5]; }
    int32_t n_text_state() const { return hp_[6]; }
    int32_t n_text_layer() const { return hp_[8]; }

    // Writes the model file; progress 0..1 as tensors are written.
    void write(const std::filesystem::path& out, const std::function<void(double)>& progress) const;

private:
    struct Tensor;
    HfFolder folder_;
    WeightSet weights_;
    bool f16_ = true;
    // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state,
    // n_text_head, n_text_layer, n_mels, ftype: the header, in whisper.cpp's order.
    std::vector<int32_t> hp_;
    std::vector<float> filters_;
    std::vector<std::string> vocab_;
    std::vector<Tensor> tensors_;
};

}  // namespace xinfer
