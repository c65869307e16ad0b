#include "supervisor/placement.h"

#include <algorithm>
#include <set>

#include "common/errors.h"
#include "common/paths.h"
#include "engines/llama_server/llama_server_command.h"
#include "engines/speech/host_command.h"

namespace xinfer {

namespace {
// ggml engines (llama-server, whisper, llama.cpp's audio models) take threads from the budget and
// can use GPUs; the other built-in speech engines are single-threaded CPU code.
bool runs_on_ggml(const ResolvedModel& m) {
    return m.type != ModelType::audio || m.engine == "whisper" || m.engine == "mtmd" || m.engine == "mtmd-tts";
}
// The model host's decoding states (`concurrency`; its default is 2, and 1 for a voice model,
// whose every slot loads the projector again).
int planned_slots(const LaunchRequest& r, const ResolvedModel& m) {
    auto it = r.engine_options.find("concurrency");
    return it != r.engine_options.end() && it->is_number_integer() ? it->get<int>() : m.engine == "mtmd-tts" ? 1 : 2;
}
int explicit_threads(const LaunchRequest& r) {
    for (auto key : {"n_threads"})
        if (r.engine_options.contains(key) && r.engine_options[key].is_number_integer())
            return r.engine_options[key].get<int>();
    return 0;
}
}  // namespace

int planned_context(const ResolvedModel& model, const LaunchRequest& r) {
    for (auto key : {"n_ctx", "context_length"})
        if (r.engine_options.contains(key) && r.engine_options[key].is_number_integer()) return r.engine_options[key];
    // An encoder on llama-server has 4 slots, each as long as the longest input; the model host
    // has one context of that length (the inputs of a run share it).
    if (model.type == ModelType::embedding || model.type == ModelType::rerank)
        return default_context_size(model.gguf) * (runs_in_encoder_host(model, r.engine_options) ? 1 : 4);
    return default_context_size(model.gguf);
}

bool attends_without_cache(const std::string& architecture) {
    // llama.cpp's encoder-only families: attention over the one ubatch, no KV cache. Embedding
    // and rerank models of other families (Qwen3-Embedding, gte-Qwen2, …) are decoders that
    // keep a KV cache for their context, as chat models do.
    static const std::set<std::string> encoders = {"bert",         "nomic-bert", "nomic-bert-moe", "jina-bert-v2",
                                                   "jina-bert-v3", "neo-bert",   "modern-bert",    "eurobert",
                                                   "t5encoder"};
    return encoders.count(architecture) > 0;
}

MemoryNeed estimate_memory(const ResolvedModel& m, int n_ctx, int decoding_slots, double kv_bytes_per_value) {
    MemoryNeed need;
    need.weights = m.gguf.file_size;
    if (m.whisper) need.kv_cache = static_cast<uint64_t>(std::max(1, decoding_slots)) * whisper_state_bytes(*m.whisper);
    const bool decoder_embedder =
        (m.type == ModelType::embedding || m.type == ModelType::rerank) && !attends_without_cache(m.gguf.architecture);
    if ((m.type == ModelType::llm || decoder_embedder) && m.gguf.head_count > 0) {
        const uint64_t head_dim = static_cast<uint64_t>(m.gguf.embedding_length / m.gguf.head_count);
        need.kv_cache = static_cast<uint64_t>(static_cast<double>(n_ctx) * m.gguf.block_count * 2 /*K and V*/ *
                                              m.gguf.head_count_kv * head_dim * kv_bytes_per_value);
    }
    if ((m.engine == "mtmd" || m.engine == "mtmd-tts") && m.gguf.head_count > 0) {
        // The model host's contexts, F16: ASR 2048 tokens each (a 30 s piece of audio and its
        // transcript); TTS 4096 (text and speech frames), each slot with its own projector too.
        const uint64_t head_dim = static_cast<uint64_t>(m.gguf.embedding_length / m.gguf.head_count);
        const uint64_t tokens = m.engine == "mtmd" ? 2048 : 4096;
        const uint64_t slots = static_cast<uint64_t>(std::max(1, decoding_slots));
        need.kv_cache = slots * tokens * m.gguf.block_count * 2 * m.gguf.head_count_kv * head_dim * 2;
        // A voice slot also holds its own projector and llama.cpp's float copy of the token
        // embeddings (the generator builds its prompt rows from them).
        if (m.engine == "mtmd-tts")
            need.kv_cache += slots * static_cast<uint64_t>(m.gguf.vocab_size * m.gguf.embedding_length * 4) +
                             (slots - 1) * m.gguf.projector_size;
    }
    need.overhead = need.weights / 10;
    need.compute = 64ull << 20;  // compute buffers, the engine's own code and heap
    return need;
}

uint64_t estimate_memory_mb(const ResolvedModel& m, int n_ctx, int decoding_slots) {
    return estimate_memory(m, n_ctx, decoding_slots).total() >> 20;
}

ReplicaPlan Placement::reserve(const std::string& key, const ResolvedModel& model, const LaunchRequest& req) {
    const Inventory inv = read_inventory();
    std::lock_guard lock(mu_);
    ReplicaPlan plan;
    plan.memory_mb = estimate_memory_mb(model, planned_context(model, req), planned_slots(req, model));

    // A gpu_idx naming a GPU this machine lacks is a mistake in the request, whatever n_gpu says.
    for (int g : req.gpu_idx) {
        bool exists = false;
        std::string have;
        for (auto& gpu : inv.gpus) {
            exists |= gpu.index == g;
            have += (have.empty() ? "" : ", ") + std::to_string(gpu.index) + " (" + gpu.name + ")";
        }
        if (!exists)
            throw bad_request("gpu_idx " + std::to_string(g) + " does not exist on this machine; " +
                                  (have.empty() ? std::string("it has no GPUs: omit gpu_idx to run on the CPU")
                                                : "its GPUs are " + have),
                              "gpu_idx");
    }
    // GPUs: n_gpu null = CPU; "auto" = GPUs when the machine has them; N = exactly N GPUs.
    const bool want_gpu = !req.n_gpu.is_null() && !inv.gpus.empty() && runs_on_ggml(model);
    if (req.n_gpu.is_number_integer() && req.n_gpu.get<int>() > 0 && inv.gpus.empty())
        throw unavailable("n_gpu=" + req.n_gpu.dump() + " asked for GPUs, but this machine has none; use n_gpu null for CPU");
    if (want_gpu) {
        std::map<int, uint64_t> free_mb;
        for (auto& g : inv.gpus) free_mb[g.index] = g.memory_total_mb - g.memory_used_mb;
        for (auto& [k, p] : reserved_)
            for (int g : p.gpus) free_mb[g] -= std::min(free_mb[g], p.memory_mb / std::max<size_t>(1, p.gpus.size()));
        std::vector<int> candidates = req.gpu_idx;
        if (candidates.empty())
            for (auto& [idx, mb] : free_mb) candidates.push_back(idx);
        // Most free memory first; n_gpu N takes the N best, "auto" one (or all listed in gpu_idx).
        std::sort(candidates.begin(), candidates.end(), [&](int a, int b) { return free_mb[a] > free_mb[b]; });
        size_t n = req.n_gpu.is_number_integer() ? static_cast<size_t>(req.n_gpu.get<int>())
                                                 : (req.gpu_idx.empty() ? 1 : req.gpu_idx.size());
        if (n > candidates.size())
            throw unavailable("n_gpu=" + std::to_string(n) + " but only " + std::to_string(candidates.size()) + " GPU(s) can be used");
        candidates.resize(n);
        const uint64_t per_gpu = plan.memory_mb / n + 1;
        for (int g : candidates)
            if (free_mb[g] < per_gpu)
                throw unavailable("Not enough GPU memory on GPU " + std::to_string(g) + ": the model needs about " +
                                  std::to_string(per_gpu) + " MiB there, " + std::to_string(free_mb[g]) + " MiB are free");
        plan.gpus = candidates;
    } else if (plan.memory_mb > inv.ram_available_mb) {
        throw unavailable("Not enough memory: the model needs about " + std::to_string(plan.memory_mb) + " MiB, " +
                          std::to_string(inv.ram_available_mb) + " MiB of " + std::to_string(inv.ram_total_mb) +
                          " MiB are available");
    }

    if (runs_on_ggml(model)) {
        int used = 0;
        std::string holders;
        for (auto& [k, p] : reserved_) {
            if (!p.shared) used += p.threads;  // shared replicas hold no cores of their own
            if (p.threads) holders += (holders.empty() ? "" : ", ") + owner_[k] + " (" + std::to_string(p.threads) + ")";
        }
        const int free = std::max(0, inv.cpu_cores - used);
        const int asked = explicit_threads(req);
        if (asked > 0 && asked > free)
            throw unavailable("CPU thread budget: n_threads=" + std::to_string(asked) + " asked, " + std::to_string(free) +
                              " of " + std::to_string(inv.cpu_cores) + " cores free (held by " + holders + ")");
        // By default a replica takes half the cores (at least one, at most 8: CPU decoding is
        // bound by memory bandwidth well before that), so a second model still fits.
        const int share = std::min(8, std::max(1, inv.cpu_cores / 2));
        if (asked > 0) {
            plan.threads = asked;
        } else if (free >= 1) {
            plan.threads = std::min(share, free);
        } else if (budget_ == CpuBudget::strict) {
            throw unavailable("CPU thread budget: all " + std::to_string(inv.cpu_cores) + " cores are assigned (" + holders +
                              "); terminate a model, or start xinfer with more cores in its budget (--cpu-cores)");
        } else {
            // Every core is assigned: share them. Half a share keeps the oversubscription small
            // when several engines happen to be busy at once.
            plan.threads = std::max(1, share / 2);
            plan.shared = true;
        }
    }
    const bool encoder = (model.type == ModelType::embedding || model.type == ModelType::rerank) &&
                         runs_in_encoder_host(model, req.engine_options);
    if (encoder && plan.gpus.empty() && plan.threads > 0 && !plan.shared && inv.cpu_cores > plan.threads &&
        inv.cpu_quota_cores == 0 && env_or("XINFER_ENCODER_SPARE_LANES") != "0")
        plan.spare_threads = 1;
    reserved_[key] = plan;
    owner_[key] = key.substr(0, key.rfind('#'));
    return plan;
}

void Placement::release(const std::string& key) {
    std::lock_guard lock(mu_);
    reserved_.erase(key);
    owner_.erase(key);
}

nlohmann::json Placement::reservations() const {
    std::lock_guard lock(mu_);
    nlohmann::json out = nlohmann::json::array();
    for (auto& [k, p] : reserved_)
        out.push_back({{"replica", k}, {"threads", p.threads}, {"spare_threads", p.spare_threads}, {"shared_cores", p.shared}, {"gpus", p.gpus}, {"memory_mb", p.memory_mb}});
    return out;
}

}  // namespace xinfer
