// GET /v1/engines/{model_name} and /v1/engines/{model_type}/{model_name}: what a catalog or
// registered model launches with, as Xinference's `engine` command reads it: engine name →
// [{model_name, model_format, model_size_in_billions, quantizations}].
#include "api/http_util.h"
#include "api/routes.h"

namespace xinfer {

namespace {

// Quantizations a spec entry offers (v2 specs keep them per hub; the first hub that lists any wins).
json quantizations_of(const json& entry) {
    if (entry.contains("quantizations")) return entry["quantizations"];
    if (entry.contains("model_src") && entry["model_src"].is_object())
        for (auto& [hub, src] : entry["model_src"].items())
            if (src.is_object() && src.contains("quantizations")) return src["quantizations"];
    return json::array({"none"});
}

json engines_for(const RegisteredSpec& s) {
    const json& spec = s.spec;
    const std::string name = spec.value("model_name", "");
    json params = json::array();
    if (s.type == ModelType::audio) {
        std::string family = spec.value("model_family", "");
        if (family == "espeak-ng") family = "espeak";
        // llama.cpp's audio models: a GGUF and its projector.
        const bool mtmd = family == "qwen3_asr" || family == "qwen3_tts" || family == "pocket_tts";
        params.push_back({{"model_name", name},
                          {"model_format", family == "whisper" ? "ggml" : mtmd ? "gguf" : "builtin"},
                          {"model_size_in_billions", nullptr},
                          {"quantizations", mtmd ? quantizations_of(spec) : json::array({"none"})}});
        return {{!mtmd ? family : family == "qwen3_asr" ? "mtmd" : "mtmd-tts", params}};
    }
    for (auto& entry : spec.value("model_specs", json::array())) {
        json size = entry.contains("model_size_in_billions") ? entry["model_size_in_billions"] : json(nullptr);
        json p = {{"model_name", name},
                  {"model_format", entry.value("model_format", "ggufv2")},
                  {"model_size_in_billions", size},
                  {"quantizations", quantizations_of(entry)}};
        if (s.type == ModelType::llm) {
            p["multimodal_projectors"] = entry.contains("multimodal_projectors") ? entry["multimodal_projectors"] : json(nullptr);
        } else {
            // Xinference lists embedding and rerank engines per quantization (singular key).
            for (auto& q : p["quantizations"]) {
                json one = p;
                one["quantization"] = q;
                one["quantizations"] = json::array({q});
                params.push_back(one);
            }
            continue;
        }
        params.push_back(p);
    }
    return {{"llama.cpp", params}};
}

}  // namespace

void add_engine_routes(httplib::Server& server, Registry& registry) {
    auto answer = [&registry](const std::string& type_text, const std::string& name, httplib::Response& res) {
        std::optional<RegisteredSpec> spec;
        if (!type_text.empty()) {
            auto type = parse_model_type(type_text);
            if (!type) throw bad_request("Unknown model type '" + type_text + "'; expected LLM, embedding, rerank or audio", "model_type");
            spec = registry.find(*type, name);
        }
        // Xinference's CLI always asks under LLM; a name of another type is still found.
        if (!spec) spec = registry.find_any(name);
        if (!spec) throw not_found("Model " + name + " not found in the catalog or the registrations", "model_name");
        send_json(res, engines_for(*spec));
    };
    server.Get("/v1/engines/:name", guarded([answer](const httplib::Request& req, httplib::Response& res) {
        answer("", req.path_params.at("name"), res);
    }));
    server.Get("/v1/engines/:type/:name", guarded([answer](const httplib::Request& req, httplib::Response& res) {
        answer(req.path_params.at("type"), req.path_params.at("name"), res);
    }));
}

}  // namespace xinfer
