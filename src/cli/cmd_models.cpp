// launch, list, terminate.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace xinfer::cli {

namespace {

struct LaunchArgs {
    Endpoint ep;
    std::string name, type = "LLM", engine, uid, size, format, quantization, model_path, n_gpu = "auto",
                                     gpu_idx, worker_ip;
    int replica = 1;
    std::vector<std::string> extras;  // --key value pairs passed to the engine
};

void draw_progress(double p, const std::string& status) {
    const int width = 30;
    int filled = static_cast<int>(p * width + 0.5);
    std::cerr << "\r[" << std::string(filled, '#') << std::string(width - filled, ' ') << "] "
              << static_cast<int>(p * 100 + 0.5) << "% " << status << "   " << std::flush;
}

// "--n_ctx 2048 --flag" → {"n_ctx": 2048, "flag": true}; numbers stay numbers.
json engine_options(const std::vector<std::string>& extras) {
    json out = json::object();
    for (size_t i = 0; i < extras.size(); ++i) {
        std::string key = extras[i];
        if (key.rfind("--", 0) != 0) throw CliError("unexpected argument '" + key + "'");
        key = key.substr(2);
        for (auto& c : key)
            if (c == '-') c = '_';
        if (auto eq = key.find('='); eq != std::string::npos) {
            std::string v = key.substr(eq + 1);
            key = key.substr(0, eq);
            json parsed = json::parse(v, nullptr, false);
            out[key] = parsed.is_discarded() ? json(v) : parsed;
            continue;
        }
        if (i + 1 >= extras.size() || extras[i + 1].rfind("--", 0) == 0) {
            out[key] = true;
            continue;
        }
        std::string v = extras[++i];
        json parsed = json::parse(v, nullptr, false);
        out[key] = (parsed.is_discarded() || parsed.is_object() || parsed.is_array()) ? json(v) : parsed;
    }
    return out;
}

void run_launch(const LaunchArgs& a) {
    ApiClient api(a.ep);
    json body = engine_options(a.extras);
    body["model_name"] = a.name;
    body["model_type"] = a.type;
    if (!a.engine.empty()) body["model_engine"] = a.engine;
    if (!a.uid.empty()) body["model_uid"] = a.uid;
    if (!a.size.empty()) body["model_size_in_billions"] = a.size;
    if (!a.format.empty()) body["model_format"] = a.format;
    if (!a.quantization.empty()) body["quantization"] = a.quantization;
    if (!a.model_path.empty()) body["model_path"] = a.model_path;
    if (!a.worker_ip.empty()) body["worker_ip"] = a.worker_ip;
    body["replica"] = a.replica;
    if (a.n_gpu == "none" || a.n_gpu == "null" || a.n_gpu == "cpu") body["n_gpu"] = nullptr;
    else if (a.n_gpu == "auto") body["n_gpu"] = "auto";
    else body["n_gpu"] = std::stoi(a.n_gpu);
    if (!a.gpu_idx.empty()) {
        json idx = json::array();
        std::stringstream ss(a.gpu_idx);
        for (std::string x; std::getline(ss, x, ',');) idx.push_back(std::stoi(x));
        body["gpu_idx"] = idx;
    }
    body["wait_ready"] = false;  // we follow progress ourselves to draw the bar
    std::string uid = api.post("/v1/models", body)["model_uid"];
    std::cout << "Launching model " << uid << std::endl;
    for (;;) {
        json p = api.get("/v1/models/" + uid + "/progress");
        std::string status = p.value("status", "");
        draw_progress(p.value("progress", 0.0), status);
        if (status == "failed") {
            std::cerr << "\n";
            std::string reason = p["failure_reason"].is_string() ? p["failure_reason"].get<std::string>() : "unknown";
            try { api.del("/v1/models/" + uid); } catch (const CliError&) {}
            throw CliError("launch of " + uid + " failed: " + reason);
        }
        if (status == "ready" || status == "busy") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::cerr << "\n";
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
    launch->add_option("--model-engine,--engine", la->engine, "Engine (llama.cpp)");
    launch->add_option("-u,--model-uid", la->uid, "Model uid (default: the model name)");
    launch->add_option("-s,--size-in-billions,--model-size-in-billions", la->size, "Model size in billions");
    launch->add_option("-f,--model-format", la->format, "Model format (ggufv2)");
    launch->add_option("-q,--quantization", la->quantization, "Quantization");
    launch->add_option("-r,--replica", la->replica, "Number of replicas")->capture_default_str();
    launch->add_option("--n-gpu", la->n_gpu, "GPUs: auto, a number, or none for CPU only")->capture_default_str();
    launch->add_option("--gpu-idx", la->gpu_idx, "GPU indexes, comma separated");
    launch->add_option("--model-path", la->model_path, "Local GGUF file or folder holding one");
    launch->add_option("--worker-ip", la->worker_ip, "Worker to place the model on");
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
