#include "supervisor/model_view.h"

#include <algorithm>
#include <charconv>

#include "common/text.h"

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
// The first setting is the one the engine reads (getenv takes the first of duplicates: a user's
// `envs` cannot move an engine off the GPUs placement gave it).
json replica_gpus(const Replica& r) {
    static const std::string kVar = "CUDA_VISIBLE_DEVICES=";
    json out = json::array();
    for (const std::string& e : r.command().env) {
        if (e.rfind(kVar, 0) != 0) continue;
        const char* at = e.data() + kVar.size();
        const char* end = e.data() + e.size();
        while (at < end) {
            int id = 0;
            const auto [next, ec] = std::from_chars(at, end, id);
            if (ec == std::errc() && (next == end || *next == ',')) out.push_back(id);
            at = std::find(next, end, ',');
            if (at < end) ++at;
        }
        break;
    }
    return out;
}

// A spec's string field, or null (a model launched by path has no spec).
json spec_string(const json& spec, const char* key) {
    return spec.is_object() && spec.contains(key) && spec[key].is_string() ? spec[key] : json(nullptr);
}

// The revision of the spec entry that was launched (its format and quantization), as Xinference
// reports its spec's model_revision (a catalog spec names it per hub); null when none is named.
json spec_revision(const ResolvedModel& m) {
    const json& spec = m.spec;
    if (!spec.is_object()) return nullptr;
    if (spec.contains("model_revision") && spec["model_revision"].is_string()) return spec["model_revision"];
    const auto specs = spec.find("model_specs");
    if (specs == spec.end() || !specs->is_array()) return nullptr;
    const std::string want = lower(m.quantization);
    auto has_quantization = [&](const json& src) {
        if (want.empty()) return true;
        if (src.contains("quantization") && src["quantization"].is_string() && lower(src["quantization"].get<std::string>()) == want)
            return true;
        if (src.contains("quantizations") && src["quantizations"].is_array())
            for (const json& q : src["quantizations"])
                if (q.is_string() && lower(q.get<std::string>()) == want) return true;
        return false;
    };
    for (const json& entry : *specs) {
        if (!entry.is_object()) continue;
        const auto format = entry.find("model_format");
        if (format != entry.end() && format->is_string() && !m.model_format.empty() && *format != m.model_format) continue;
        std::vector<const json*> sources;  // huggingface before modelscope (the map's order), then the entry itself
        if (entry.contains("model_src") && entry["model_src"].is_object())
            for (const auto& [hub, src] : entry["model_src"].items()) sources.push_back(&src);
        sources.push_back(&entry);
        for (const json* src : sources)
            if (src->is_object() && has_quantization(*src) && src->contains("model_revision") && (*src)["model_revision"].is_string())
                return (*src)["model_revision"];
    }
    return nullptr;
}

// Whether the chat template the engine uses (the GGUF's, else the catalog's) refuses a system
// message anywhere but first.
bool strict_system_first(const ResolvedModel& m) {
    if (m.gguf.has_chat_template) return m.gguf.chat_template_system_first;
    const json& spec = m.spec;
    if (!spec.is_object() || !spec.contains("chat_template") || !spec["chat_template"].is_string()) return false;
    return lower(spec["chat_template"].get<std::string>()).find("system message must be at the beginning") != std::string::npos;
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
            j["revision"] = spec_revision(m);
            j["strict_system_first"] = strict_system_first(m);
            break;
        case ModelType::embedding:
            j["language"] = spec.is_object() && spec.contains("language") ? spec["language"] : json(nullptr);
            j["model_hub"] = rec.request.download_hub.empty() ? "huggingface" : rec.request.download_hub;
            j["model_revision"] = spec_revision(m);
            break;
        case ModelType::rerank:
            j["type"] = spec.is_object() && spec.contains("type") ? spec["type"] : json("normal");
            j["language"] = spec.is_object() && spec.contains("language") ? spec["language"] : json(nullptr);
            j["model_revision"] = spec_revision(m);
            break;
        case ModelType::audio:
            j["model_family"] = family;
            j["model_revision"] = spec_revision(m);
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
