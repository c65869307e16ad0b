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
    std::string type = "LLM", file, name, worker_ip;
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
    reg->add_flag("-p,--persist,!--no-persist", a->persist, "Keep the registration across restarts");
    reg->add_option("-w,--worker-ip", a->worker_ip, "Accepted for Xinference (one node)");
    add_endpoint_options(reg, a->ep);
    reg->callback([a] {
        exit_code() = run_reporting_errors([&] {
            std::ifstream in(a->file);
            if (!in) throw CliError("cannot read " + a->file);
            std::stringstream ss;
            ss << in.rdbuf();
            ApiClient(a->ep).post("/v1/model_registrations/" + a->type,
                                  {{"model", ss.str()},
                                   {"worker_ip", a->worker_ip.empty() ? json(nullptr) : json(a->worker_ip)},
                                   {"persist", a->persist}});
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
            // The columns Xinference prints for each type.
            std::vector<std::string> header = {"Type", "Name"};
            const std::string t = l->type;
            if (t == "LLM") header.insert(header.end(), {"Language", "Ability"});
            else if (t == "embedding") header.insert(header.end(), {"Language", "Dimensions"});
            else if (t == "rerank") header.push_back("Language");
            else if (t == "image" || t == "video") header.push_back("Family");
            else if (t == "audio") header.insert(header.end(), {"Family", "Multilingual"});
            header.push_back("Is-built-in");
            std::vector<std::vector<std::string>> rows;
            for (auto& s : specs) {
                std::vector<std::string> row = {t, s.value("model_name", "")};
                for (size_t i = 2; i + 1 < header.size(); ++i) {
                    const std::string& h = header[i];
                    if (h == "Language") row.push_back(join(s.value("model_lang", s.value("language", json()))));
                    else if (h == "Ability") row.push_back(join(s.value("model_ability", json())));
                    else if (h == "Dimensions") row.push_back(s.contains("dimensions") ? s["dimensions"].dump() : "");
                    else if (h == "Family") row.push_back(s.value("model_family", ""));
                    else if (h == "Multilingual") row.push_back(s.value("multilingual", false) ? "True" : "False");
                }
                row.push_back(s.value("is_builtin", false) ? "True" : "False");
                rows.push_back(row);
            }
            print_table(std::cout, header, rows);
        });
    });
}

}  // namespace xinfer::cli
