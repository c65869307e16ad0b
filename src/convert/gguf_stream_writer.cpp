#include "convert/gguf_stream_writer.h"

#include <gguf.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace xinfer {

int64_t OutputTensor::rows() const {
    int64_t n = 1;
    for (size_t i = 1; i < ne.size(); ++i) n *= ne[i];
    return n;
}

ggml_type output_type_for(const std::string& outtype, const std::vector<int64_t>& ne) {
    if (ne.size() < 2 || outtype == "f32") return GGML_TYPE_F32;
    if (outtype == "q8_0" && ne[0] % ggml_blck_size(GGML_TYPE_Q8_0) == 0) return GGML_TYPE_Q8_0;
    return GGML_TYPE_F16;
}

GgufStreamWriter::GgufStreamWriter(gguf_context* meta) : meta_(meta) {}
GgufStreamWriter::~GgufStreamWriter() {
    gguf_free(meta_);
    if (shapes_) ggml_free(shapes_);
}

void GgufStreamWriter::build_table() {
    if (shapes_) return;
    // The tensor table is built from shape-only tensors; their data never lives in this context.
    ggml_init_params ip{ggml_tensor_overhead() * (tensors_.size() + 1), nullptr, /*no_alloc=*/true};
    shapes_ = ggml_init(ip);
    for (auto& t : tensors_) {
        if (t.ne.empty() || t.ne.size() > GGML_MAX_DIMS) throw std::runtime_error("tensor " + t.name + " has a bad shape");
        ggml_tensor* g = ggml_new_tensor(shapes_, t.type, static_cast<int>(t.ne.size()), t.ne.data());
        ggml_set_name(g, t.name.c_str());
        gguf_add_tensor(meta_, g);
    }
}

std::vector<uint8_t> GgufStreamWriter::header() {
    build_table();
    std::vector<uint8_t> h(gguf_get_meta_size(meta_));
    gguf_get_meta_data(meta_, h.data());
    return h;
}

uint64_t GgufStreamWriter::planned_bytes() {
    build_table();
    const size_t alignment = gguf_get_alignment(meta_);
    uint64_t total = gguf_get_meta_size(meta_);
    for (auto& t : tensors_) {
        const uint64_t size = static_cast<uint64_t>(t.rows()) * ggml_row_size(t.type, t.row_length());
        total += (size + alignment - 1) / alignment * alignment;
    }
    return total;
}

void GgufStreamWriter::add(OutputTensor t) { tensors_.push_back(std::move(t)); }

namespace {

struct FileCloser {
    void operator()(FILE* f) const {
        if (f) std::fclose(f);
    }
};

// Converts rows [first, first+rows) of `t` into `dst` (bytes of the output type).
void convert_rows(const OutputTensor& t, int64_t first, int64_t rows, std::vector<float>& scratch, uint8_t* dst) {
    const int64_t n = t.row_length();
    scratch.resize(static_cast<size_t>(rows * n));
    t.produce(first, rows, scratch.data());
    switch (t.type) {
        case GGML_TYPE_F32: std::memcpy(dst, scratch.data(), scratch.size() * 4); break;
        case GGML_TYPE_F16: ggml_fp32_to_fp16_row(scratch.data(), reinterpret_cast<ggml_fp16_t*>(dst), rows * n); break;
        default: ggml_quantize_chunk(t.type, scratch.data(), dst, 0, rows, n, nullptr); break;
    }
}

}  // namespace

void GgufStreamWriter::write(const std::filesystem::path& path, const WriteProgress& progress, int threads) {
    std::vector<uint8_t> head = header();
    uint64_t total = 0;
    for (auto& t : tensors_) total += static_cast<uint64_t>(t.rows()) * ggml_row_size(t.type, t.row_length());

    std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
    if (!f) throw std::runtime_error("cannot write " + path.string());
    auto put = [&](const void* data, size_t n) {
        if (n && std::fwrite(data, 1, n, f.get()) != n) throw std::runtime_error("writing " + path.string() + " failed (disk full?)");
        bytes_written_ += n;
    };
    put(head.data(), head.size());

    if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
    const size_t alignment = gguf_get_alignment(meta_);
    uint64_t done = 0;
    const std::vector<uint8_t> zeros(alignment, 0);
    for (size_t i = 0; i < tensors_.size(); ++i) {
        const OutputTensor& t = tensors_[i];
        const size_t row_bytes = ggml_row_size(t.type, t.row_length());
        const int64_t rows = t.rows();
        // Slices of about 8 MiB of f32 input per thread keep memory bounded and every core busy.
        const int64_t rows_per_job = std::max<int64_t>(1, (8 << 20) / (t.row_length() * 4));
        const int64_t rows_per_batch = rows_per_job * threads;
        std::vector<uint8_t> out;
        for (int64_t first = 0; first < rows; first += rows_per_batch) {
            const int64_t batch = std::min(rows_per_batch, rows - first);
            out.resize(static_cast<size_t>(batch) * row_bytes);
            std::vector<std::thread> pool;
            std::atomic<bool> failed{false};
            std::string error;
            std::mutex error_mu;
            for (int w = 0; w < threads; ++w) {
                const int64_t a = first + w * rows_per_job;
                if (a >= first + batch) break;
                const int64_t n = std::min(rows_per_job, first + batch - a);
                pool.emplace_back([&, a, n] {
                    try {
                        std::vector<float> scratch;
                        convert_rows(t, a, n, scratch, out.data() + (a - first) * row_bytes);
                    } catch (const std::exception& e) {
                        std::lock_guard lock(error_mu);
                        failed = true;
                        error = e.what();
                    }
                });
            }
            for (auto& th : pool) th.join();
            if (failed) throw std::runtime_error("converting " + t.name + ": " + error);
            put(out.data(), out.size());
            done += out.size();
            if (progress && total) progress(static_cast<double>(done) / total);
        }
        const size_t size = static_cast<size_t>(rows) * row_bytes;
        put(zeros.data(), (alignment - size % alignment) % alignment);
        if (t.written) t.written();
    }
    if (std::fflush(f.get()) != 0 || std::ferror(f.get())) throw std::runtime_error("writing " + path.string() + " failed");
}

}  // namespace xinfer
