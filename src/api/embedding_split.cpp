#include "api/embedding_split.h"

#include <cstdlib>

namespace xinfer {

namespace {

// A small scanner over JSON text that only finds where values begin and end.
class Scanner {
public:
    explicit Scanner(std::string_view s) : s_(s) {}
    size_t pos = 0;

    void ws() {
        while (pos < s_.size() && (s_[pos] == ' ' || s_[pos] == '\n' || s_[pos] == '\r' || s_[pos] == '\t')) ++pos;
    }
    void expect(char c) {
        ws();
        if (pos >= s_.size() || s_[pos] != c) fail(std::string("expected '") + c + "'");
        ++pos;
    }
    bool peek(char c) {
        ws();
        return pos < s_.size() && s_[pos] == c;
    }
    std::string_view string() {
        ws();
        const size_t start = pos;
        if (pos >= s_.size() || s_[pos] != '"') fail("expected a string");
        for (++pos; pos < s_.size() && s_[pos] != '"'; ++pos)
            if (s_[pos] == '\\') ++pos;
        if (pos >= s_.size()) fail("unterminated string");
        ++pos;
        return s_.substr(start + 1, pos - start - 2);
    }
    // Skips any value; returns its text.
    std::string_view value() {
        ws();
        const size_t start = pos;
        if (pos >= s_.size()) fail("expected a value");
        if (s_[pos] == '"') {
            string();
        } else if (s_[pos] == '{' || s_[pos] == '[') {
            int depth = 0;
            for (; pos < s_.size(); ++pos) {
                const char c = s_[pos];
                if (c == '"') {
                    string();
                    --pos;
                } else if (c == '{' || c == '[') {
                    ++depth;
                } else if (c == '}' || c == ']') {
                    if (--depth == 0) {
                        ++pos;
                        break;
                    }
                }
            }
            if (depth != 0) fail("unbalanced value");
        } else {
            while (pos < s_.size() && s_[pos] != ',' && s_[pos] != '}' && s_[pos] != ']' && s_[pos] != ' ' && s_[pos] != '\n') ++pos;
        }
        return s_.substr(start, pos - start);
    }
    [[noreturn]] void fail(const std::string& why) const {
        throw std::runtime_error("unreadable embeddings answer from the engine: " + why + " at byte " + std::to_string(pos));
    }

private:
    std::string_view s_;
};

struct Item {
    std::string_view embedding, encoding_format;
    long long tokens = 0;
};

Item read_item(Scanner& sc) {
    Item it;
    sc.expect('{');
    if (!sc.peek('}'))
        do {
            const std::string_view key = sc.string();
            sc.expect(':');
            const std::string_view v = sc.value();
            if (key == "embedding") it.embedding = v;
            else if (key == "tokens_evaluated") it.tokens = std::atoll(std::string(v).c_str());
            else if (key == "encoding_format") it.encoding_format = v;
        } while (sc.peek(',') && (sc.expect(','), true));
    sc.expect('}');
    if (it.embedding.empty()) sc.fail("an item without an embedding");
    return it;
}

}  // namespace

std::vector<SplitAnswer> split_embedding_answer(std::string_view answer, const std::vector<size_t>& counts,
                                                const std::string& model_json) {
    Scanner sc(answer);
    std::vector<Item> items;
    sc.expect('{');
    if (!sc.peek('}'))
        do {
            const std::string_view key = sc.string();
            sc.expect(':');
            if (key != "data") {
                sc.value();
                continue;
            }
            sc.expect('[');
            if (!sc.peek(']'))
                do items.push_back(read_item(sc));
                while (sc.peek(',') && (sc.expect(','), true));
            sc.expect(']');
        } while (sc.peek(',') && (sc.expect(','), true));
    sc.expect('}');

    size_t total = 0;
    for (size_t c : counts) total += c;
    if (items.size() != total)
        throw std::runtime_error("the engine answered " + std::to_string(items.size()) + " embeddings for " + std::to_string(total) +
                                 " inputs");
    std::vector<SplitAnswer> out;
    out.reserve(counts.size());
    size_t next = 0;
    for (size_t c : counts) {
        std::string body = "{\"model\":" + model_json + ",\"object\":\"list\",\"data\":[";
        long long tokens = 0;
        for (size_t k = 0; k < c; ++k, ++next) {
            const Item& it = items[next];
            tokens += it.tokens;
            if (k) body += ',';
            body += "{\"embedding\":";
            body.append(it.embedding);
            body += ",\"index\":" + std::to_string(k) + ",\"object\":\"embedding\"";
            if (!it.encoding_format.empty()) body += ",\"encoding_format\":" + std::string(it.encoding_format);
            body += '}';
        }
        body += "],\"usage\":{\"prompt_tokens\":" + std::to_string(tokens) + ",\"total_tokens\":" + std::to_string(tokens) + "}}";
        out.push_back({std::move(body), tokens});
    }
    return out;
}

}  // namespace xinfer
