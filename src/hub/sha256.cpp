#include "hub/sha256.h"
#include "common/text.h"

#include <openssl/evp.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace xinfer {

struct Sha256::State {
    EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : s_(std::make_unique<State>()) {
    s_->ctx = EVP_MD_CTX_new();
    if (!s_->ctx || EVP_DigestInit_ex(s_->ctx, EVP_sha256(), nullptr) != 1) throw std::runtime_error("cannot start SHA-256");
}

Sha256::~Sha256() { EVP_MD_CTX_free(s_->ctx); }

void Sha256::reset() { EVP_DigestInit_ex(s_->ctx, EVP_sha256(), nullptr); }

void Sha256::update(const void* data, size_t n) { EVP_DigestUpdate(s_->ctx, data, n); }

std::string Sha256::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(s_->ctx, digest, &len);
    return to_hex(std::string(reinterpret_cast<const char*>(digest), len));
}

std::string sha256_of_file(const std::filesystem::path& file) {
    Sha256 h;
    sha256_update_from_file(h, file, std::filesystem::file_size(file));
    return h.hex();
}

void sha256_update_from_file(Sha256& h, const std::filesystem::path& file, uint64_t bytes) {
    std::ifstream in(file, std::ios::binary);
    std::vector<char> buf(1 << 20);
    while (bytes > 0 && in) {
        in.read(buf.data(), static_cast<std::streamsize>(std::min<uint64_t>(buf.size(), bytes)));
        const auto got = static_cast<uint64_t>(in.gcount());
        if (got == 0) break;
        h.update(buf.data(), got);
        bytes -= got;
    }
}

}  // namespace xinfer
