#include "engines/speech/host_command.h"

#include "common/errors.h"
#include "common/paths.h"

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

}  // namespace xinfer
