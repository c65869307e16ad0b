// Bearer tokens as clients present them (Authorization: Bearer …): the JWT check must refuse
// every forgery without crashing, and accept only what the secret signed.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "auth/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string token(reinterpret_cast<const char*>(data), size);
    const std::string secret = "a-secret-of-at-least-16-chars";
    auto payload = xinfer::jwt_verify(token, secret, 1'700'000'000);
    // Anything accepted must carry the secret's signature: re-signing its payload gives a token
    // that verifies too (the fuzzer cannot forge one, so this only runs on the seed).
    if (payload && !xinfer::jwt_verify(xinfer::jwt_sign(*payload, secret), secret, 1'700'000'000)) std::abort();
    (void)xinfer::jwt_verify(token, "another-secret-entirely", 1'700'000'000);
    return 0;
}
