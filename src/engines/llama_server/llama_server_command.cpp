#include "engines/llama_server/llama_server_command.h"

#include <algorithm>
#include <map>
#include <thread>

#include "common/errors.h"
#include "common/paths.h"

namespace xinfer {

namespace {

// Engine options users pass at launch (Xinference / llama-cpp-python names) → llama-server flags.
struct OptionFlag {
    const char* flag;
    enum Kind { integer, number, string, boolean, object } kind;
};
const std::map<std::string, OptionFlag>& option_flags() {
    static const std::map<std::string, OptionFlag> m = {
        {"n_ctx", {"--ctx-size", OptionFlag::integer}},
        {"context_length", {"--ctx-size", OptionFlag::integer}},
        {"n_parallel", {"--parallel", OptionFlag::integer}},
        {"n_threads", {"--threads", OptionFlag::integer}},
        {"n_batch", {"--batch-size", OptionFlag::integer}},
        {"n_ubatch", {"--ubatch-size", OptionFlag::integer}},
        {"n_gpu_layers", {"--n-gpu-layers", OptionFlag::integer}},
        {"seed", {"--seed", OptionFlag::integer}},
        {"poll", {"--poll", OptionFlag::integer}},
        {"n_threads_batch", {"--threads-batch", OptionFlag::integer}},
        {"chat_template", {"--chat-template", OptionFlag::string}},
        {"reasoning_format", {"--reasoning-format", OptionFlag::string}},
        {"reasoning", {"--reasoning", OptionFlag::string}},  // on/off/auto: the template's thinking switch
        {"reasoning_budget", {"--reasoning-budget", OptionFlag::integer}},
        {"chat_template_kwargs", {"--chat-template-kwargs", OptionFlag::object}},
        {"cache_type_k", {"--cache-type-k", OptionFlag::string}},
        {"cache_type_v", {"--cache-type-v", OptionFlag::string}},
        {"flash_attn", {"--flash-attn", OptionFlag::string}},
        {"rope_freq_base", {"--rope-freq-base", OptionFlag::number}},
        {"rope_freq_scale", {"--rope-freq-scale", OptionFlag::number}},
        {"use_mlock", {"--mlock", OptionFlag::boolean}},
        {"use_mmap", {"--no-mmap", OptionFlag::boolean}},  // inverted below
        {"cont_batching", {"--cont-batching", OptionFlag::boolean}},
    };
    return m;
}

// The option names, for the message that refuses an unknown one.
std::string known_options() {
    std::string out;
    for (auto& [name, flag] : option_flags()) out += (out.empty() ? "" : ", ") + name;
    return out;
}

bool json_object_text(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    return !j.is_discarded() && j.is_object();
}

std::string value_text(const std::string& key, const nlohmann::json& v, OptionFlag::Kind kind) {
    auto wrong = [&](const char* what) {
        return bad_request("engine option '" + key + "' must be " + what, key);
    };
    switch (kind) {
        case OptionFlag::integer:
            if (v.is_number_integer()) return std::to_string(v.get<long long>());
            if (v.is_string()) {
                const std::string t = v.get<std::string>();
                if (!t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
                        return std::isdigit(static_cast<unsigned char>(c)) || c == '-';
                    }))
                    return t;
            }
            throw wrong("an integer");
        case OptionFlag::number:
            if (v.is_number()) return v.dump();
            if (v.is_string()) return v.get<std::string>();
            throw wrong("a number");
        case OptionFlag::string:
            if (v.is_string()) return v.get<std::string>();
            if (v.is_boolean()) return v.get<bool>() ? "on" : "off";
            throw wrong("a string");
        case OptionFlag::boolean:
            if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
            if (v.is_string()) return (v == "true" || v == "True" || v == "1") ? "1" : "0";
            throw wrong("a boolean");
        case OptionFlag::object:
            if (v.is_object()) return v.dump();
            if (v.is_string() && json_object_text(v.get<std::string>())) return v.get<std::string>();
            throw wrong("a JSON object");
    }
    return "";
}

}  // namespace

int default_context_size(const GgufInfo& gguf) {
    const int cap = 8192;
    if (gguf.context_length <= 0) return 4096;
    return static_cast<int>(std::min<int64_t>(gguf.context_length, cap));
}

std::string find_llama_server() {
    std::string env = env_or("XINFER_LLAMA_SERVER");
    if (!env.empty()) return env;
    return (executable_dir() / "llama-server").string();
}

EngineCommand llama_server_command(const ResolvedModel& model, const nlohmann::json& options,
                                   const LlamaServerSettings& s) {
    EngineCommand cmd;
    auto& a = cmd.argv;
    a = {s.binary, "--model", model.file.string(), "--no-webui", "--metrics",
         "--alias", model.model_name};
    auto colon = s.listen.rfind(':');
    if (s.listen.size() > 5 && s.listen.substr(s.listen.size() - 5) == ".sock") {
        a.insert(a.end(), {"--host", s.listen});
    } else {
        a.insert(a.end(), {"--host", s.listen.substr(0, colon), "--port", s.listen.substr(colon + 1)});
    }

    std::map<std::string, std::string> flags;  // flag → value ("" for switches)
    int threads = s.threads > 0 ? s.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    flags["--threads"] = std::to_string(threads);
    // Requests beyond the slots wait inside llama-server; enough HTTP threads keep /health answering.
    flags["--threads-http"] = "16";
    // Each decode runs on the decoding thread alone, instead of handing llama-server's task queue
    // to a worker thread and back around it (scripts/llama-patches/queue-without-yield.patch):
    // two or three fewer wake-ups a token, each of which preempted a compute thread. Tiny chat
    // model, one client: ~6 % more tokens/s. The engine's /metrics and /slots (xinfer reads
    // neither) then wait for the decode in progress. A launch's `envs` may set "" to keep them.
    cmd.env.push_back("LLAMA_YIELD_TO_QUEUE=0");
    // Each result (a token of a stream) wakes the one HTTP thread waiting for it, not every thread
    // waiting for a result (scripts/llama-patches/results-wake-waiter.patch): tiny chat model,
    // 16 clients on 4 slots, 26-27 context switches a token in the engine before, 3 after, and
    // xinfer/direct 0.99-1.03 -> 1.07-1.09. A launch's `envs` may set "" for upstream's behaviour.
    cmd.env.push_back("LLAMA_WAKE_ALL_WAITERS=0");
    switch (model.type) {
        case ModelType::embedding:
        case ModelType::rerank: {
            // Encoders read a whole input in one ubatch, and each of the slots needs room for
            // the longest input the model takes, so the total context is slots x that length.
            const int per_input = default_context_size(model.gguf);
            const int slots = 4;
            flags[model.type == ModelType::embedding ? "--embedding" : "--rerank"] = "";
            flags["--parallel"] = std::to_string(slots);
            flags["--ctx-size"] = std::to_string(per_input * slots);
            flags["--batch-size"] = std::to_string(per_input);
            flags["--ubatch-size"] = std::to_string(per_input);
            // One short graph per request: spinning threads between requests only steal the
            // cores the HTTP side needs (measured: +15-30% throughput for small encoders).
            flags["--poll"] = "0";
            break;
        }
        default:
            // Slots share one unified KV cache: concurrent chats without N times the memory.
            // Four on CPUs (llama-server's own default: the cores are the limit). A GPU decodes
            // sixteen sequences in a step for about the cost of four, so there it gets sixteen
            // (measured on an H200, 16 clients, Qwen2.5-0.5B shape: 597 -> 690 tokens/s, time to
            // first token 2.9 s -> 1.3 s; one client unchanged).
            flags["--ctx-size"] = std::to_string(default_context_size(model.gguf));
            flags["--parallel"] = s.use_gpu ? "16" : "4";
            flags["--kv-unified"] = "";
            flags["--jinja"] = "";
            // The decoding threads get a longer time slice than the threads around them
            // (scripts/llama-patches/compute-slice.patch): the HTTP thread with a token, xinfer's
            // relay and the client then get a core at once instead of at the next scheduler tick
            // while the model decodes on every core. Time to first token through xinfer at one
            // client, tiny model: ~1 ms less. A launch's `envs` may set another value, or "" for none.
            cmd.env.push_back("LLAMA_COMPUTE_SLICE_US=10000");
            // A GGUF without a chat template (an old conversion, say) launched by a catalog
            // name: the catalog's template (Xinference's, checked to render with llama.cpp's
            // engine by the catalog_templates test) instead of llama.cpp's generic fallback.
            if (!model.gguf.has_chat_template && model.spec.is_object()) {
                auto it = model.spec.find("chat_template");
                if (it != model.spec.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
                    flags["--chat-template"] = it->get<std::string>();
            }
            break;
    }
    // Placement decided: all layers on the chosen GPUs, or none.
    flags["--n-gpu-layers"] = s.use_gpu ? "999" : "0";

    for (auto& [key, value] : options.items()) {
        auto it = option_flags().find(key);
        if (it == option_flags().end())
            throw bad_request("Unknown engine option '" + key + "' for llama.cpp; known options: " + known_options(), key);
        std::string text = value_text(key, value, it->second.kind);
        if (it->second.kind == OptionFlag::boolean) {
            bool on = text == "1";
            if (key == "use_mmap") on = !on;
            if (on) flags[it->second.flag] = "";
            else flags.erase(it->second.flag);
            if (key == "cont_batching" && !on) flags["--no-cont-batching"] = "";
        } else {
            flags[it->second.flag] = text;
        }
    }
    for (auto& [flag, value] : flags) {
        a.push_back(flag);
        if (!value.empty()) a.push_back(value);
    }
    return cmd;
}

}  // namespace xinfer
