// For unit tests of ggml's CPU kernels as xinfer's build patches them (scripts/llama-patches/).
#pragma once

#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml.h>
#include <gtest/gtest.h>

#include <functional>

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

}  // namespace xinfer::test
