#include "supervisor/launch_request.h"

#include <map>
#include <set>

#include "common/errors.h"
#include "common/json_util.h"

namespace xinfer {

namespace {
// A size may come as 7, 0.5, "7" or "0_5" (Xinference's own spelling); keep Xinference's.
std::string normalize_size(const json& v) {
    if (v.is_null()) return "";
    if (v.is_number_integer()) return std::to_string(v.get<long long>());
    if (v.is_number_float()) {
        std::string s = v.dump();
        for (auto& c : s)
            if (c == '.') c = '_';
        return s;
    }
    if (v.is_string()) {
        std::string s = v.get<std::string>();
        for (auto& c : s)
            if (c == '.') c = '_';
        return s;
    }
    throw bad_request("'model_size_in_billions' must be a number or string", "model_size_in_billions");
}

const std::set<std::string> kKnownKeys = {
    "model_uid", "model_name", "model_type", "model_engine", "model_format",
    "model_size_in_billions", "quantization", "model_path", "replica", "n_gpu", "gpu_idx",
    "request_limits", "envs", "wait_ready", "keep_alive", "request_queue", "enable_thinking", "reasoning_content",
    "download_hub"};

// Keys Xinference's client and CLI send (often on every launch) for its Python engines. They are
// accepted and reported, never a 400: the reason says why each one changes nothing here.
const std::map<std::string, std::string>& generic_keys() {
    static const std::map<std::string, std::string> m = {
        {"trust_remote_code", "xinfer runs no model code from the hub; GGUF engines need none"},
        {"quantization_config", "bitsandbytes quantization is for the transformers engine; pick a quantized GGUF"},
        {"enable_virtual_env", "xinfer's engines are native binaries; no Python virtual environment is made"},
        {"virtual_env_packages", "xinfer's engines are native binaries; no Python packages are installed"},
        {"virtual_env_find_links", "xinfer's engines are native binaries; no Python packages are installed"},
        {"replica_config", "every replica runs with the model's launch settings"},
        {"model_hub", "xinfer serves local files (model_path or the model cache)"},
        {"worker_ip", "the model runs on the node it names (cluster mode), else on this one"},
        {"peft_model_config", "LoRA adapters are not applied by this xinfer"},
        {"n_worker", "one model runs on one node here"},
        {"xavier_config", "Xavier's cross-replica KV cache sharing is a vLLM feature"},
        {"gpu_memory_utilization", "placement estimates the memory each replica needs itself"},
    };
    return m;
}

// Ollama-style durations: 300, "300", "45s", "5m", "1h"; -1 (or "-1") means never.
double parse_duration(const json& v) {
    if (v.is_number()) return v.get<double>();
    if (!v.is_string()) throw bad_request("'keep_alive' must be seconds or a duration like \"5m\"", "keep_alive");
    std::string s = v.get<std::string>();
    try {
        size_t used = 0;
        double x = std::stod(s, &used);
        std::string unit = s.substr(used);
        if (unit.empty() || unit == "s") return x;
        if (unit == "m") return x * 60;
        if (unit == "h") return x * 3600;
    } catch (...) {
    }
    throw bad_request("'keep_alive' must be seconds or a duration like \"5m\"", "keep_alive");
}
}  // namespace

LaunchRequest LaunchRequest::from_json(const json& body) {
    LaunchRequest r;
    r.model_uid = opt_string(body, "model_uid").value_or("");
    r.model_name = opt_string(body, "model_name").value_or("");
    if (auto t = opt_string(body, "model_type")) {
        r.model_type = parse_model_type(*t);
        if (!r.model_type)
            throw bad_request("Unknown model_type '" + *t +
                                  "'; expected LLM, embedding, rerank, audio or image",
                              "model_type");
    }
    r.model_engine = opt_string(body, "model_engine").value_or("");
    r.model_format = opt_string(body, "model_format").value_or("");
    if (body.contains("model_size_in_billions"))
        r.model_size_in_billions = normalize_size(body["model_size_in_billions"]);
    r.quantization = opt_string(body, "quantization").value_or("");
    r.model_path = opt_string(body, "model_path").value_or("");
    r.download_hub = opt_string(body, "download_hub").value_or("");
    if (!r.download_hub.empty() && r.download_hub != "huggingface" && r.download_hub != "modelscope" && r.download_hub != "auto")
        throw bad_request("download_hub '" + r.download_hub + "' is not one xinfer downloads from (huggingface, modelscope)",
                          "download_hub");
    if (r.model_name.empty() && r.model_path.empty())
        throw bad_request("'model_name' is required (or give 'model_path')", "model_name");
    if (auto n = opt_int(body, "replica")) {
        if (*n < 1 || *n > 64) throw bad_request("'replica' must be between 1 and 64", "replica");
        r.replica = static_cast<int>(*n);
    }
    if (body.contains("n_gpu")) {
        const json& g = body["n_gpu"];
        if (!(g.is_null() || g.is_number_integer() || (g.is_string() && g == "auto")))
            throw bad_request("'n_gpu' must be \"auto\", an integer or null", "n_gpu");
        r.n_gpu = g;
    } else {
        r.n_gpu = "auto";
    }
    if (body.contains("gpu_idx") && !body["gpu_idx"].is_null()) {
        const json& g = body["gpu_idx"];
        if (g.is_number_integer()) {
            r.gpu_idx.push_back(g.get<int>());
        } else if (g.is_array()) {
            for (auto& x : g) {
                if (!x.is_number_integer()) throw bad_request("'gpu_idx' must list integers", "gpu_idx");
                r.gpu_idx.push_back(x.get<int>());
            }
        } else {
            throw bad_request("'gpu_idx' must be an integer or a list of integers", "gpu_idx");
        }
    }
    if (auto n = opt_int(body, "request_limits")) {
        if (*n < 1) throw bad_request("'request_limits' must be positive", "request_limits");
        r.request_limits = static_cast<int>(*n);
    }
    if (body.contains("envs") && !body["envs"].is_null()) {
        if (!body["envs"].is_object()) throw bad_request("'envs' must be an object", "envs");
        for (auto& [k, v] : body["envs"].items())
            r.envs[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    if (auto n = opt_int(body, "request_queue")) {
        if (*n < 0) throw bad_request("'request_queue' must be zero or more", "request_queue");
        r.request_queue = static_cast<int>(*n);
    }
    if (body.contains("keep_alive") && !body["keep_alive"].is_null()) r.keep_alive_s = parse_duration(body["keep_alive"]);
    r.wait_ready = opt_bool(body, "wait_ready").value_or(true);
    r.enable_thinking = opt_bool(body, "enable_thinking");
    // Xinference's reasoning_content splits thoughts into their own field: llama.cpp's reasoning
    // parser does that (deepseek format) or leaves them in the content (none).
    if (auto rc = opt_bool(body, "reasoning_content"); rc && !body.contains("reasoning_format"))
        r.engine_options["reasoning_format"] = *rc ? "deepseek" : "none";
    for (auto& [k, v] : body.items()) {
        if (kKnownKeys.count(k) || v.is_null()) continue;
        if (auto g = generic_keys().find(k); g != generic_keys().end()) {
            // Off or at Xinference's default (one worker): nothing changes, nothing to report.
            if (v == false || (v.is_array() && v.empty()) || (v.is_object() && v.empty()) || (k == "n_worker" && v == 1))
                continue;
            r.ignored.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()) + ": " + g->second);
            continue;
        }
        r.engine_options[k] = v;
    }
    return r;
}

json LaunchRequest::to_json() const {
    json j = {{"model_uid", model_uid},
              {"model_name", model_name},
              {"model_type", model_type ? to_string(*model_type) : "LLM"},
              {"model_engine", model_engine},
              {"model_format", model_format},
              {"model_size_in_billions", model_size_in_billions},
              {"quantization", quantization},
              {"model_path", model_path},
              {"download_hub", download_hub.empty() ? json(nullptr) : json(download_hub)},
              {"replica", replica},
              {"n_gpu", n_gpu},
              {"gpu_idx", gpu_idx},
              {"request_limits", request_limits ? json(*request_limits) : json(nullptr)},
              {"request_queue", request_queue ? json(*request_queue) : json(nullptr)},
              {"keep_alive", keep_alive_s ? json(*keep_alive_s) : json(nullptr)},
              {"envs", envs}};
    if (enable_thinking) j["enable_thinking"] = *enable_thinking;
    for (auto& [k, v] : engine_options.items()) j[k] = v;
    return j;
}

}  // namespace xinfer
