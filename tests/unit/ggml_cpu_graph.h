// For unit tests of ggml's CPU kernels as xinfer's build patches them (scripts/llama-patches/).
#pragma once

#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace xinfer::test {

// Computes `out` (built in `ctx`, a no_alloc context) on the CPU backend: places the context's
// tensors there, calls set_inputs (ggml_backend_tensor_set on the inputs), runs the graph, calls
// get_outputs (ggml_backend_tensor_get), and frees the backend and buffer (not `ctx`).
inline void compute_on_cpu(ggml_context* ctx, ggml_tensor* out, const std::function<void()>& set_inputs,
                           const std::function<void()>& get_outputs) {
    ggml_cgraph* graph = ggml_new_graph(ctx);
    ggml_build_forward_expand(graph, out);
    ggml_backend_t cpu = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, nullptr);
    ASSERT_NE(cpu, nullptr);
    ggml_backend_buffer_t buffer = ggml_backend_alloc_ctx_tensors(ctx, cpu);
    set_inputs();
    EXPECT_EQ(ggml_backend_graph_compute(cpu, graph), GGML_STATUS_SUCCESS);
    get_outputs();
    ggml_backend_buffer_free(buffer);
    ggml_backend_free(cpu);
}

// `op` (ggml_gelu, ggml_soft_max, ...) over `in` taken as rows of `width` F32 values; its outputs.
inline std::vector<float> rows_through_cpu(ggml_tensor* (*op)(ggml_context*, ggml_tensor*), const std::vector<float>& in,
                                           int64_t width) {
    const int64_t rows = static_cast<int64_t>(in.size()) / width;
    ggml_init_params params{ggml_tensor_overhead() * 4 + ggml_graph_overhead(), nullptr, true};
    ggml_context* ctx = ggml_init(params);
    ggml_tensor* x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, width, rows);
    ggml_tensor* y = op(ctx, x);
    std::vector<float> out(in.size());
    compute_on_cpu(
        ctx, y, [&] { ggml_backend_tensor_set(x, in.data(), 0, in.size() * sizeof(float)); },
        [&] { ggml_backend_tensor_get(y, out.data(), 0, out.size() * sizeof(float)); });
    ggml_free(ctx);
    return out;
}

}  // namespace xinfer::test
