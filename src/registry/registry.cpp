#include "registry/registry.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <regex>
#include <string_view>

#include "common/errors.h"
#include "common/log.h"
#include "registry/catalog_data.h"

namespace xinfer {

namespace {
// catalog/llm.json holds LLM specs, catalog/embedding.json embedding specs, and so on.
std::optional<ModelType> type_of_catalog_file(std::string_view file) {
    auto dot = file.find('.');
    return parse_model_type(std::string(file.substr(0, dot)));
}

// The texts of a JSON array's object elements (a catalog file is an array of specs).
std::vector<std::string_view> array_objects(std::string_view text) {
    std::vector<std::string_view> out;
    int depth = 0;
    bool in_string = false;
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (depth++ == 1) start = i;
        } else if (c == '}' || c == ']') {
            if (--depth == 1 && c == '}') out.push_back(text.substr(start, i + 1 - start));
        }
    }
    return out;
}

// The embedded catalog text is read once, here; afterwards each spec is parsed again from the
// page cache when asked for. Its pages (several hundred KiB) leave the service's resident memory.
void release_pages(std::string_view text) {
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto from = (reinterpret_cast<uintptr_t>(text.data()) + page - 1) & ~(page - 1);
    const auto to = (reinterpret_cast<uintptr_t>(text.data()) + text.size()) & ~(page - 1);
    if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}
}  // namespace

Registry::Registry(std::shared_ptr<RegistrationStore> store) : store_(std::move(store)) {
    load_builtin();
    if (!store_) return;
    for (auto& r : store_->load_all()) {
        auto type = parse_model_type(r.type);
        json spec = json::parse(r.spec_json, nullptr, false);
        if (!type || spec.is_discarded()) {
            log::warn("skipping unreadable stored registration " + r.type + "/" + r.name);
            continue;
        }
        custom_[{*type, r.name}] = {*type, spec, false};
        persisted_[{*type, r.name}] = true;
    }
}

void Registry::load_builtin() {
    for (auto& f : builtin_catalog_files()) {
        auto type = type_of_catalog_file(f.name);
        if (!type || !json::accept(f.text)) {
            log::error("catalog file " + std::string(f.name) + " is not valid JSON; skipped");
            continue;
        }
        for (std::string_view text : array_objects(f.text)) {
            const json s = json::parse(text);
            builtin_[{*type, s.value("model_name", "")}] = text;
        }
        release_pages(f.text);
    }
}

std::optional<RegisteredSpec> Registry::find(ModelType type, const std::string& name) const {
    std::lock_guard lock(mu_);
    if (auto it = custom_.find({type, name}); it != custom_.end()) return it->second;
    if (auto it = builtin_.find({type, name}); it != builtin_.end()) return RegisteredSpec{type, json::parse(it->second), true};
    return std::nullopt;
}

std::optional<RegisteredSpec> Registry::find_any(const std::string& name) const {
    for (auto t : {ModelType::llm, ModelType::embedding, ModelType::rerank, ModelType::audio,
                   ModelType::image})
        if (auto s = find(t, name)) return s;
    return std::nullopt;
}

std::vector<RegisteredSpec> Registry::list(ModelType type) const {
    std::lock_guard lock(mu_);
    std::vector<RegisteredSpec> out;
    for (auto& [k, text] : builtin_)
        if (k.first == type) out.push_back({type, json::parse(text), true});
    for (auto& [k, v] : custom_)
        if (k.first == type) out.push_back(v);
    return out;
}

void Registry::validate(ModelType type, const json& spec) {
    if (!spec.is_object()) throw bad_request("model spec must be a JSON object", "model");
    auto name_it = spec.find("model_name");
    if (name_it == spec.end() || !name_it->is_string() || name_it->get<std::string>().empty())
        throw bad_request("model spec needs a 'model_name' string", "model_name");
    static const std::regex name_re("^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,127}$");
    if (!std::regex_match(name_it->get<std::string>(), name_re))
        throw bad_request("model_name may use letters, digits, '.', '_' and '-' only", "model_name");
    if (type == ModelType::llm) {
        if (spec.contains("model_ability") && !spec["model_ability"].is_array())
            throw bad_request("'model_ability' must be a list", "model_ability");
        if (spec.contains("context_length") && !spec["context_length"].is_number_integer())
            throw bad_request("'context_length' must be an integer", "context_length");
    }
    if (spec.contains("model_specs")) {
        if (!spec["model_specs"].is_array())
            throw bad_request("'model_specs' must be a list", "model_specs");
        for (auto& s : spec["model_specs"]) {
            if (!s.is_object()) throw bad_request("each model_specs entry must be an object");
            if (s.contains("model_uri") && !s["model_uri"].is_string())
                throw bad_request("'model_uri' must be a string", "model_uri");
        }
    }
    if (spec.contains("model_uri") && !spec["model_uri"].is_string())
        throw bad_request("'model_uri' must be a string", "model_uri");
}

void Registry::add(ModelType type, const json& spec, bool persist) {
    validate(type, spec);
    std::string name = spec["model_name"];
    {
        std::lock_guard lock(mu_);
        if (builtin_.count({type, name}))
            throw conflict("Model name conflicts with a built-in model: " + name);
        if (custom_.count({type, name}))
            throw conflict("Model is already registered: " + name);
        custom_[{type, name}] = {type, spec, false};
        persisted_[{type, name}] = persist && store_;
    }
    if (persist && store_) store_->put({to_string(type), name, spec.dump()});
}

void Registry::remove(ModelType type, const std::string& name) {
    {
        std::lock_guard lock(mu_);
        if (!custom_.count({type, name})) {
            if (builtin_.count({type, name}))
                throw bad_request("Built-in model " + name + " cannot be unregistered");
            throw not_found("Model registration not found: " + name);
        }
        custom_.erase({type, name});
        persisted_.erase({type, name});
    }
    if (store_) store_->remove(to_string(type), name);
}

}  // namespace xinfer
