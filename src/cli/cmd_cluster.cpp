// engine, login, vllm-models, stop-cluster, cal-model-mem: Xinference's remaining commands.
#include <cmath>
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/memory_estimate.h"
#include "cli/table.h"

namespace xinfer::cli {

namespace {

std::string lowercase(std::string s) {
    for (auto& c : s) c = static_cast<char>(::tolower(c));
    return s;
}

std::string text(const json& v) {
    if (v.is_null()) return "";
    return v.is_string() ? v.get<std::string>() : v.dump();
}

bool confirm(const std::string& question) {
    std::cout << question << " [y/N]: " << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer)) return false;
    return answer == "y" || answer == "Y" || answer == "yes";
}

struct EngineArgs {
    Endpoint ep;
    std::string name, engine, format, size, quantization;
};

void run_engine(const EngineArgs& a) {
    json engines = ApiClient(a.ep).get("/v1/engines/" + a.name);
    std::string engine = a.engine;
    if (!engine.empty()) {
        bool matched = false;
        for (auto& [name, params] : engines.items())
            if (!matched && lowercase(name) == lowercase(engine)) engine = name, matched = true;
        if (!matched) {
            std::cerr << "xinfer does not support this inference engine \"" << a.engine << "\"." << std::endl;
            return;
        }
    }
    std::vector<std::vector<std::string>> rows;
    for (auto& [name, params] : engines.items()) {
        if (!engine.empty() && name != engine) continue;
        for (auto& p : params) {
            if (!a.format.empty() && p.value("model_format", "") != a.format) continue;
            if (!a.size.empty() && text(p["model_size_in_billions"]) != a.size) continue;
            for (auto& q : p.value("quantizations", json::array())) {
                if (!a.quantization.empty() && q != a.quantization) continue;
                rows.push_back({a.name, name, p.value("model_format", ""), text(p["model_size_in_billions"]), text(q)});
            }
        }
    }
    if (rows.empty()) {
        std::cerr << "xinfer does not support the given parameters for the model " << a.name << "." << std::endl;
        exit_code() = 1;
        return;
    }
    print_table(std::cout, {"Name", "Engine", "Format", "Size (in billions)", "Quantization"}, rows);
}

struct MemArgs {
    std::string name, size, format, quantization = "";
    int context = 0, kv_cache_dtype = 16;
};

void run_cal_model_mem(const MemArgs& a) {
    if (a.kv_cache_dtype != 8 && a.kv_cache_dtype != 16 && a.kv_cache_dtype != 32)
        throw CliError("Invalid kv_cache_dtype: " + std::to_string(a.kv_cache_dtype) + " (one of 8, 16, 32)");
    MemoryEstimate m = estimate_model_memory(a.size, a.quantization, a.context, a.kv_cache_dtype);
    char size[32];
    std::snprintf(size, sizeof size, "%.1f", m.billions);
    std::cout << "model_name: " << (a.name.empty() ? "None" : a.name) << "\n"
              << "kv_cache_dtype: " << a.kv_cache_dtype << "\n"
              << "model size: " << size << " B\n"
              << "quant: " << (a.quantization.empty() ? "None" : a.quantization) << "\n"
              << "context: " << a.context << "\n"
              << "gpu mem usage:\n"
              << "  model mem: " << m.model_mb << " MB\n"
              << "  kv_cache: " << m.kv_cache_mb << " MB\n"
              << "  overhead: " << m.overhead_mb << " MB\n"
              << "  active: " << m.activation_mb << " MB\n"
              << "  total: " << m.total_mb() << " MB (" << (m.total_mb() + 1023) / 1024 << " GB)" << std::endl;
}

}  // namespace

void add_cluster_commands(CLI::App& app) {
    auto e = std::make_shared<EngineArgs>();
    auto* engine = app.add_subcommand("engine", "Show the engines, formats, sizes and quantizations a model launches with");
    engine->add_option("-n,--model-name", e->name, "Model name")->required();
    engine->add_option("--model-engine", e->engine, "Only this engine (also -en)");
    engine->add_option("-f,--model-format", e->format, "Only this format");
    engine->add_option("-s,--model-size-in-billions", e->size, "Only this size");
    engine->add_option("-q,--quantization", e->quantization, "Only this quantization");
    add_endpoint_options(engine, e->ep);
    engine->callback([e] { exit_code() = run_reporting_errors([&] { run_engine(*e); }); });

    auto l = std::make_shared<std::pair<Endpoint, std::pair<std::string, std::string>>>();
    auto* login = app.add_subcommand("login", "Log in to a service that has authentication");
    login->add_option("--username", l->second.first, "User name")->required();
    login->add_option("--password", l->second.second, "Password")->required();
    add_endpoint_options(login, l->first);
    login->callback([l] {
        exit_code() = run_reporting_errors([&] {
            ApiClient api(l->first);
            if (!api.get("/v1/cluster/auth").value("auth", false)) {
                std::cerr << "xinfer at " << api.url() << " has no authentication: nothing to log in to" << std::endl;
                return;
            }
            const json r = api.post("/token", {{"username", l->second.first}, {"password", l->second.second}});
            save_login_token(api.url(), r.value("access_token", ""));
            std::cout << "Logged in to " << api.url() << " as " << l->second.first << std::endl;
        });
    });

    auto v = std::make_shared<Endpoint>();
    auto* vllm = app.add_subcommand("vllm-models", "List model families vLLM serves (none: xinfer has no vLLM)");
    add_endpoint_options(vllm, *v);
    vllm->callback([v] {
        exit_code() = run_reporting_errors([&] {
            json m = ApiClient(*v).get("/v1/models/vllm-supported");
            std::cout << "VLLM supported model families:\n"
                      << "VLLM supported chat model families: " << m.value("chat", json::array()).dump() << "\n"
                      << "VLLM supported generate model families: " << m.value("generate", json::array()).dump() << std::endl;
        });
    });

    auto s = std::make_shared<std::pair<Endpoint, bool>>();
    auto* stop = app.add_subcommand("stop-cluster", "Stop the service (models stop; launched models come back at its next start)");
    stop->add_flag("--check", s->second, "Do not ask for confirmation");
    add_endpoint_options(stop, s->first);
    stop->callback([s] {
        exit_code() = run_reporting_errors([&] {
            ApiClient api(s->first);
            if (!s->second) {
                std::cerr << "This command will stop the xinfer service at " << api.url() << "." << std::endl;
                std::cout << "Supervisor information: \n" << api.get("/v1/supervisor").dump() << "\n";
                std::cout << "Workers information:\n" << api.get("/v1/workers").dump() << std::endl;
                if (!confirm("Continue?")) {
                    std::cout << "Aborted!" << std::endl;
                    exit_code() = 1;
                    return;
                }
            }
            json r = api.del("/v1/clusters");
            std::cout << "Cluster stopped: " << (r.value("result", false) ? "True" : "False") << std::endl;
        });
    });

    auto m = std::make_shared<MemArgs>();
    auto* mem = app.add_subcommand("cal-model-mem", "Estimate the memory a model needs (xinfer's placement estimate)");
    mem->add_option("-n,--model-name", m->name, "Model name (informational)");
    mem->add_option("-s,--size-in-billions", m->size, "Size in billions: 7, 1_5 or 1.5")->required();
    mem->add_option("-f,--model-format", m->format, "Model format (ggufv2, pytorch, ...)")->required();
    mem->add_option("-q,--quantization", m->quantization, "Quantization (Q4_K_M, Q8_0, ...)");
    mem->add_option("-c,--context-length", m->context, "Context length")->required();
    mem->add_option("--kv-cache-dtype", m->kv_cache_dtype, "KV cache bits: 8, 16 or 32")->capture_default_str();
    mem->callback([m] { exit_code() = run_reporting_errors([&] { run_cal_model_mem(*m); }); });
}

}  // namespace xinfer::cli
