// How far apart two pooled results of libllama are, for tests that compute the same inputs two
// ways (flash attention or not, every row or the pooled ones): 1 - cosine for vectors, the
// difference for a single score (a reranker's).
#pragma once

#include <cmath>
#include <vector>

namespace xinfer::test {

inline double result_distance(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() == 1 && b.size() == 1) return std::abs(a[0] - b[0]);
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        dot += static_cast<double>(a[i]) * b[i];
        na += static_cast<double>(a[i]) * a[i];
        nb += static_cast<double>(b[i]) * b[i];
    }
    return a.size() == b.size() && na > 0 && nb > 0 ? 1 - dot / std::sqrt(na * nb) : 1;
}

}  // namespace xinfer::test
