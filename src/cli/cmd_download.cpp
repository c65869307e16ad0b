// download: a catalog model's files into this machine's model cache (XINFER_HOME/cache) without
// launching it, from Hugging Face or ModelScope (mirrors and tokens from the environment), with
// a progress bar. A later launch by name finds them there.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "common/paths.h"
#include "registry/model_resolver.h"
#include "common/sqlite_db.h"
#include "registry/registration_store.h"

namespace xinfer::cli {

namespace {

struct DownloadArgs {
    std::string name, type, size, quantization, format, hub;
};

void run_download(const DownloadArgs& a) {
    auto db = std::make_shared<SqliteDb>(xinfer_home() / "xinfer.db");
    Registry registry(std::make_shared<RegistrationStore>(db));
    ModelChoice choice;
    choice.model_name = a.name;
    if (!a.type.empty()) {
        choice.model_type = parse_model_type(a.type);
        if (!choice.model_type) throw CliError("unknown model type '" + a.type + "'");
    }
    choice.model_size_in_billions = a.size;
    choice.quantization = a.quantization;
    choice.model_format = a.format;
    choice.download_hub = a.hub;
    DownloadPlan plan;
    try {
        plan = plan_catalog_download(registry, choice);
    } catch (const std::exception& e) {
        throw CliError(e.what());
    }
    std::printf("%s: %s@%s from %s (%s), %zu file(s), %.1f MiB\n", a.name.c_str(), plan.listing.repo.c_str(),
                plan.listing.revision.substr(0, 12).c_str(), plan.listing.endpoint.hub.c_str(), plan.listing.endpoint.base.c_str(),
                plan.files.size(), plan.total_bytes / 1048576.0);
    ProgressBar bar(std::cerr, "Downloading", ProgressBar::stderr_is_terminal());
    const auto began = std::chrono::steady_clock::now();
    try {
        uint64_t first = UINT64_MAX;  // bytes resumed from an earlier attempt do not count toward speed
        run_model_download(plan, [&](uint64_t done, uint64_t total) {
            if (first == UINT64_MAX) first = done;
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
            bar.set_note(download_note(done, total, s > 0.2 ? (done - first) / s : 0));
            bar.update(total ? static_cast<double>(done) / total : 1);
        }, nullptr);
    } catch (const std::exception& e) {
        throw CliError(std::string("download failed: ") + e.what());
    }
    bar.finish();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::printf("%s -> %s (%.1f MiB in %.1f s)\n", a.name.c_str(), plan.main_file.c_str(), plan.total_bytes / 1048576.0, s);
}

}  // namespace

void add_download_command(CLI::App& app) {
    auto a = std::make_shared<DownloadArgs>();
    auto* c = app.add_subcommand("download", "Download a catalog model's files into the model cache, without launching it");
    c->add_option("name", a->name, "The model name, as for launch")->required();
    c->add_option("-t,--model-type,--model_type", a->type, "LLM, embedding, rerank or audio (default: found by name)");
    c->add_option("-s,--size-in-billions,--model-size-in-billions", a->size, "The size, e.g. 0_5 or 7");
    c->add_option("-q,--quantization", a->quantization, "The quantization, e.g. q4_k_m (any case)");
    c->add_option("-f,--model-format,--model_format", a->format, "The format, e.g. ggufv2");
    c->add_option("--hub,--download-hub", a->hub, "huggingface or modelscope (default: by locale, as Xinference)")
        ->check(CLI::IsMember({"huggingface", "modelscope"}));
    c->callback([a] { exit_code() = run_reporting_errors([&] { run_download(*a); }); });
}

}  // namespace xinfer::cli
