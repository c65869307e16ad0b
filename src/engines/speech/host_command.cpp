#include "engines/speech/host_command.h"

#include "common/errors.h"
#include "common/paths.h"
#include "common/text.h"

namespace xinfer {

EngineCommand model_host_command(const ResolvedModel& model, const nlohmann::json& options, const std::string& listen,
                                 bool use_gpu) {
    EngineCommand cmd;
    // The speech engines live in their own program beside xinfer (the gateway loads none of them).
    cmd.argv = {(executable_dir() / "xinfer-host").string(), "host", "--engine", model.engine, "--listen", listen};
    if (!model.file.empty()) cmd.argv.insert(cmd.argv.end(), {"--model-path", model.file.string()});
    if (!model.projector.empty()) cmd.argv.insert(cmd.argv.end(), {"--projector", model.projector.string()});
    if (use_gpu) cmd.argv.push_back("--gpu");
    // A voice model's every slot loads its projector again: one unless the launch asks for more.
    if (model.engine == "mtmd-tts" && !options.contains("concurrency")) cmd.argv.insert(cmd.argv.end(), {"--concurrency", "1"});
    for (auto& [key, value] : options.items()) {
        if (key != "concurrency" && key != "n_threads")
            throw bad_request("Unknown engine option '" + key + "' for " + model.engine + "; known: concurrency, n_threads", key);
        if (!value.is_number_integer() || value.get<int>() < 1 || value.get<int>() > 64)
            throw bad_request("'" + key + "' must be an integer from 1 to 64", key);
        cmd.argv.insert(cmd.argv.end(), {key == "concurrency" ? "--concurrency" : "--threads", std::to_string(value.get<int>())});
    }
    return cmd;
}

namespace {
bool encoder_option(const std::string& key) { return key == "n_threads" || key == "n_ctx" || key == "context_length"; }
}  // namespace

bool runs_in_encoder_host(const ResolvedModel& model, const nlohmann::json& options) {
    if (model.type != ModelType::embedding && model.type != ModelType::rerank) return false;
    if (lower(env_or("XINFER_ENCODER_ENGINE")) == "llama-server") return false;
    for (auto& [key, _] : options.items())
        if (!encoder_option(key)) return false;
    return true;
}

EngineCommand encoder_host_command(const ResolvedModel& model, const nlohmann::json& options, const std::string& listen,
                                   bool use_gpu, int spare_threads) {
    EngineCommand cmd;
    // Their own program: an encoder replica loads none of the speech engines' libraries.
    cmd.argv = {(executable_dir() / "xinfer-encoder").string(), "host", "--engine",
                model.type == ModelType::rerank ? "llama-rerank" : "llama-embedding", "--listen", listen,
                "--model-path", model.file.string()};
    if (use_gpu) cmd.argv.push_back("--gpu");
    if (spare_threads > 0 && !use_gpu) cmd.argv.insert(cmd.argv.end(), {"--spare-threads", std::to_string(spare_threads)});
    for (auto& [key, value] : options.items()) {
        const bool threads = key == "n_threads";
        const int most = threads ? 256 : 1 << 20;
        int v = 0;
        if (value.is_number_integer()) v = value.get<int>();
        else if (value.is_string() && !value.get<std::string>().empty() &&
                 value.get<std::string>().find_first_not_of("0123456789") == std::string::npos)
            v = std::stoi(value.get<std::string>().substr(0, 8));
        if (v < 1 || v > most) throw bad_request("engine option '" + key + "' must be an integer from 1 to " + std::to_string(most), key);
        cmd.argv.insert(cmd.argv.end(), {threads ? "--threads" : "--context", std::to_string(v)});
    }
    return cmd;
}

}  // namespace xinfer
