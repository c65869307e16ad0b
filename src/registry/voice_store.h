// Registered voices for voice-cloning speech models: a name and a reference recording, kept in
// XINFER_HOME/voices/ so they survive restarts. `voice: NAME` in a speech request sends that
// recording to the model as the voice to clone. The recording is stored as uploaded (any format
// the model host decodes); it is checked when a model first uses it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace xinfer {

class VoiceStore {
public:
    explicit VoiceStore(std::filesystem::path dir);
    // Throws ApiError 400 for a bad name or an empty or oversized recording; replaces a voice of that name.
    void put(const std::string& name, const std::string& recording);
    std::optional<std::string> get(const std::string& name) const;
    bool remove(const std::string& name);
    nlohmann::json list() const;  // [{"name", "bytes", "created"}], by name

    static constexpr size_t kMaxBytes = 20u << 20;

private:
    std::filesystem::path dir_;
};

}  // namespace xinfer
