// keys create|list|revoke: API key management on a service with authentication (admins only;
// the server does the work at /v1/admin/keys, so this works the same against a remote service).
#include <ctime>
#include <iostream>
#include <sstream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace xinfer::cli {

namespace {

struct KeyArgs {
    Endpoint ep;
    std::string user, name, id;
    std::vector<std::string> permissions, models;
    double expires_in_days = 0;
    int rpm = 0, tpm = 0;
};

std::string date_of(int64_t unix_s) {
    if (unix_s == 0) return "never";
    std::time_t t = static_cast<std::time_t>(unix_s);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", std::localtime(&t));
    return buf;
}

std::string joined(const json& list, const char* empty) {
    if (!list.is_array() || list.empty()) return empty;
    std::string out;
    for (auto& v : list) out += (out.empty() ? "" : ",") + v.get<std::string>();
    return out;
}

std::string limit(int v) { return v > 0 ? std::to_string(v) : "-"; }

void run_create(const KeyArgs& a) {
    json body = {{"name", a.name}, {"permissions", a.permissions}, {"models", a.models}, {"rpm", a.rpm}, {"tpm", a.tpm}};
    if (!a.user.empty()) body["user"] = a.user;
    if (a.expires_in_days > 0) body["expires_in_days"] = a.expires_in_days;
    const json k = ApiClient(a.ep).post("/v1/admin/keys", body);
    std::cout << k.value("key", "") << "\n"
              << "id " << k.value("id", "") << ", user " << k.value("user", "") << ", expires "
              << date_of(k.value("expires_at", int64_t{0})) << "\n"
              << "Keep this key now: it is stored hashed and cannot be shown again." << std::endl;
}

void run_list(const KeyArgs& a) {
    const json keys = ApiClient(a.ep).get("/v1/admin/keys").value("keys", json::array());
    std::vector<std::vector<std::string>> rows;
    for (auto& k : keys)
        rows.push_back({k.value("id", ""), k.value("hint", ""), k.value("user", ""), k.value("name", ""),
                        joined(k.value("permissions", json::array()), "(user's)"), joined(k.value("models", json::array()), "all"),
                        date_of(k.value("expires_at", int64_t{0})), limit(k.value("rpm", 0)), limit(k.value("tpm", 0)),
                        k.value("revoked", false) ? "revoked" : "active"});
    print_table(std::cout, {"id", "key", "user", "name", "permissions", "models", "expires", "rpm", "tpm", "state"}, rows);
}

}  // namespace

void add_key_commands(CLI::App& app) {
    auto* keys = app.add_subcommand("keys", "Create, list and revoke API keys (admins; needs authentication on)");
    keys->require_subcommand(1);

    auto c = std::make_shared<KeyArgs>();
    auto* create = keys->add_subcommand("create", "Create an API key, shown once");
    create->add_option("--user", c->user, "The user whose permissions the key carries (default: you)");
    create->add_option("--name", c->name, "A label for the key");
    create->add_option("--permissions", c->permissions, "Only these of the user's permissions")->delimiter(',');
    create->add_option("--models", c->models, "Only these model uids (default: every model)")->delimiter(',');
    create->add_option("--expires-in-days", c->expires_in_days, "Days until the key stops working (default: never)")
        ->check(CLI::PositiveNumber);
    create->add_option("--rpm", c->rpm, "Requests per minute (default: unlimited)")->check(CLI::NonNegativeNumber);
    create->add_option("--tpm", c->tpm, "Tokens per minute (default: unlimited)")->check(CLI::NonNegativeNumber);
    add_endpoint_options(create, c->ep);
    create->callback([c] { exit_code() = run_reporting_errors([&] { run_create(*c); }); });

    auto l = std::make_shared<KeyArgs>();
    auto* list = keys->add_subcommand("list", "List API keys (never the keys themselves)");
    add_endpoint_options(list, l->ep);
    list->callback([l] { exit_code() = run_reporting_errors([&] { run_list(*l); }); });

    auto r = std::make_shared<KeyArgs>();
    auto* revoke = keys->add_subcommand("revoke", "Revoke an API key at once");
    revoke->add_option("id", r->id, "The key's id (from keys list)")->required();
    add_endpoint_options(revoke, r->ep);
    revoke->callback([r] {
        exit_code() = run_reporting_errors([&] {
            ApiClient(r->ep).del("/v1/admin/keys/" + r->id);
            std::cout << "Revoked " << r->id << std::endl;
        });
    });
}

}  // namespace xinfer::cli
