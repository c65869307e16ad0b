// F16 matrix products on one CPU thread at the shapes of the models xinfer's encoders run: the
// tiny test models (64-wide rows, 256-wide feed-forward) and bge-small (384, 1536). Prints the
// time of one product and its rate (llamafile's tinyBLAS pays a fixed cost at the end of every
// block of outputs, which short rows do not hide; see scripts/llama-patches/sgemm-block-sums.patch).
// A kernel benchmark for comparing builds of libggml-cpu: run it against each, alternating (the
// services' ratios are bench_embeddings' and bench_chat_proxy's).
#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "engines/mtmd/llama_runtime.h"

namespace {

struct Shape {
    int64_t k, m;  // a weight matrix of m rows of k
    const char* what;
};

// Microseconds for one product of an m x k F16 matrix with n F32 columns: the best of `reps`
// runs of a graph of `chain` such products (so the graph's own cost is spread thin).
double product_us(ggml_backend_t cpu, const Shape& s, int64_t n, int reps) {
    const int chain = 32;
    ggml_init_params params{ggml_tensor_overhead() * (2 * chain + 2) + ggml_graph_overhead(), nullptr, true};
    ggml_context* ctx = ggml_init(params);
    ggml_tensor* x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, s.k, n);
    std::vector<ggml_tensor*> weights;
    ggml_cgraph* graph = ggml_new_graph(ctx);
    for (int c = 0; c < chain; ++c) {
        weights.push_back(ggml_new_tensor_2d(ctx, GGML_TYPE_F16, s.k, s.m));
        ggml_build_forward_expand(graph, ggml_mul_mat(ctx, weights.back(), x));
    }
    ggml_backend_buffer_t buffer = ggml_backend_alloc_ctx_tensors(ctx, cpu);
    std::mt19937 random(7);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::vector<float> xs(s.k * n);
    for (auto& v : xs) v = value(random);
    ggml_backend_tensor_set(x, xs.data(), 0, xs.size() * sizeof(float));
    std::vector<ggml_fp16_t> ws(s.k * s.m);
    for (ggml_tensor* w : weights) {
        for (auto& v : ws) v = ggml_fp32_to_fp16(value(random) / 10);
        ggml_backend_tensor_set(w, ws.data(), 0, ws.size() * sizeof(ggml_fp16_t));
    }
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        if (ggml_backend_graph_compute(cpu, graph) != GGML_STATUS_SUCCESS) {
            std::fprintf(stderr, "graph failed\n");
            std::exit(1);
        }
        best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    ggml_backend_buffer_free(buffer);
    ggml_free(ctx);
    return best / chain;
}

}  // namespace

int main(int argc, char** argv) {
    const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 200;
    const int64_t n = argc > 2 ? std::max(1, std::atoi(argv[2])) : 50;  // columns: tokens in one run
    xinfer::init_llama_runtime();
    ggml_backend_t cpu = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, nullptr);
    if (!cpu) {
        std::fprintf(stderr, "no CPU backend\n");
        return 1;
    }
    // One thread, through the registry (the CPU backend's own library is not linked here).
    auto set_threads = reinterpret_cast<ggml_backend_set_n_threads_t>(
        ggml_backend_reg_get_proc_address(ggml_backend_dev_backend_reg(ggml_backend_get_device(cpu)), "ggml_backend_set_n_threads"));
    if (set_threads) set_threads(cpu, 1);
    const Shape shapes[] = {{64, 64, "tiny model attention"},    {64, 256, "tiny model feed-forward up"},
                            {256, 64, "tiny model feed-forward down"}, {384, 384, "bge-small attention"},
                            {384, 1536, "bge-small feed-forward up"}, {1536, 384, "bge-small feed-forward down"}};
    std::printf("F16 weights x %lld F32 columns, one thread, best of %d runs\n", static_cast<long long>(n), reps);
    std::printf("%-30s %6s %6s %10s %9s\n", "shape", "k", "m", "us", "GFLOP/s");
    for (const Shape& s : shapes) {
        const double us = product_us(cpu, s, n, reps);
        std::printf("%-30s %6lld %6lld %10.2f %9.1f\n", s.what, static_cast<long long>(s.k), static_cast<long long>(s.m), us,
                    2.0 * s.k * s.m * n / us / 1e3);
    }
    ggml_backend_free(cpu);
    return 0;
}
