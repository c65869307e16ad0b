#include "convert/converter.h"

#include <gguf.h>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "convert/architectures.h"
#include "convert/gguf_stream_writer.h"
#include "convert/whisper_ggml.h"
#include "convert/weights.h"

namespace xinfer {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

uint32_t file_type_of(const std::string& outtype) {
    if (outtype == "f32") return 0;
    if (outtype == "q8_0") return 7;
    return 1;  // mostly f16
}

}  // namespace

namespace {

// Everything a conversion needs, planned: the folder, its mapped weights and a writer whose
// metadata and tensor list are complete. Members are destroyed in reverse: the writer's
// producers refer to the weights, so the weights are declared first.
struct Prepared {
    HfFolder folder;
    WeightSet weights;
    std::unique_ptr<GgufStreamWriter> writer;
    ConversionPlan plan;
    std::string source_architecture() const {
        return folder.architecture.empty() ? folder.model_type : folder.architecture;
    }
};

std::unique_ptr<Prepared> prepare(const fs::path& dir, const ConvertOptions& options) {
    if (options.outtype != "f16" && options.outtype != "f32" && options.outtype != "q8_0")
        throw ConvertError("unknown output type '" + options.outtype + "' (use f16, q8_0 or f32)");
    auto p = std::make_unique<Prepared>();
    p->folder = read_hf_folder(dir);
    const Architecture& arch = architecture_for(p->folder);
    if (!has_weights(dir))
        throw ConvertError("no weights in " + dir.string() + " (model.safetensors or pytorch_model.bin)");
    try {
        p->weights = WeightSet::open(dir);
    } catch (const ConvertError&) {
        throw;
    } catch (const std::runtime_error& e) {
        throw ConvertError(e.what());  // a broken or hostile weights file is the caller's input: a 400
    }
    gguf_context* meta = gguf_init_empty();
    p->writer = std::make_unique<GgufStreamWriter>(meta);  // owns meta from here
    const fs::path named = dir.filename().empty() ? dir.parent_path() : dir;
    gguf_set_val_str(meta, "general.name", named.filename().c_str());
    gguf_set_val_u32(meta, "general.file_type", file_type_of(options.outtype));
    p->plan = arch.plan(p->folder, p->weights, meta, *p->writer, options.outtype);
    const json& tc = p->folder.tokenizer_config;
    if (tc.contains("chat_template") && tc["chat_template"].is_string())
        gguf_set_val_str(meta, "tokenizer.chat_template", tc["chat_template"].get<std::string>().c_str());
    return p;
}

// Whisper folders become whisper.cpp's ggml file, everything else a GGUF.
std::string output_file_name(const HfFolder& folder, const ConvertOptions& options) {
    return is_whisper_folder(folder) ? "ggml-model-" + options.outtype + ".bin" : "model-" + options.outtype + ".gguf";
}

fs::path cache_target(const fs::path& dir, const fs::path& cache_root, const std::string& name, const ConvertOptions& options) {
    return cache_root / (name + "-" + source_digest(dir)) / output_file_name(read_hf_folder(dir), options);
}

}  // namespace

std::string converted_file_name(const fs::path& dir, const ConvertOptions& options) {
    return output_file_name(read_hf_folder(dir), options);
}

namespace {

std::string source_architecture(const HfFolder& f) { return f.architecture.empty() ? f.model_type : f.architecture; }

// Writes OUT through OUT.incomplete, renamed when `write` returns: a failure (or a cancel,
// thrown from a progress callback) removes the partial file and leaves nothing at OUT.
void write_atomically(const fs::path& out, const std::function<void(const fs::path&)>& write) {
    fs::create_directories(out.parent_path().empty() ? fs::path(".") : out.parent_path());
    const fs::path partial = out.string() + ".incomplete";
    try {
        write(partial);
        fs::rename(partial, out);
    } catch (...) {
        std::error_code ec;
        fs::remove(partial, ec);
        throw;
    }
}

ConvertResult convert_whisper(HfFolder folder, const fs::path& out, const ConvertOptions& options, const ConvertProgress& progress,
                              std::chrono::steady_clock::time_point began) {
    const std::string name = folder.dir.filename().string(), architecture = source_architecture(folder);
    WhisperConversion conversion(std::move(folder), options.outtype);
    write_atomically(out, [&](const fs::path& partial) {
        conversion.write(partial, [&](double f) {
            if (progress) progress(f, "converting " + name + " to whisper.cpp's format");
        });
    });
    ConvertResult r;
    r.gguf = out;
    r.architecture = architecture;
    r.kind = "audio";
    r.bytes = conversion.planned_bytes();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    return r;
}

}  // namespace

ConvertResult convert_hf_folder(const fs::path& dir, const fs::path& out, const ConvertOptions& options,
                                const ConvertProgress& progress) {
    const auto began = std::chrono::steady_clock::now();
    if (HfFolder folder = read_hf_folder(dir); is_whisper_folder(folder)) return convert_whisper(std::move(folder), out, options, progress, began);
    auto p = prepare(dir, options);
    write_atomically(out, [&](const fs::path& partial) {
        p->writer->write(partial, [&](double f) {
            if (progress) progress(f, "converting " + dir.filename().string() + " to GGUF");
        }, options.threads);
    });
    ConvertResult r;
    r.gguf = out;
    r.architecture = p->source_architecture();
    r.kind = p->plan.kind;
    r.bytes = p->writer->bytes_written();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    return r;
}

PlannedConversion plan_cached_conversion(const fs::path& dir, const fs::path& cache_root, const std::string& name,
                                         const ConvertOptions& options) {
    if (HfFolder folder = read_hf_folder(dir); is_whisper_folder(folder)) {
        PlannedConversion out;
        out.target = cache_target(dir, cache_root, name, options);
        out.architecture = source_architecture(folder);
        out.kind = "audio";
        WhisperConversion conversion(std::move(folder), options.outtype);
        out.info.file_size = conversion.planned_bytes();
        out.whisper = WhisperHparams{conversion.n_audio_ctx(), conversion.n_audio_state(), conversion.n_audio_layer(),
                                     conversion.n_text_ctx(), conversion.n_text_state(), conversion.n_text_layer()};
        return out;
    }
    auto p = prepare(dir, options);
    PlannedConversion out;
    out.target = cache_target(dir, cache_root, name, options);
    out.architecture = p->source_architecture();
    out.kind = p->plan.kind;
    // ggml reads GGUF headers from files only: the planned header goes through a scratch file.
    const std::vector<uint8_t> head = p->writer->header();
    char scratch[] = "/tmp/xinfer-plan-XXXXXX";
    int fd = mkstemp(scratch);
    if (fd < 0) throw std::runtime_error("cannot create a scratch file in /tmp");
    const bool written = ::write(fd, head.data(), head.size()) == static_cast<ssize_t>(head.size());
    ::close(fd);
    try {
        if (!written) throw std::runtime_error("cannot write a scratch file in /tmp");
        out.info = read_gguf_info(scratch);
    } catch (...) {
        ::unlink(scratch);
        throw;
    }
    ::unlink(scratch);
    out.info.file_size = p->writer->planned_bytes();
    return out;
}

ConvertResult converted_from_cache(const fs::path& dir, const fs::path& cache_root, const std::string& name,
                                   const ConvertOptions& options, const ConvertProgress& progress) {
    return converted_into(dir, cache_target(dir, cache_root, name, options), options, progress);
}

ConvertResult converted_into(const fs::path& dir, const fs::path& target, const ConvertOptions& options,
                             const ConvertProgress& progress) {
    // One conversion per target at a time in this process: a second launch waits, then reuses.
    static std::mutex table_mu;
    static std::map<std::string, std::shared_ptr<std::mutex>> locks;
    std::shared_ptr<std::mutex> lock;
    {
        std::lock_guard g(table_mu);
        auto& l = locks[target.string()];
        if (!l) l = std::make_shared<std::mutex>();
        lock = l;
    }
    std::lock_guard g(*lock);
    std::error_code ec;
    if (fs::exists(target, ec)) {
        ConvertResult r;
        r.gguf = target;
        r.reused = true;
        r.bytes = fs::file_size(target, ec);
        HfFolder folder = read_hf_folder(dir);
        r.architecture = folder.architecture.empty() ? folder.model_type : folder.architecture;
        return r;
    }
    ConvertResult r = convert_hf_folder(dir, target, options, progress);
    // What the cache listing shows for this conversion: where it came from.
    std::ofstream(target.parent_path() / ".xinfer-converted.json")
        << json{{"source", fs::absolute(dir).string()}, {"architecture", r.architecture}, {"kind", r.kind},
                {"outtype", options.outtype}}
               .dump(2);
    return r;
}

}  // namespace xinfer
