// chat and generate: talk to a running model from the terminal, as Xinference's CLI does
// ("User: " / "Assistant: " turns; an empty line or end of input ends the session).
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace xinfer::cli {

namespace {

struct TalkArgs {
    Endpoint ep;
    std::string model_uid;
    int max_tokens = 512;
    std::string stream = "True";
};

bool truthy(const std::string& v) { return v == "True" || v == "true" || v == "1" || v == "yes"; }

// Reads one line after printing the prompt; false at end of input or on an empty line.
bool prompt_line(const std::string& prompt, std::string& line) {
    std::cout << prompt << std::flush;
    if (!std::getline(std::cin, line)) {
        std::cout << "\n";
        return false;
    }
    return !line.empty();
}

// The model's description, refusing models that cannot hold a conversation.
json text_model(ApiClient& api, const std::string& uid, const char* need) {
    if (uid.empty()) throw CliError("--model-uid is required");
    json d = api.get("/v1/models/" + uid);
    bool ok = d.value("model_type", "") == "LLM";
    if (ok && std::string(need) == "chat") {
        ok = false;
        for (auto& a : d.value("model_ability", json::array())) ok |= a == "chat";
    }
    if (!ok)
        throw CliError("Model " + uid + " does not support " + need +
                       ". Please select a chat/generate model or use embeddings/rerank APIs accordingly.");
    return d;
}

void run_chat(const TalkArgs& a) {
    ApiClient api(a.ep);
    text_model(api, a.model_uid, "chat");
    json messages = json::array();
    for (std::string prompt; prompt_line("User: ", prompt);) {
        messages.push_back({{"role", "user"}, {"content", prompt}});
        std::cout << "Assistant: " << std::flush;
        json body = {{"model", a.model_uid}, {"messages", messages}, {"max_tokens", a.max_tokens}};
        std::string answer;
        if (truthy(a.stream)) {
            body["stream"] = true;
            api.stream("/v1/chat/completions", body, [&](const json& chunk) {
                if (!chunk.contains("choices") || chunk["choices"].empty()) return;
                const json& delta = chunk["choices"][0].value("delta", json::object());
                if (!delta.contains("content") || !delta["content"].is_string()) return;
                std::string piece = delta["content"];
                answer += piece;
                std::cout << piece << std::flush;
            });
            std::cout << "\n";
        } else {
            json r = api.post("/v1/chat/completions", body);
            const json& content = r["choices"][0]["message"]["content"];
            answer = content.is_string() ? content.get<std::string>() : "";
            std::cout << answer << "\n\n";
        }
        messages.push_back({{"role", "assistant"}, {"content", answer}});
    }
}

void run_generate(const TalkArgs& a) {
    ApiClient api(a.ep);
    text_model(api, a.model_uid, "text generation");
    for (std::string prompt; prompt_line("Prompt: ", prompt);) {
        json body = {{"model", a.model_uid}, {"prompt", prompt}, {"max_tokens", a.max_tokens}};
        if (truthy(a.stream)) {
            std::cout << "Completion: " << prompt << std::flush;
            body["stream"] = true;
            api.stream("/v1/completions", body, [&](const json& chunk) {
                if (!chunk.contains("choices") || chunk["choices"].empty()) return;
                const json& choice = chunk["choices"][0];
                if (choice.contains("text") && choice["text"].is_string()) std::cout << choice["text"].get<std::string>() << std::flush;
            });
            std::cout << "\n";
        } else {
            std::cout << "Assistant: " << prompt << std::flush;
            json r = api.post("/v1/completions", body);
            std::cout << r["choices"][0].value("text", "") << "\n\n";
        }
    }
}

void add_talk_command(CLI::App& app, const char* name, const char* help, void (*run)(const TalkArgs&)) {
    auto a = std::make_shared<TalkArgs>();
    auto* cmd = app.add_subcommand(name, help);
    cmd->add_option("--model-uid,-u", a->model_uid, "The model's uid");
    cmd->add_option("--max_tokens,--max-tokens", a->max_tokens, "Most tokens per answer")->capture_default_str();
    cmd->add_option("--stream", a->stream, "Stream the answer (True/False)")->capture_default_str();
    add_endpoint_options(cmd, a->ep);
    cmd->callback([a, run] { exit_code() = run_reporting_errors([&] { run(*a); }); });
}

}  // namespace

void add_chat_commands(CLI::App& app) {
    add_talk_command(app, "chat", "Chat with a running LLM", run_chat);
    add_talk_command(app, "generate", "Generate text with a running LLM", run_generate);
}

}  // namespace xinfer::cli
