#include "registry/model_resolver.h"
#include "registry/model_cache.h"
#include "common/text.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>

#include "common/errors.h"
#include "common/paths.h"
#include "convert/converter.h"
#include "convert/whisper_ggml.h"

namespace xinfer {

namespace fs = std::filesystem;

namespace {

std::string path_from_uri(const std::string& uri) {
    if (uri.rfind("file://", 0) == 0) return uri.substr(7);
    return uri;
}

// The model_specs entry that matches the requested format/size, preferring one whose sources list
// the requested quantization (Xinference splits some models' quantizations over several entries
// with different file names); otherwise the first match, as Xinference.
json pick_spec_entry(const json& spec, const ModelChoice& c) {
    if (!spec.contains("model_specs") || !spec["model_specs"].is_array()) return json(nullptr);
    json first = nullptr;
    for (auto& s : spec["model_specs"]) {
        if (!c.model_format.empty() && s.value("model_format", "") != c.model_format) continue;
        if (!c.model_size_in_billions.empty()) {
            const json& sz = s.contains("model_size_in_billions") ? s["model_size_in_billions"] : json();
            std::string have = sz.is_string() ? sz.get<std::string>() : sz.dump();
            if (have != c.model_size_in_billions) continue;
        }
        if (first.is_null()) first = s;
        if (c.quantization.empty()) break;
        // A registered spec names its quantization itself (Xinference's v2 specs: one a spec;
        // v1: a list), a catalog spec in its hub sources.
        if (s.contains("quantization") && s["quantization"].is_string() && lower(s["quantization"].get<std::string>()) == lower(c.quantization))
            return s;
        if (s.contains("quantizations") && s["quantizations"].is_array())
            for (auto& q : s["quantizations"])
                if (q.is_string() && lower(q.get<std::string>()) == lower(c.quantization)) return s;
        if (!s.contains("model_src") || !s["model_src"].is_object()) continue;
        for (auto& [hub, src] : s["model_src"].items()) {
            if (!src.is_object() || !src.contains("quantizations") || !src["quantizations"].is_array()) continue;
            for (auto& q : src["quantizations"])
                if (q.is_string() && lower(q.get<std::string>()) == lower(c.quantization)) return s;
        }
    }
    return first;
}

// Source block (huggingface first) of a v2 spec entry, or the entry itself for v1 layouts.
json source_of(const json& entry) {
    if (entry.contains("model_src") && entry["model_src"].is_object()) {
        for (auto& key : {"huggingface", "modelscope"})
            if (entry["model_src"].contains(key)) return entry["model_src"][key];
        if (!entry["model_src"].empty()) return entry["model_src"].begin().value();
    }
    return entry;
}

// Hugging Face's own cache (huggingface_hub's layout: HF_HUB_CACHE, or HF_HOME/hub, or
// ~/.cache/huggingface/hub; models--ORG--NAME/snapshots/COMMIT/FILE), so files a user already
// fetched with huggingface-cli or transformers are used where they are, without a copy.
fs::path find_in_hf_cache(const json& entry, const std::string& quantization) {
    if (!entry.contains("model_src") || !entry["model_src"].contains("huggingface")) return {};
    const json& src = entry["model_src"]["huggingface"];
    const std::string id = src.value("model_id", "");
    if (id.empty()) return {};
    const fs::path root = hf_hub_cache_dir();
    std::string folder = "models--" + id;
    for (size_t at; (at = folder.find('/')) != std::string::npos;) folder.replace(at, 1, "--");
    const fs::path repo = root / folder;
    std::error_code ec;
    if (root.empty() || !fs::is_directory(repo / "snapshots", ec)) return {};
    std::vector<std::string> names = files_for_quantization(src, match_quantization(src, quantization));
    if (names.empty()) names = {"config.json"};  // a Hugging Face folder spec: the snapshot itself
    // The commit refs/main names first, then any other snapshot.
    std::vector<fs::path> snapshots;
    std::string main_commit;
    std::ifstream(repo / "refs" / "main") >> main_commit;
    if (!main_commit.empty()) snapshots.push_back(repo / "snapshots" / main_commit);
    for (auto& e : fs::directory_iterator(repo / "snapshots", ec)) snapshots.push_back(e.path());
    for (auto& snap : snapshots) {
        bool all = true;
        for (auto& n : names) all = all && fs::exists(snap / n, ec);
        if (all) return snap / names.front();
    }
    return {};
}

fs::path find_in_cache(const std::string& model_name, const json& entry, std::string& quantization) {
    json src = source_of(entry);
    std::string tmpl = src.value("model_file_name_template", "");
    fs::path dir = xinfer_home() / "cache" / model_name;
    std::error_code ec;
    if (files_for_quantization(src, match_quantization(src, quantization)).empty()) {
        // A Hugging Face folder spec: the cached folder (or Hugging Face's snapshot) as a whole;
        // one whose download began (its lock is there) counts once the manifest says it ended.
        const bool began = fs::exists(dir / ".xinfer-download.lock", ec), ended = fs::exists(dir / ".xinfer-download.json", ec);
        if (fs::exists(dir / "config.json", ec) && (ended || !began)) return dir;
        return find_in_hf_cache(entry, quantization).parent_path();
    }
    if (!fs::is_directory(dir, ec)) {
        fs::path found = find_in_hf_cache(entry, quantization);
        if (!found.empty()) quantization = match_quantization(entry["model_src"]["huggingface"], quantization);
        return found;
    }
    if (tmpl.empty()) return find_gguf_in_dir(dir, quantization);
    std::vector<std::string> quants;
    if (!quantization.empty()) quants.push_back(match_quantization(src, quantization));  // the catalog's spelling
    else if (src.contains("quantizations")) quants = src["quantizations"].get<std::vector<std::string>>();
    for (auto& q : quants) {
        std::string name = std::regex_replace(tmpl, std::regex("\\{quantization\\}"), q);
        if (fs::exists(dir / name, ec)) {
            quantization = q;
            return dir / name;
        }
    }
    fs::path found = find_in_hf_cache(entry, quantization);
    if (!found.empty()) quantization = match_quantization(entry["model_src"]["huggingface"], quantization);
    return found;
}

// A catalog model whose files are not in the cache: the download is planned now (hub listed,
// files found, sizes known, the GGUF header read with a ranged request), so a bad name, a gated
// repo or an unreachable hub is an error before anything starts; the files come before the
// first start, as the first part of the launch progress.
fs::path planned_download(ResolvedModel& r, const json& entry, const ModelChoice& c, bool whisper) {
    DownloadPlan plan;
    try {
        plan = plan_model_download(r.model_name, entry, c.quantization, c.download_hub, xinfer_home() / "cache");
    } catch (const FetchError& e) {
        if (e.status == 0)
            throw unavailable("Cannot download model '" + r.model_name + "': " + e.what() + ". Its files are not in the cache (" +
                              (xinfer_home() / "cache" / r.model_name).string() +
                              "): pass model_path, or point HF_ENDPOINT / serve --hub-mirror at a hub this machine can reach");
        throw bad_request(std::string("Cannot download model: ") + e.what(), "model_name");
    } catch (const std::runtime_error& e) {
        throw bad_request(std::string("Cannot launch model: ") + e.what(), "model_name");
    }
    r.quantization = plan.quantization;
    if (plan.folder) {
        // A Hugging Face folder: converted once it is here (the supervisor plans the conversion
        // after the download); until then its weights' size stands for the model's.
        r.quantization = plan.quantization.empty() ? "none" : plan.quantization;
        r.convert_after_download = true;
        r.gguf.file_size = plan.total_bytes;
        r.download = std::make_shared<DownloadPlan>(plan);
        return plan.main_file;
    }
    char scratch[] = "/tmp/xinfer-header-XXXXXX";
    const int fd = mkstemp(scratch);
    if (fd < 0) throw std::runtime_error("cannot create a scratch file in /tmp");
    ::close(fd);
    try {
        fetch_file_head(plan, scratch, whisper ? 4096 : 16u << 20);
        if (whisper) r.whisper = read_whisper_hparams(scratch);
        else r.gguf = read_gguf_info(scratch);
    } catch (const FetchError& e) {
        ::unlink(scratch);
        throw bad_request(std::string("Cannot download model: ") + e.what(), "model_name");
    } catch (...) {
        ::unlink(scratch);
        throw;
    }
    ::unlink(scratch);
    r.gguf.file_size = plan.total_bytes;
    r.download = std::make_shared<DownloadPlan>(plan);
    return plan.main_file;
}

// whisper.cpp models are ggml files (ggml-base.bin, ...) the user brings: model_path (a file, or
// a folder holding one), a registered model_uri, or the model cache.
bool is_hf_whisper_folder(const fs::path& dir) {
    if (!looks_like_hf_folder(dir)) return false;
    try {
        return is_whisper_folder(read_hf_folder(dir));
    } catch (const std::exception&) {
        return false;
    }
}

ResolvedModel resolve_whisper_model(ResolvedModel r, const ModelChoice& c) {
    r.engine = "whisper";
    r.model_format = "ggml";
    std::string where = c.model_path;
    if (where.empty() && r.spec.is_object()) where = path_from_uri(r.spec.value("model_uri", ""));
    if (where.empty()) {
        json src = r.spec.is_object() && r.spec.contains("model_src") ? source_of(r.spec) : json::object();
        fs::path cached = xinfer_home() / "cache" / r.model_name / src.value("model_file_name", "");
        std::error_code ec;
        if (src.contains("model_file_name") && fs::exists(cached, ec)) where = cached.string();
        // A Hugging Face whisper folder downloaded earlier (Belle-whisper-large-v3-zh, ...).
        const fs::path folder = xinfer_home() / "cache" / r.model_name;
        if (!src.contains("model_file_name") && fs::exists(folder / "config.json", ec)) where = folder.string();
    }
    if (where.empty() && r.spec.is_object() && r.spec.contains("model_src")) {
        r.file = planned_download(r, r.spec, c, true);
        if (r.ability.empty()) r.ability = json{"audio2text"};
        return r;
    }
    if (where.empty())
        throw bad_request("The whisper model files of '" + r.model_name + "' are not in the local cache (" +
                              (xinfer_home() / "cache" / r.model_name).string() +
                              ") and its catalog entry names no hub; pass model_path pointing at the ggml-*.bin file",
                          "model_path");
    std::error_code ec;
    fs::path p = path_from_uri(where);
    if (!fs::exists(p, ec)) throw bad_request("Cannot launch model: model_path does not exist: " + p.string(), "model_path");
    if (fs::is_directory(p, ec)) {
        fs::path found = find_whisper_file(p);
        if (found.empty() && looks_like_hf_folder(p)) {
            // A transformers whisper folder: converted to whisper.cpp's format before the first start.
            const std::string name = r.model_name.empty() ? p.filename().string() : r.model_name;
            PlannedConversion plan;
            try {
                plan = plan_cached_conversion(p, xinfer_home() / "cache" / "converted", name, ConvertOptions{});
            } catch (const std::runtime_error& e) {
                throw bad_request(std::string("Cannot launch model: ") + e.what(), "model_path");
            }
            if (plan.kind != "audio")
                throw bad_request(p.string() + " holds a " + plan.architecture + " (" + plan.kind + " model); launch it with model_type " +
                                      plan.kind, "model_type");
            r.convert_from = p;
            r.file = plan.target;
            r.gguf.file_size = plan.info.file_size;
            r.whisper = plan.whisper;
            if (r.ability.empty()) r.ability = json{"audio2text"};
            return r;
        }
        if (found.empty()) throw bad_request("Cannot launch model: no whisper.cpp model (ggml .bin) in " + where, "model_path");
        p = found;
    }
    r.file = p;
    r.gguf.file_size = fs::file_size(p, ec);
    r.whisper = read_whisper_hparams(p);
    if (r.ability.empty()) r.ability = json{"audio2text"};
    return r;
}

// llama.cpp's audio models: Qwen3-ASR (speech to text) and Qwen3-TTS (text to speech), a model
// GGUF and its audio projector (mmproj GGUF), both loaded by xinfer's model host (libmtmd). From
// model_path (a folder holding both, or the model with its projector beside it), a registered
// model_uri, the cache, or downloaded by name (the catalog's source names both files). The
// projector says which it is: one that generates audio is a voice, one that only hears is ASR.
ResolvedModel resolve_mtmd_model(ResolvedModel r, const ModelChoice& c) {
    r.model_format = "gguf";
    const std::string family = r.spec.is_object() ? r.spec.value("model_family", "") : "";
    auto settle = [&](bool speaks) {
        if (family == "qwen3_asr" && speaks)
            throw bad_request("Cannot launch model: " + r.projector.string() + " generates speech; " + r.model_name +
                                  " is a speech recogniser and needs its audio encoder's mmproj", "model_path");
        if ((family == "qwen3_tts" || family == "pocket_tts") && !speaks)
            throw bad_request("Cannot launch model: " + r.projector.string() + " does not generate speech; " + r.model_name +
                                  " needs the mmproj with its speech decoder", "model_path");
        r.engine = speaks ? "mtmd-tts" : "mtmd";
        if (r.ability.empty()) r.ability = speaks ? json{"text2audio", "text2audio_voice_cloning"} : json{"audio2text"};
    };
    std::string where = c.model_path;
    if (where.empty() && r.spec.is_object()) where = path_from_uri(r.spec.value("model_uri", ""));
    const json src = r.spec.is_object() && r.spec.contains("model_src") ? source_of(r.spec) : json::object();
    const bool gguf_source = src.contains("model_file_name_template") || src.contains("model_file_name");
    std::error_code ec;
    if (where.empty() && gguf_source) {
        std::string quantization = c.quantization;
        fs::path cached = find_in_cache(r.model_name, r.spec, quantization);
        const std::string mmproj = src.value("mmproj_file_name", "");
        if (!cached.empty() && (mmproj.empty() || fs::exists(cached.parent_path() / mmproj, ec))) {
            where = cached.string();
            r.quantization = quantization;
        } else {
            r.file = planned_download(r, r.spec, c, false);
            r.projector = r.download->dir / mmproj;
            r.gguf.file_size = r.download->total_bytes;  // both files: the memory the replica maps
            for (auto& f : r.download->files)
                if (fs::path(f.path).filename() == mmproj) r.gguf.projector_size = f.size;
            settle(family != "qwen3_asr");
            return r;
        }
    }
    if (where.empty())
        throw bad_request("Model '" + r.model_name + "' runs from its GGUF and audio projector (mmproj) files: pass model_path, "
                              "a folder holding both (llama.cpp's converter writes them; ggml-org publishes GGUFs on Hugging Face)",
                          "model_path");
    fs::path p = path_from_uri(where);
    if (!fs::exists(p, ec)) throw bad_request("Cannot launch model: model_path does not exist: " + p.string(), "model_path");
    const fs::path dir = fs::is_directory(p, ec) ? p : p.parent_path();
    try {
        r.file = fs::is_directory(p, ec) ? find_gguf_in_dir(p, c.quantization) : p;
        r.gguf = read_gguf_info(r.file);
    } catch (const std::runtime_error& e) {
        throw bad_request(std::string("Cannot launch model: ") + e.what(), "model_path");
    }
    r.projector = find_audio_projector(dir);
    if (r.projector.empty())
        throw bad_request("Cannot launch model: no audio projector (an mmproj GGUF with an audio encoder) in " + dir.string() +
                              "; " + r.model_name + " needs it beside " + r.file.filename().string(), "model_path");
    const GgufInfo projector = read_gguf_info(r.projector);
    r.gguf.file_size += projector.file_size;
    r.gguf.projector_size = projector.file_size;
    settle(projector.has_audio_generator);
    return r;
}

// A model xinfer has no engine for: say what it has instead of failing later on a file search.
ApiError no_engine_for(const Registry& registry, const std::string& name, const std::string& why) {
    std::string names;
    for (auto& spec : registry.list(ModelType::audio)) names += (names.empty() ? "" : ", ") + spec.spec.value("model_name", "");
    return bad_request("Model '" + name + "' cannot be served by xinfer: " + why +
                           ". xinfer's speech engines are whisper.cpp (ggml whisper models: speech to text), "
                           "llama.cpp's audio models (a GGUF and its mmproj: Qwen3-ASR, speech to text; Qwen3-TTS, "
                           "text to speech with voice cloning), "
                           "pocketsphinx (English speech to text), flite and espeak-ng (text to speech); "
                           "audio models it knows: " + names,
                       "model_name");
}

// Speech models run on engines built into xinfer's model host; the built-in ones bring their own
// model data (Debian's pocketsphinx en-us model, flite's compiled-in voices, espeak-ng's data).
ResolvedModel resolve_speech_model(const Registry& registry, ResolvedModel r, const ModelChoice& c) {
    std::string family = r.spec.is_object() ? r.spec.value("model_family", "") : "";
    if (family == "espeak-ng") family = "espeak";
    if (family.empty() && !c.model_path.empty()) {
        // An unregistered name with a path: whisper.cpp's format is the one xinfer can take as is.
        std::error_code ec;
        fs::path p = path_from_uri(c.model_path);
        if (!fs::exists(p, ec)) throw bad_request("Cannot launch model: model_path does not exist: " + p.string(), "model_path");
        // A GGUF with an audio projector beside it: one of llama.cpp's audio models.
        if (!find_audio_projector(fs::is_directory(p, ec) ? p : p.parent_path()).empty()) return resolve_mtmd_model(std::move(r), c);
        bool whisper = fs::is_directory(p, ec) ? !find_whisper_file(p).empty() || is_hf_whisper_folder(p)
                                               : read_whisper_hparams(p).has_value();
        if (!whisper)
            throw no_engine_for(registry, r.model_name.empty() ? p.filename().string() : r.model_name,
                                "it is not in xinfer's audio catalog and " + p.string() +
                                    " holds no whisper.cpp model (a ggml .bin file)");
        family = "whisper";
    }
    if (family == "whisper") return resolve_whisper_model(std::move(r), c);
    if (family == "qwen3_asr" || family == "qwen3_tts" || family == "pocket_tts") return resolve_mtmd_model(std::move(r), c);
    if (family != "pocketsphinx" && family != "flite" && family != "espeak")
        throw no_engine_for(registry, r.model_name, "its family '" + family + "' needs an engine xinfer does not have");
    r.engine = family;
    r.model_format = "builtin";
    if (!c.model_path.empty()) {
        std::error_code ec;
        if (!fs::is_directory(c.model_path, ec))
            throw bad_request("model_path for a " + family + " model must be its model folder: " + c.model_path, "model_path");
        r.file = c.model_path;
    }
    return r;
}

}  // namespace

namespace {
// The GGUF a spec's file name template names in `dir`, as Xinference's llama.cpp engine finds a
// model in its folder (model_uri, or model_path given as a folder): the template filled with the
// quantization asked for, which the spec must list, or else the spec's own when it has only one
// (and a split model's first part). Empty when the spec names no such file, the file is not
// there, or the spec is malformed: the caller then looks through the folder as before.
// `quantization` is set to the spec's spelling of the one found.
fs::path named_gguf_in_dir(const fs::path& dir, const json& entry, std::string& quantization) {
    try {
        if (!entry.is_object()) return {};
        json src = source_of(entry);
        if (!src.is_object()) return {};
        if (!src.contains("quantizations") && entry.contains("quantization") && entry["quantization"].is_string())
            src["quantizations"] = json::array({entry["quantization"]});
        const json& listed = src.contains("quantizations") && src["quantizations"].is_array() ? src["quantizations"] : json::array();
        std::string q;
        for (const auto& l : listed)
            if (l.is_string() && (quantization.empty() ? listed.size() == 1 : lower(l.get<std::string>()) == lower(quantization)))
                q = l.get<std::string>();
        if (q.empty()) return {};
        const std::vector<std::string> names = files_for_quantization(src, q);
        if (names.empty()) return {};
        const fs::path name(names.front());
        if (name.is_absolute()) return {};
        for (const auto& part : name)
            if (part == "..") return {};  // a spec names files inside its folder only
        std::error_code ec;
        if (!fs::is_regular_file(dir / name, ec)) return {};
        quantization = q;
        return dir / name;
    } catch (const json::exception&) {
        return {};
    }
}

// The spec entry a launch picks, or null when the spec cannot be read as Xinference's.
json picked_entry_or_null(const json& spec, const ModelChoice& c) {
    try {
        return pick_spec_entry(spec, c);
    } catch (const json::exception&) {
        return nullptr;
    }
}

// A folder's GGUF, or, for a Hugging Face folder with none, the GGUF it converts to (planned
// now, so what cannot be converted is a 400 before anything starts; made before the first start).
fs::path gguf_or_conversion(ResolvedModel& r, const fs::path& dir, const std::string& quantization) {
    if (!looks_like_hf_folder(dir)) return find_gguf_in_dir(dir, quantization);
    try {
        return find_gguf_in_dir(dir, quantization);
    } catch (const std::runtime_error&) {
    }
    const std::string name = r.model_name.empty() ? dir.filename().string() : r.model_name;
    PlannedConversion plan = plan_cached_conversion(dir, xinfer_home() / "cache" / "converted", name, ConvertOptions{});
    const bool reranker = plan.kind == "rerank";
    if (reranker != (r.type == ModelType::rerank) || (plan.kind == "embedding") != (r.type == ModelType::embedding))
        throw std::runtime_error(dir.string() + " holds a " + plan.architecture + " (" + plan.kind +
                                 " model); launch it with model_type " + (plan.kind == "LLM" ? "LLM" : plan.kind));
    r.convert_from = dir;
    r.gguf = plan.info;
    return plan.target;
}

// A model's GGUF in its folder: the one its spec entry names (then r.quantization is the spec's),
// else the folder's GGUF for the quantization, or its Hugging Face conversion.
fs::path gguf_in_folder(ResolvedModel& r, const fs::path& dir, const json& entry, const std::string& asked) {
    std::string quantization = asked;
    fs::path named = named_gguf_in_dir(dir, entry, quantization);
    if (named.empty()) return gguf_or_conversion(r, dir, asked);
    r.quantization = quantization;
    return named;
}

}  // namespace

void plan_conversion_after_download(ResolvedModel& r) {
    if (!r.convert_after_download) return;
    const fs::path dir = r.file;
    PlannedConversion plan = plan_cached_conversion(dir, xinfer_home() / "cache" / "converted", r.model_name, ConvertOptions{});
    const std::string want = r.type == ModelType::audio       ? "audio"
                             : r.type == ModelType::embedding ? "embedding"
                             : r.type == ModelType::rerank    ? "rerank"
                                                              : "LLM";
    if (plan.kind != want)
        throw std::runtime_error(dir.string() + " holds a " + plan.architecture + " (" + plan.kind + " model), not " +
                                 (want == "LLM" || want == "audio" ? "an " : "a ") + want + " model");
    r.convert_from = dir;
    r.file = plan.target;
    r.gguf = plan.info;
    if (plan.whisper) r.whisper = plan.whisper;
    r.convert_after_download = false;
}

ResolvedModel resolve_model(const Registry& registry, const ModelChoice& c) {
    ResolvedModel r;
    r.model_name = c.model_name;
    r.model_format = c.model_format;
    r.model_size_in_billions = c.model_size_in_billions;
    r.quantization = c.quantization;

    std::optional<RegisteredSpec> reg;
    if (!c.model_name.empty())
        reg = c.model_type ? registry.find(*c.model_type, c.model_name) : registry.find_any(c.model_name);
    if (reg) {
        r.type = reg->type;
        r.spec = reg->spec;
        if (r.spec.contains("model_ability")) r.ability = r.spec["model_ability"];
    } else {
        if (c.model_path.empty() && c.model_type == ModelType::audio)
            throw no_engine_for(registry, c.model_name, "it is not in xinfer's audio catalog");
        if (c.model_path.empty())
            throw not_found("Model not found in the registry: '" + c.model_name +
                                "'. Register it, or give model_path to launch a local GGUF file",
                            "model_name");
        r.type = c.model_type.value_or(ModelType::llm);
    }

    if (reg && reg->spec.contains("launchable") && reg->spec["launchable"].is_boolean() && !reg->spec["launchable"].get<bool>()) {
        // Listed for parity with Xinference's catalog, but xinfer cannot serve it by name. A GGUF
        // of it that the user brings is served (the file says what it is); never a wrong model.
        const std::string why = reg->spec.contains("reason") && reg->spec["reason"].is_string() ? reg->spec["reason"].get<std::string>()
                                                                                                : "xinfer has no engine for it";
        std::error_code ec;
        const fs::path p = path_from_uri(c.model_path);
        const bool gguf = !c.model_path.empty() && r.type != ModelType::audio &&
                          (fs::is_directory(p, ec) || lower(p.extension().string()) == ".gguf");
        if (!gguf && r.type == ModelType::audio) throw no_engine_for(registry, r.model_name, why);  // names what it has instead
        if (!gguf) throw bad_request("Model '" + r.model_name + "' cannot be served by xinfer: " + why, "model_name");
    }
    if (r.type == ModelType::audio) return resolve_speech_model(registry, std::move(r), c);

    fs::path file;
    std::error_code ec;
    try {
        if (!c.model_path.empty()) {
            fs::path p = path_from_uri(c.model_path);
            if (!fs::exists(p, ec)) throw std::runtime_error("model_path does not exist: " + p.string());
            file = fs::is_directory(p, ec) ? gguf_in_folder(r, p, picked_entry_or_null(r.spec, c), c.quantization) : p;
        } else {
            json entry = picked_entry_or_null(r.spec, c);
            std::string uri = r.spec.value("model_uri", "");
            if (entry.is_object()) {
                if (r.model_format.empty()) r.model_format = entry.value("model_format", "");
                if (entry.contains("model_uri")) uri = entry["model_uri"].get<std::string>();
            }
            if (!uri.empty()) {
                fs::path p = path_from_uri(uri);
                if (!fs::exists(p, ec)) throw std::runtime_error("the registered model_uri does not exist: " + p.string());
                file = fs::is_directory(p, ec) ? gguf_in_folder(r, p, entry, c.quantization) : p;
            } else if (entry.is_object()) {
                file = find_in_cache(r.model_name, entry, r.quantization);
                if (!file.empty() && fs::is_directory(file, ec)) file = gguf_or_conversion(r, file, "");
                if (file.empty() && entry.contains("model_src")) file = planned_download(r, entry, c, false);
            }
            if (file.empty())
                throw std::runtime_error("the files of model '" + r.model_name + "' are not in the local cache (" +
                                         (xinfer_home() / "cache" / r.model_name).string() +
                                         ") and its catalog entry names no hub to download them from; pass model_path");
        }
        if (r.convert_from.empty() && !r.download) r.gguf = read_gguf_info(file);
    } catch (const std::runtime_error& e) {
        if (dynamic_cast<const ApiError*>(&e)) throw;
        throw bad_request(std::string("Cannot launch model: ") + e.what(), "model_path");
    }
    r.file = file;
    if (r.model_name.empty()) r.model_name = r.convert_from.empty() ? file.stem().string() : r.convert_from.filename().string();
    if (r.model_format.empty()) r.model_format = "ggufv2";
    // The file is the truth for what was launched by path: its header names size and quantization.
    if (r.model_size_in_billions.empty()) {
        json size = size_in_billions(r.gguf);
        if (!size.is_null()) r.model_size_in_billions = size.is_string() ? size.get<std::string>() : size.dump();
    }
    if (r.quantization.empty()) r.quantization = quantization_name(r.gguf.file_type);
    if (r.ability.empty()) {
        if (r.type == ModelType::llm) r.ability = r.gguf.has_chat_template ? json{"chat", "generate"} : json{"generate"};
    }
    return r;
}

DownloadPlan plan_catalog_download(const Registry& registry, const ModelChoice& c) {
    std::optional<RegisteredSpec> reg = c.model_type ? registry.find(*c.model_type, c.model_name) : registry.find_any(c.model_name);
    if (!reg) throw not_found("Model not found in the registry: '" + c.model_name + "'", "model_name");
    json entry = reg->type == ModelType::audio ? reg->spec : pick_spec_entry(reg->spec, c);
    if (!entry.is_object() || !entry.contains("model_src"))
        throw bad_request("Model '" + c.model_name + "' has no" + (c.model_size_in_billions.empty() ? "" : " size " + c.model_size_in_billions) +
                              (c.model_format.empty() ? "" : " format " + c.model_format) + " files on a hub to download",
                          "model_name");
    try {
        return plan_model_download(c.model_name, entry, c.quantization, c.download_hub, xinfer_home() / "cache");
    } catch (const FetchError& e) {
        if (e.status == 0) throw unavailable(std::string("Cannot download model: ") + e.what());
        throw bad_request(std::string("Cannot download model: ") + e.what(), "model_name");
    } catch (const std::runtime_error& e) {
        throw bad_request(std::string("Cannot download model: ") + e.what(), "model_name");
    }
}

}  // namespace xinfer
