// The configuration files an operator hands xinfer: Xinference's auth file (serve --auth-config)
// and the deployment file (serve --config). The first input byte picks which; a bad file must be
// refused with a message, never crash.
#include <cstdint>
#include <stdexcept>

#include "auth/authenticator.h"
#include "fuzz_util.h"
#include "supervisor/deployment.h"

using namespace xinfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const bool auth = data[0] & 1;
    ++data, --size;
    try {
        if (auth) {
            auto a = Authenticator::import_file(fuzz::bytes_as_file(data, size, "auth.json"), fuzz::scratch_dir() / "home");
            (void)a->authenticate("sk-AdminKey00001");
        } else {
            (void)read_deployment_file(fuzz::bytes_as_file(data, size, "models.json").string());
        }
    } catch (const std::exception&) {
    }
    return 0;
}
