// Declarative deployment: a JSON file naming the models to run, each a launch body (model_uid,
// model_name, model_type, model_path, replica, n_gpu, gpu_idx, engine options ...) plus
// "enable". Applying it brings the service to that state: enabled models not running are
// launched, disabled ones running are terminated, models already running are left alone.
//
//   {"models": [{"model_uid": "chat", "model_name": "qwen2.5-instruct", "model_type": "LLM",
//                "model_path": "/models/qwen2.5-7b-instruct-q4_k_m.gguf", "replica": 1, "enable": true}]}
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "supervisor/supervisor.h"

namespace xinfer {

// Returns what was done per model: {"uid": "launched" | "running" | "terminated" | "disabled" | "error: ..."}.
nlohmann::json apply_deployment(Supervisor& supervisor, const nlohmann::json& config);
nlohmann::json read_deployment_file(const std::string& path);  // throws std::runtime_error

}  // namespace xinfer
