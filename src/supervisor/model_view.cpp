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
