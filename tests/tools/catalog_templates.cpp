// Renders every chat template of xinfer's LLM catalog with llama.cpp's own template engine
// (libllama-common, the code llama-server runs): a short conversation for every family, and a
// tool definition, a tool call and its result for those that claim the "tools" ability. Prints
// one line per family and the failures; exits 1 when any template fails.
//
//   catalog_templates catalog/llm.json
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "chat.h"

using json = nlohmann::ordered_json;

namespace {

common_chat_msg message(const std::string& role, const std::string& content) {
    common_chat_msg m;
    m.role = role;
    m.content = content;
    return m;
}

// The conversation rendered for every template; with tools, a call and its result as well.
common_chat_templates_inputs conversation(bool tools) {
    common_chat_templates_inputs in;
    in.messages = {message("system", "You are a helpful assistant."), message("user", "What is the capital of France?"),
                   message("assistant", "Paris."), message("user", "And of Germany?")};
    if (tools) {
        common_chat_tool weather{"get_weather", "Current weather of a city",
                                 R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})"};
        in.tools = {weather};
        common_chat_msg call = message("assistant", "");
        call.tool_calls = {{"get_weather", R"({"city":"Berlin"})", "call_1"}};
        common_chat_msg result = message("tool", R"({"temperature_c":21})");
        result.tool_name = "get_weather";
        result.tool_call_id = "call_1";
        in.messages.push_back(call);
        in.messages.push_back(result);
    }
    return in;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s catalog/llm.json\n", argv[0]);
        return 2;
    }
    std::ifstream in(argv[1]);
    const json catalog = json::parse(in);
    int checked = 0, failed = 0;
    for (const auto& family : catalog) {
        const std::string name = family.value("model_name", "");
        // No template (or an empty one): llama.cpp uses the one in the GGUF file.
        if (!family.contains("chat_template") || !family["chat_template"].is_string() || family["chat_template"].get<std::string>().empty()) continue;
        const std::string tmpl = family["chat_template"].get<std::string>();
        bool tools = false;
        for (const auto& a : family.value("model_ability", json::array())) tools = tools || a == "tools";
        ++checked;
        try {
            auto templates = common_chat_templates_init(nullptr, tmpl, "<s>", "</s>");
            const std::string prompt = common_chat_templates_apply(templates.get(), conversation(false)).prompt;
            if (prompt.find("Germany") == std::string::npos) throw std::runtime_error("the last user message is not in the prompt");
            std::string with_tools;
            if (tools) {
                with_tools = common_chat_templates_apply(templates.get(), conversation(true)).prompt;
                if (with_tools.find("get_weather") == std::string::npos) throw std::runtime_error("the tool is not in the prompt");
                if (with_tools.find("21") == std::string::npos) throw std::runtime_error("the tool result is not in the prompt");
            }
            std::printf("ok   %-40s %6zu chars%s\n", name.c_str(), prompt.size(), tools ? ", tools" : "");
        } catch (const std::exception& e) {
            ++failed;
            std::printf("FAIL %-40s %s\n", name.c_str(), e.what());
        }
    }
    std::printf("%d templates rendered, %d failed\n", checked - failed, failed);
    return failed ? 1 : 0;
}
