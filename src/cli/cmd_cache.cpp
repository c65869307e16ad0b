// cached and remove-cache: the model files in the service's cache (XINFER_HOME/cache).
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace xinfer::cli {

namespace {

struct CacheArgs {
    Endpoint ep;
    std::string model, worker_ip;
    bool check = false;
};

std::string text(const json& v) {
    if (v.is_null()) return "-";
    return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string human_size(uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

void run_cached(const CacheArgs& a) {
    json list = ApiClient(a.ep).get("/v1/cache/models", {{"model_name", a.model}, {"worker_ip", a.worker_ip}}).value("list", json::array());
    if (list.empty()) {
        std::cout << "There are no cache files." << std::endl;
        return;
    }
    std::cout << "cached_model: " << std::endl;
    std::vector<std::vector<std::string>> rows;
    for (auto& m : list)
        rows.push_back({text(m["model_name"]), text(m["model_version"]), text(m["model_format"]),
                        text(m["model_size_in_billions"]), text(m["quantization"]),
                        human_size(m.value("size_bytes", uint64_t{0})), text(m["path"])});
    print_table(std::cout, {"model_name", "model_version", "model_format", "model_size_in_billions", "quantization", "size", "path"},
                rows);
}

void run_remove_cache(const CacheArgs& a) {
    ApiClient api(a.ep);
    const Query q = {{"model_version", a.model}, {"worker_ip", a.worker_ip}};
    if (!a.check) {
        json paths = api.get("/v1/cache/models/files", q).value("paths", json::array());
        if (paths.empty()) {
            std::cout << "There is no model version named " << a.model << "." << std::endl;
            return;
        }
        std::cout << "Model " << a.model << " cache directory to be deleted:" << std::endl;
        for (auto& p : paths) std::cout << p.get<std::string>() << std::endl;
        std::cout << "Do you want to proceed with the deletion? [y/N]: " << std::flush;
        std::string answer;
        if (!std::getline(std::cin, answer) || (answer != "y" && answer != "Y" && answer != "yes")) {
            std::cout << "Aborted!" << std::endl;
            exit_code() = 1;
            return;
        }
    }
    if (api.del("/v1/cache/models", q).value("result", false))
        std::cout << "Cache directory " << a.model << " has been deleted." << std::endl;
    else
        throw CliError("Cache directory " + a.model + " could not be deleted");
}

}  // namespace

void add_cache_commands(CLI::App& app) {
    auto c = std::make_shared<CacheArgs>();
    auto* cached = app.add_subcommand("cached", "List the model files in the service's cache");
    cached->add_option("-n,--model_name,--model-name", c->model, "Only this model");
    cached->add_option("--worker-ip", c->worker_ip, "Accepted for Xinference (one node)");
    add_endpoint_options(cached, c->ep);
    cached->callback([c] { exit_code() = run_reporting_errors([&] { run_cached(*c); }); });

    auto r = std::make_shared<CacheArgs>();
    auto* remove = app.add_subcommand("remove-cache", "Delete a cached model version (not while a model uses it)");
    remove->add_option("-n,--model_version,--model-version", r->model, "The model_version `cached` shows")->required();
    remove->add_option("--worker-ip", r->worker_ip, "Accepted for Xinference (one node)");
    remove->add_flag("--check", r->check, "Do not ask for confirmation");
    add_endpoint_options(remove, r->ep);
    remove->callback([r] { exit_code() = run_reporting_errors([&] { run_remove_cache(*r); }); });
}

}  // namespace xinfer::cli
