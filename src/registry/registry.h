// All model specs xinfer knows: the built-in catalog (compiled in from catalog/*.json) and custom
// registrations (in memory, and in the RegistrationStore when persisted). Specs are kept in
// Xinference's JSON format (version 2) as they are, so they round-trip to clients unchanged.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/model_type.h"
#include "registry/registration_store.h"

namespace xinfer {

using json = nlohmann::json;

struct RegisteredSpec {
    ModelType type;
    json spec;        // the spec JSON as registered
    bool builtin;     // from the catalog
};

class Registry {
public:
    // store may be null (no persistence, e.g. in unit tests).
    explicit Registry(std::shared_ptr<RegistrationStore> store);

    std::optional<RegisteredSpec> find(ModelType type, const std::string& name) const;
    // Searches every type: launch requests may name a model without saying which kind it is.
    std::optional<RegisteredSpec> find_any(const std::string& name) const;
    std::vector<RegisteredSpec> list(ModelType type) const;

    // Throws ApiError: 400 invalid spec, 409 name taken (built-in or custom).
    void add(ModelType type, const json& spec, bool persist);
    // Throws ApiError: 404 unknown, 400 built-in.
    void remove(ModelType type, const std::string& name);

    // Checks a spec's shape as Xinference would before accepting it (400 with the reason).
    static void validate(ModelType type, const json& spec);

private:
    using Key = std::pair<ModelType, std::string>;
    void load_builtin();
    // Built-in specs: their JSON text in the binary, parsed when asked for (the parsed catalog,
    // hundreds of specs, took a few MiB of the idle service's memory).
    std::map<Key, std::string_view> builtin_;
    std::map<Key, RegisteredSpec> custom_;
    std::map<Key, bool> persisted_;
    std::shared_ptr<RegistrationStore> store_;
    mutable std::mutex mu_;
};

}  // namespace xinfer
