// register, unregister, registrations.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace xinfer::cli {

namespace {
struct RegArgs {
    Endpoint ep;
    std::string type = "LLM", file, name;
    bool persist = false;
};

std::string join(const json& arr) {
    if (!arr.is_array()) return arr.is_string() ? arr.get<std::string>() : "";
    std::string out;
    for (auto& x : arr) out += (out.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : x.dump());
    return out;
}
}  // namespace

void add_registration_commands(CLI::App& app) {
    auto a = std::make_shared<RegArgs>();
    auto* reg = app.add_subcommand("register", "Register a custom model spec");
    reg->add_option("-t,--model-type", a->type, "Model type")->capture_default_str();
    reg->add_option("-f,--file", a->file, "Spec JSON file")->required();
    reg->add_flag("--persist,!--no-persist", a->persist, "Keep the registration across restarts");
    add_endpoint_options(reg, a->ep);
    reg->callback([a] {
        exit_code() = run_reporting_errors([&] {
            std::ifstream in(a->file);
            if (!in) throw CliError("cannot read " + a->file);
            std::stringstream ss;
            ss << in.rdbuf();
            ApiClient(a->ep).post("/v1/model_registrations/" + a->type, {{"model", ss.str()}, {"persist", a->persist}});
            json spec = json::parse(ss.str(), nullptr, false);
            std::cout << "Registered " << (spec.is_object() ? spec.value("model_name", "") : "") << std::endl;
        });
    });

    auto u = std::make_shared<RegArgs>();
    auto* unreg = app.add_subcommand("unregister", "Remove a custom model spec");
    unreg->add_option("-t,--model-type", u->type, "Model type")->capture_default_str();
    unreg->add_option("-n,--model-name", u->name, "Model name")->required();
    add_endpoint_options(unreg, u->ep);
    unreg->callback([u] {
        exit_code() = run_reporting_errors([&] {
            ApiClient(u->ep).del("/v1/model_registrations/" + u->type + "/" + u->name);
            std::cout << "Unregistered " << u->name << std::endl;
        });
    });

    auto l = std::make_shared<RegArgs>();
    auto* regs = app.add_subcommand("registrations", "List built-in and custom model specs");
    regs->add_option("-t,--model-type", l->type, "Model type")->capture_default_str();
    add_endpoint_options(regs, l->ep);
    regs->callback([l] {
        exit_code() = run_reporting_errors([&] {
            json specs = ApiClient(l->ep).get("/v1/model_registrations/" + l->type + "?detailed=true");
            std::vector<std::vector<std::string>> rows;
            for (auto& s : specs)
                rows.push_back({l->type, s.value("model_name", ""), join(s.value("model_lang", s.value("language", json()))),
                                join(s.value("model_ability", json())), s.value("is_builtin", false) ? "True" : "False"});
            print_table(std::cout, {"Type", "Name", "Language", "Ability", "Is-built-in"}, rows);
        });
    });
}

}  // namespace xinfer::cli
