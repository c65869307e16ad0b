// bundle: carry xinfer, its libraries, models and a deployment to a machine with no network.
//   xinfer bundle create OUT.tar [-m NAME]... [--config deploy.json]
//   xinfer bundle install OUT.tar DIR [--no-start] [serve options...]
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "bundle/bundle.h"
#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "engines/llama_server/llama_server_command.h"

namespace xinfer::cli {

namespace {

struct BundleArgs {
    std::string out, config, tar, dir;
    std::vector<std::string> models, serve_args;
    bool no_start = false;
};

void run_create(const BundleArgs& a) {
    BundleOptions o;
    o.out = std::filesystem::absolute(a.out);
    o.models = a.models;
    if (!a.config.empty()) o.config = std::filesystem::absolute(a.config);
    o.xinfer_binary = std::filesystem::read_symlink("/proc/self/exe");
    o.llama_server = find_llama_server();
    ProgressBar bar(std::cerr, "Bundling", ProgressBar::stderr_is_terminal());
    BundleSummary s;
    try {
        s = create_bundle(o, [&](double f, const std::string& note) {
            bar.set_note(note);
            bar.update(f);
        });
    } catch (const std::exception& e) {
        throw CliError(std::string("cannot create the bundle: ") + e.what());
    }
    bar.finish();
    std::printf("%s: %llu files (%llu libraries), %.1f MiB\n", o.out.c_str(), static_cast<unsigned long long>(s.files),
                static_cast<unsigned long long>(s.libraries), s.bytes / 1048576.0);
}

void run_install(const BundleArgs& a) {
    ProgressBar bar(std::cerr, "Installing", ProgressBar::stderr_is_terminal());
    std::filesystem::path root;
    try {
        root = install_bundle(std::filesystem::absolute(a.tar), std::filesystem::absolute(a.dir), [&](double f, const std::string& note) {
            bar.set_note(note.size() > 60 ? note.substr(0, 57) + "..." : note);
            bar.update(f);
        });
    } catch (const std::exception& e) {
        throw CliError(std::string("cannot install the bundle: ") + e.what());
    }
    bar.finish();
    const std::string run = (root / "run.sh").string();
    std::printf("installed and verified: start it with %s\n", run.c_str());
    if (a.no_start) return;
    std::fflush(stdout);
    std::vector<char*> argv{const_cast<char*>(run.c_str())};
    for (auto& s : a.serve_args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    execv(run.c_str(), argv.data());
    throw CliError("cannot start " + run);
}

}  // namespace

void add_bundle_commands(CLI::App& app) {
    auto a = std::make_shared<BundleArgs>();
    auto* bundle = app.add_subcommand("bundle", "Offline bundles: xinfer, its libraries, models and a deployment in one archive");
    bundle->require_subcommand(1);
    auto* create = bundle->add_subcommand("create", "Write a bundle from this machine");
    create->add_option("out", a->out, "The archive to write (.tar)")->required();
    create->add_option("-m,--model", a->models, "A model of the model cache to carry (repeatable)");
    create->add_option("--config", a->config, "A deployment file (serve --config) the bundle starts with");
    create->callback([a] { exit_code() = run_reporting_errors([&] { run_create(*a); }); });
    auto* install = bundle->add_subcommand("install", "Unpack a bundle, verify every file, and start it");
    install->add_option("bundle", a->tar, "The archive")->required();
    install->add_option("dir", a->dir, "Where to unpack it")->required();
    install->add_flag("--no-start", a->no_start, "Only unpack and verify");
    install->add_option("serve_args", a->serve_args, "Options for xinfer serve (after --), e.g. -- -H 0.0.0.0 -p 9997");
    install->callback([a] { exit_code() = run_reporting_errors([&] { run_install(*a); }); });
}

}  // namespace xinfer::cli
