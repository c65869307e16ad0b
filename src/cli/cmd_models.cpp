// launch, list, terminate.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "cli/table.h"

namespace xinfer::cli {

namespace {

struct LaunchArgs {
    Endpoint ep;
    std::string name, type = "LLM", engine, uid, size, format, quantization, model_path, n_gpu = "auto",
                                     gpu_idx, worker_ip;
    int replica = 1, n_worker = 1;
    bool trust_remote_code = true, enable_thinking = false;
    std::optional<bool> enable_virtual_env;
    std::vector<std::pair<std::string, std::string>> envs, lora_modules, lora_load, lora_fuse, quantization_config;
    std::vector<std::string> venv_packages, venv_find_links;
    std::vector<std::string> extras;  // --key value pairs passed to the engine
};

// A command-line value as Xinference reads it: None, true/false, numbers, JSON objects and
// lists; anything else stays a string.
json cli_value(const std::string& v) {
    if (v == "None") return nullptr;
    if (v == "true" || v == "True") return true;
    if (v == "false" || v == "False") return false;
    if (!v.empty() && (v[0] == '{' || v[0] == '[' || v[0] == '-' || std::isdigit(static_cast<unsigned char>(v[0])))) {
        json parsed = json::parse(v, nullptr, false);
        if (!parsed.is_discarded() && (parsed.is_number() || parsed.is_object() || parsed.is_array())) return parsed;
    }
    return v;
}

// "--n_ctx 2048 --flag" → {"n_ctx": 2048, "flag": true}.
json engine_options(const std::vector<std::string>& extras) {
    json out = json::object();
    for (size_t i = 0; i < extras.size(); ++i) {
        std::string key = extras[i];
        if (key.rfind("--", 0) != 0)
            throw CliError("extra options must be given as --key value; cannot read '" + key + "'");
        key = key.substr(2);
        for (auto& c : key)
            if (c == '-') c = '_';
        if (auto eq = key.find('='); eq != std::string::npos) {
            out[key.substr(0, eq)] = cli_value(key.substr(eq + 1));
            continue;
        }
        if (i + 1 >= extras.size() || extras[i + 1].rfind("--", 0) == 0) {
            out[key] = true;
            continue;
        }
        out[key] = cli_value(extras[++i]);
    }
    return out;
}

// How Python prints a dict of command-line values, for the `with kwargs: {...}` line scripts grep.
std::string python_repr(const json& v) {
    if (v.is_null()) return "None";
    if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
    if (v.is_string()) return "'" + v.get<std::string>() + "'";
    if (v.is_object()) {
        std::string out;
        for (auto& [k, x] : v.items()) out += (out.empty() ? "" : ", ") + ("'" + k + "': " + python_repr(x));
        return "{" + out + "}";
    }
    if (v.is_array()) {
        std::string out;
        for (auto& x : v) out += (out.empty() ? "" : ", ") + python_repr(x);
        return "[" + out + "]";
    }
    return v.dump();
}

json pairs_object(const std::vector<std::pair<std::string, std::string>>& pairs) {
    json out = json::object();
    for (auto& [k, v] : pairs) out[k] = cli_value(v);
    return out;
}

// The launch body Xinference's client sends (every key, null where unset), so xinfer's CLI and
// Xinference's reach the service in the same shape.
json launch_body(const LaunchArgs& a, const json& kwargs) {
    json body = {{"model_uid", a.uid.empty() ? json(nullptr) : json(a.uid)},
                 {"model_name", a.name},
                 {"model_engine", a.engine.empty() ? json(nullptr) : json(a.engine)},
                 {"peft_model_config", nullptr},
                 {"model_type", a.type},
                 {"model_size_in_billions", nullptr},
                 {"model_format", a.format.empty() ? json(nullptr) : json(a.format)},
                 {"quantization", a.quantization.empty() ? json(nullptr) : json(a.quantization)},
                 {"replica", a.replica},
                 {"n_worker", a.n_worker},
                 {"n_gpu", "auto"},
                 {"request_limits", nullptr},
                 {"worker_ip", a.worker_ip.empty() ? json(nullptr) : json(a.worker_ip)},
                 {"gpu_idx", nullptr},
                 {"replica_config", nullptr},
                 {"model_path", a.model_path.empty() ? json(nullptr) : json(a.model_path)},
                 {"enable_thinking", a.enable_thinking},
                 {"enable_virtual_env", a.enable_virtual_env ? json(*a.enable_virtual_env) : json(nullptr)},
                 {"virtual_env_packages", a.venv_packages.empty() ? json(nullptr) : json(a.venv_packages)},
                 {"virtual_env_find_links", a.venv_find_links.empty() ? json(nullptr) : json(a.venv_find_links)},
                 {"envs", a.envs.empty() ? json(nullptr) : json(pairs_object(a.envs))},
                 {"trust_remote_code", a.trust_remote_code}};
    if (!a.size.empty()) {
        // "7" is a number, "1_5" or "0.5" stays a string (Xinference's spelling).
        body["model_size_in_billions"] = a.size.find_first_not_of("0123456789") == std::string::npos ? json(std::stoll(a.size))
                                                                                                     : json(a.size);
    }
    std::string n_gpu = a.n_gpu;
    for (auto& c : n_gpu) c = static_cast<char>(::tolower(c));
    if (n_gpu == "none" || n_gpu == "null" || n_gpu == "cpu") body["n_gpu"] = nullptr;
    else if (n_gpu != "auto") {
        try {
            body["n_gpu"] = std::stoi(n_gpu);
        } catch (...) {
            throw CliError("--n-gpu must be auto, none or a number, not '" + a.n_gpu + "'");
        }
    }
    if (!a.gpu_idx.empty()) {
        json idx = json::array();
        std::stringstream ss(a.gpu_idx);
        for (std::string x; std::getline(ss, x, ',');) {
            try {
                idx.push_back(std::stoi(x));
            } catch (...) {
                throw CliError("--gpu-idx must list GPU numbers separated by commas, not '" + a.gpu_idx + "'");
            }
        }
        body["gpu_idx"] = idx;
    }
    if (!a.lora_modules.empty() || !a.lora_load.empty() || !a.lora_fuse.empty()) {
        json loras = json::array();
        for (auto& [name, path] : a.lora_modules) loras.push_back({{"lora_name", name}, {"local_path", path}});
        body["peft_model_config"] = {{"lora_list", loras},
                                     {"image_lora_load_kwargs", a.lora_load.empty() ? json(nullptr) : pairs_object(a.lora_load)},
                                     {"image_lora_fuse_kwargs", a.lora_fuse.empty() ? json(nullptr) : pairs_object(a.lora_fuse)}};
    }
    if (!a.quantization_config.empty()) body["quantization_config"] = pairs_object(a.quantization_config);
    for (auto& [k, v] : kwargs.items()) body[k] = v;
    return body;
}

void run_launch(const LaunchArgs& a) {
    json kwargs = engine_options(a.extras);
    LaunchArgs args = a;
    if (kwargs.contains("model_path")) {  // Xinference accepts --model_path as well
        if (!args.model_path.empty()) throw CliError("Cannot set both --model-path and --model_path");
        args.model_path = kwargs["model_path"].is_string() ? kwargs["model_path"].get<std::string>() : kwargs["model_path"].dump();
        kwargs.erase("model_path");
    }
    // A relative path means the caller's folder, not the service's: send it absolute when it is here.
    std::error_code ec;
    if (!args.model_path.empty() && std::filesystem::path(args.model_path).is_relative() &&
        std::filesystem::exists(args.model_path, ec))
        args.model_path = std::filesystem::absolute(args.model_path, ec).string();
    std::cerr << "Launch model name: " << args.name << " with kwargs: " << python_repr(kwargs) << std::endl;
    ApiClient api(args.ep);
    // wait_ready=False as a query parameter, as Xinference's CLI sends it: we follow progress ourselves.
    std::string uid = api.post("/v1/models", launch_body(args, kwargs), {{"wait_ready", "False"}})["model_uid"];
    ProgressBar bar(std::cerr, "Launching model", ProgressBar::stderr_is_terminal());
    for (;;) {
        json instances = api.get("/v1/models/instances", {{"model_name", args.name}, {"model_uid", uid}});
        bool done = !instances.empty(), failed = false;
        for (auto& i : instances) {
            std::string st = i.value("status", "");
            done &= st == "READY" || st == "ERROR" || st == "TERMINATED";
            failed |= st == "ERROR" || st == "TERMINATED";
        }
        if (failed) {
            json d = api.get("/v1/models/" + uid);
            std::string reason = d["failure_reason"].is_string() ? d["failure_reason"].get<std::string>() : "unknown";
            std::cerr << "\n";
            try { api.del("/v1/models/" + uid); } catch (const CliError&) {}
            throw CliError("launch of " + uid + " failed: " + reason);
        }
        if (done) break;
        const json progress = api.get("/v1/models/" + uid + "/progress");
        const json dl = progress.value("download", json(nullptr));
        if (dl.is_object() && dl.value("state", "") == "downloading")
            bar.set_note(download_note(dl.value("bytes_done", uint64_t{0}), dl.value("bytes_total", uint64_t{0}),
                                       dl.value("bytes_per_second", 0.0)));
        else
            bar.set_note("");
        bar.update(progress.value("progress", 0.0));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    bar.finish();
    std::cout << "Model uid: " << uid << std::endl;
}

std::string text(const json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return "";
    return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

void run_list(const Endpoint& ep) {
    ApiClient api(ep);
    json data = api.get("/v1/models")["data"];
    std::map<std::string, std::vector<json>> by_type;
    for (auto& m : data) by_type[text(m, "model_type")].push_back(m);
    bool first = true;
    for (auto& [type, models] : by_type) {
        if (!first) std::cout << "\n";
        first = false;
        std::vector<std::vector<std::string>> rows;
        if (type == "LLM") {
            for (auto& m : models)
                rows.push_back({text(m, "id"), type, text(m, "model_name"), text(m, "model_format"),
                                text(m, "model_size_in_billions"), text(m, "quantization"), text(m, "status")});
            print_table(std::cout, {"UID", "Type", "Name", "Format", "Size (in billions)", "Quantization", "Status"}, rows);
        } else if (type == "embedding") {
            for (auto& m : models)
                rows.push_back({text(m, "id"), type, text(m, "model_name"), text(m, "dimensions"), text(m, "status")});
            print_table(std::cout, {"UID", "Type", "Name", "Dimensions", "Status"}, rows);
        } else {
            for (auto& m : models) rows.push_back({text(m, "id"), type, text(m, "model_name"), text(m, "status")});
            print_table(std::cout, {"UID", "Type", "Name", "Status"}, rows);
        }
    }
}

}  // namespace

void add_model_commands(CLI::App& app) {
    auto la = std::make_shared<LaunchArgs>();
    auto* launch = app.add_subcommand("launch", "Launch a model and wait until it is ready");
    launch->add_option("-n,--model-name", la->name, "Model name (catalog, registered, or any name with --model-path)");
    launch->add_option("-t,--model-type", la->type, "LLM, embedding, rerank, audio")->capture_default_str();
    launch->add_option("--model-engine,--engine", la->engine, "Engine (llama.cpp; also -en)");
    launch->add_option("-u,--model-uid", la->uid, "Model uid (default: the model name)");
    launch->add_option("-s,--size-in-billions,--model-size-in-billions", la->size, "Model size in billions");
    launch->add_option("-f,--model-format", la->format, "Model format (ggufv2)");
    launch->add_option("-q,--quantization", la->quantization, "Quantization");
    launch->add_option("-r,--replica", la->replica, "Number of replicas")->capture_default_str();
    launch->add_option("--n-worker", la->n_worker, "Workers per model (one node here)")->capture_default_str();
    launch->add_option("--n-gpu", la->n_gpu, "GPUs: auto, a number, or none for CPU only")->capture_default_str();
    launch->add_option("--gpu-idx", la->gpu_idx, "GPU indexes, comma separated");
    launch->add_option("--model-path", la->model_path, "Local GGUF file or folder holding one (also -mp)");
    launch->add_option("--worker-ip", la->worker_ip, "Worker to place the model on");
    launch->add_option("--trust-remote-code", la->trust_remote_code, "Accepted for Xinference scripts (no remote code runs)");
    launch->add_flag("--enable-thinking", la->enable_thinking, "Thinking on for hybrid reasoning models (Qwen3)");
    launch->add_flag("--enable-virtual-env{true},--disable-virtual-env{false}", la->enable_virtual_env,
                     "Accepted for Xinference scripts");
    launch->add_option("--virtual-env-package", la->venv_packages, "Accepted for Xinference scripts (also -vp)");
    launch->add_option("--virtual-env-find-link", la->venv_find_links, "Accepted for Xinference scripts");
    launch->add_option("--env", la->envs, "Environment variable for the engine: --env KEY VALUE (also -ev)");
    launch->add_option("--lora-modules", la->lora_modules, "LoRA adapter: NAME PATH (also -lm)");
    launch->add_option("--image-lora-load-kwargs", la->lora_load, "KEY VALUE (also -ld)");
    launch->add_option("--image-lora-fuse-kwargs", la->lora_fuse, "KEY VALUE (also -fd)");
    launch->add_option("--quantization-config", la->quantization_config, "KEY VALUE (also -qc)");
    add_endpoint_options(launch, la->ep);
    launch->allow_extras();
    launch->callback([la, launch] {
        la->extras = launch->remaining();
        if (la->name.empty() && la->model_path.empty()) throw CLI::ValidationError("--model-name", "required");
        exit_code() = (run_reporting_errors([&] { run_launch(*la); }));
    });

    auto ep = std::make_shared<Endpoint>();
    auto* list = app.add_subcommand("list", "List running models");
    add_endpoint_options(list, *ep);
    list->callback([ep] { exit_code() = (run_reporting_errors([&] { run_list(*ep); })); });

    auto term_uid = std::make_shared<std::string>();
    auto ep2 = std::make_shared<Endpoint>();
    auto* term = app.add_subcommand("terminate", "Terminate a running model");
    term->add_option("--model-uid,-u,uid", *term_uid, "Model uid")->required();
    add_endpoint_options(term, *ep2);
    term->callback([ep2, term_uid] {
        exit_code() = (run_reporting_errors([&] {
            ApiClient(*ep2).del("/v1/models/" + *term_uid);
            std::cout << "Model " << *term_uid << " terminated" << std::endl;
        }));
    });
}

}  // namespace xinfer::cli
