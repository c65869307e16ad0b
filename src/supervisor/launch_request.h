// A launch request as Xinference's POST /v1/models body spells it, parsed and type-checked.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "registry/model_type.h"

namespace xinfer {

using json = nlohmann::json;

struct LaunchRequest {
    std::string model_uid;             // empty: defaults to model_name
    std::string model_name;            // may be empty when model_path is given
    std::optional<ModelType> model_type;  // empty: found from the registry, else LLM
    std::string model_engine;          // only "llama.cpp" is served for GGUF models today
    std::string model_format;          // e.g. "ggufv2"
    std::string model_size_in_billions;
    std::string quantization;
    std::string model_path;            // a GGUF file, or a directory holding one
    std::string download_hub;          // "huggingface", "modelscope", or empty: the default order
    int replica = 1;
    json n_gpu;                        // "auto", integer, or null (CPU)
    std::vector<int> gpu_idx;
    std::optional<int> request_limits;  // requests served at once; more wait in a bounded queue
    std::optional<int> request_queue;   // how many may wait (default: request_limits)
    std::optional<double> keep_alive_s; // idle seconds before unloading; < 0 never; unset: server default
    std::map<std::string, std::string> envs;
    json engine_options = json::object();  // every other key: passed to the engine (n_ctx, ...)
    bool wait_ready = true;
    // The model already served (on other nodes of a cluster): requests for it here wait while it
    // loads, as through a reload, instead of getting 503. Not part of the request's JSON.
    bool served_before = false;
    // Xinference's switch for hybrid reasoning models (Qwen3-style templates); unset: the template's default.
    std::optional<bool> enable_thinking;
    // Xinference's generic launch keys that mean nothing to xinfer's engines: "key: why", reported
    // in the model's events instead of being refused, so Xinference clients launch unchanged.
    std::vector<std::string> ignored;

    // Throws ApiError 400 naming the field when a value has the wrong type or range.
    static LaunchRequest from_json(const json& body);
    json to_json() const;  // for GET /v1/models/{uid} and persistence
};

}  // namespace xinfer
