// convert: a Hugging Face / ModelScope model folder to one GGUF file, locally (no service, no
// network), with a progress bar. Launching such a folder does the same conversion by itself.
#include <cstdio>
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "convert/converter.h"

namespace xinfer::cli {

namespace {

struct ConvertArgs {
    std::string folder, out, outtype = "f16";
    int threads = 0;
};

void run_convert(const ConvertArgs& a) {
    std::filesystem::path folder = std::filesystem::absolute(a.folder);
    ProgressBar bar(std::cerr, "Converting", ProgressBar::stderr_is_terminal());
    ConvertOptions options{a.outtype, a.threads};
    ConvertResult r;
    try {
        const std::filesystem::path out = a.out.empty() ? folder / converted_file_name(folder, options) : std::filesystem::path(a.out);
        r = convert_hf_folder(folder, out, options, [&](double p, const std::string&) { bar.update(p); });
    } catch (const std::exception& e) {  // what cannot be converted, or a failed write
        throw CliError(std::string("cannot convert: ") + e.what());
    }
    bar.finish();
    std::printf("%s (%s, %s) -> %s: %.1f MiB in %.1f s (%.0f MiB/s)\n", folder.c_str(), r.architecture.c_str(), r.kind.c_str(),
                r.gguf.c_str(), r.bytes / 1048576.0, r.seconds, r.seconds > 0 ? r.bytes / 1048576.0 / r.seconds : 0.0);
}

}  // namespace

void add_convert_command(CLI::App& app) {
    auto a = std::make_shared<ConvertArgs>();
    auto* c = app.add_subcommand("convert", "Convert a Hugging Face model folder (config.json + safetensors or pytorch_model.bin) to GGUF, or a whisper folder to whisper.cpp's ggml file");
    c->add_option("folder", a->folder, "The model folder")->required();
    c->add_option("-o,--output", a->out, "Output file (default: FOLDER/model-OUTTYPE.gguf; whisper: FOLDER/ggml-model-OUTTYPE.bin)");
    c->add_option("--outtype", a->outtype, "f16, q8_0 or f32")->check(CLI::IsMember({"f16", "q8_0", "f32"}))->capture_default_str();
    c->add_option("-t,--threads", a->threads, "Conversion threads (default: every core)");
    c->callback([a] { exit_code() = run_reporting_errors([&] { run_convert(*a); }); });
}

}  // namespace xinfer::cli
