#include "host/encoder_host.h"

#include <stdexcept>

#include "host/encoder_routes.h"
#include "host/host_server.h"

namespace xinfer {

bool is_encoder_engine(const std::string& engine) { return engine == "llama-embedding" || engine == "llama-rerank"; }

std::unique_ptr<LlamaEncoder> load_encoder(const HostOptions& o) {
    if (o.model_path.empty()) throw std::runtime_error("the " + o.engine + " engine needs --model-path (a GGUF)");
    return std::make_unique<LlamaEncoder>(o.model_path, o.engine == "llama-rerank" ? LlamaEncoder::Task::rerank : LlamaEncoder::Task::embedding,
                                          o.threads, o.use_gpu, o.context, o.spare_threads);
}

int run_encoder_host(const HostOptions& o) {
    return serve_model_host(o, [&o]() -> HostRoutes {
        if (!is_encoder_engine(o.engine))
            throw std::runtime_error("xinfer-encoder serves llama-embedding and llama-rerank, not '" + o.engine +
                                     "' (speech engines run in xinfer-host)");
        std::shared_ptr<LlamaEncoder> encoder = load_encoder(o);
        return [encoder](httplib::Server& server) { add_encoder_routes(server, *encoder); };
    });
}

}  // namespace xinfer
