#include "supervisor/model_view.h"

namespace xinfer {

using json = nlohmann::json;

ModelState visible_state(const ModelRecord& rec) {
    if (rec.state != ModelState::ready) return rec.state;
    return rec.active > 0 ? ModelState::busy : ModelState::ready;
}

namespace {
// Xinference answers whole sizes as numbers (7) and fractional ones as strings ("0_5").
json size_json(const std::string& size) {
    if (size.empty()) return nullptr;
    if (size.find_first_not_of("0123456789") == std::string::npos && size.size() < 12) return std::stoll(size);
    return size;
}
// The GPUs a replica's engine sees (its CUDA_VISIBLE_DEVICES), as Xinference's "accelerators".
json replica_gpus(const Replica& r) {
    static const std::string kVar = "CUDA_VISIBLE_DEVICES=";
    json out = json::array();
    for (const std::string& e : r.command().env) {
        if (e.rfind(kVar, 0) != 0) continue;
        out = json::array();  // the last setting wins, as in the engine's environment
        std::string ids = e.substr(kVar.size());
        for (size_t at = 0; at < ids.size();) {
            const size_t comma = std::min(ids.find(',', at), ids.size());
            const std::string id = ids.substr(at, comma - at);
            if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) out.push_back(std::stoi(id));
            at = comma + 1;
        }
    }
    return out;
}

// A spec's string field, or null (a model launched by path has no spec).
json spec_string(const json& spec, const char* key) {
    return spec.is_object() && spec.contains(key) && spec[key].is_string() ? spec[key] : json(nullptr);
}

// The fields Xinference's model descriptions carry for each type (to_description in its model
// families), that a script reading describe_model() or the web UI may look up.
void add_xinference_description(json& j, const ModelRecord& rec) {
    const auto& m = rec.model;
    const json& spec = m.spec;
    j["accelerators"] = rec.replicas.empty() ? json::array() : replica_gpus(*rec.replicas.front());
    const json family = spec_string(spec, "model_family");
    switch (m.type) {
        case ModelType::llm:
            j["model_family"] = family.is_null() ? json(m.model_name) : family;
            j["multimodal_projector"] = nullptr;  // xinfer's chat engines take no vision projector
            j["model_hub"] = rec.request.download_hub.empty() ? "huggingface" : rec.request.download_hub;
            j["revision"] = spec_string(spec, "model_revision");
            j["strict_system_first"] = m.gguf.chat_template_system_first;
            break;
        case ModelType::embedding:
            j["language"] = spec.is_object() && spec.contains("language") ? spec["language"] : json(nullptr);
            j["model_hub"] = rec.request.download_hub.empty() ? "huggingface" : rec.request.download_hub;
            j["model_revision"] = spec_string(spec, "model_revision");
            break;
        case ModelType::rerank:
            j["type"] = spec.is_object() && spec.contains("type") ? spec["type"] : json("normal");
            j["language"] = spec.is_object() && spec.contains("language") ? spec["language"] : json(nullptr);
            j["model_revision"] = spec_string(spec, "model_revision");
            break;
        case ModelType::audio:
            j["model_family"] = family;
            j["model_revision"] = spec_string(spec, "model_revision");
            break;
        default:
            break;
    }
}
}  // namespace

json describe_model(const ModelRecord& rec) {
    const auto& m = rec.model;
    const json& spec = m.spec;
    json j = {
        {"model_uid", rec.uid},
        {"model_type", to_string(m.type)},
        {"model_name", m.model_name},
        {"model_engine", m.engine},
        {"model_format", m.model_format},
        {"model_size_in_billions", size_json(m.model_size_in_billions)},
        {"quantization", m.quantization.empty() ? json(nullptr) : json(m.quantization)},
        {"model_ability", m.ability},
        {"model_lang", spec.is_object() ? spec.value("model_lang", json::array()) : json::array()},
        {"model_description", spec.is_object() ? spec.value("model_description", "") : ""},
        {"model_path", m.file.string()},
        {"context_length", spec.is_object() && spec.contains("context_length") ? spec["context_length"]
                                                                                : json(m.gguf.context_length)},
        {"architecture", m.gguf.architecture},
        {"replica", rec.request.replica},
        {"n_gpu", rec.request.n_gpu},
        {"status", to_string(visible_state(rec))},
        {"progress", rec.progress},
        {"download", rec.download},
        {"failure_reason", rec.failure_reason.empty() ? json(nullptr) : json(rec.failure_reason)},
        {"created", std::chrono::duration_cast<std::chrono::seconds>(rec.created.time_since_epoch()).count()},
        {"launch_params", rec.request.to_json()},
    };
    // The file is the truth (a catalog name may be given to any GGUF); the spec is the fallback.
    auto from_file_or_spec = [&](int64_t file_value, const char* key) {
        if (file_value > 0) return json(file_value);
        return spec.is_object() && spec.contains(key) ? spec[key] : json(nullptr);
    };
    if (m.type == ModelType::embedding) j["dimensions"] = from_file_or_spec(m.gguf.embedding_length, "dimensions");
    if (m.type == ModelType::embedding || m.type == ModelType::rerank)
        j["max_tokens"] = from_file_or_spec(m.gguf.context_length, "max_tokens");
    json reps = json::array();
    int in_flight = 0;
    for (auto& r : rec.replicas) {
        in_flight += r->in_flight;
        reps.push_back({{"index", r->index()},
                        {"gpus", replica_gpus(*r)},
                        {"pid", r->pid()},
                        {"address", r->address()},
                        {"running", r->running()},
                        {"in_flight", r->in_flight.load()},
                        {"command", r->command().argv},
                        {"log", r->log_path()}});
    }
    j["replicas"] = reps;
    j["in_flight"] = in_flight;
    j["requests"] = {{"active", rec.active}, {"waiting", rec.waiting}, {"rejected", rec.rejected},
                     {"limit", rec.request.request_limits ? json(*rec.request.request_limits) : json(nullptr)}};
    j["restarts"] = rec.restarts;
    j["engine"] = rec.model.engine;
    if (!rec.replicas.empty()) j["address"] = rec.replicas.front()->address();
    add_xinference_description(j, rec);
    return j;
}

json model_list_entry(const ModelRecord& rec) {
    json j = describe_model(rec);
    j["id"] = rec.uid;
    j["object"] = "model";
    j["owned_by"] = "xinfer";
    return j;
}

}  // namespace xinfer
