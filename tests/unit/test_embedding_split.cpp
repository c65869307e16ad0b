// The split of a merged embeddings answer: each request gets its own items, re-indexed from 0,
// the vector bytes untouched, and usage summed from its items' token counts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/embedding_split.h"

using namespace xinfer;
using json = nlohmann::json;

TEST(EmbeddingSplit, EachRequestGetsItsItemsIndexedFromZeroWithExactUsage) {
    const std::string answer = R"({"model":"m","object":"list","usage":{"prompt_tokens":12,"total_tokens":12},"data":[
        {"embedding":[0.1,-2.5e-3,3],"index":0,"object":"embedding","tokens_evaluated":3},
        {"embedding":[1.0,2.0,3.0],"index":1,"object":"embedding","tokens_evaluated":4},
        {"embedding":[0.125,0,-1],"index":2,"object":"embedding","tokens_evaluated":5}]})";
    auto parts = split_embedding_answer(answer, {1, 2}, "\"m\"");
    ASSERT_EQ(parts.size(), 2u);
    const json a = json::parse(parts[0].body), b = json::parse(parts[1].body);
    EXPECT_EQ(a["data"].size(), 1u);
    EXPECT_EQ(a["data"][0]["index"], 0);
    EXPECT_EQ(a["usage"]["prompt_tokens"], 3);
    EXPECT_EQ(parts[0].tokens, 3);
    EXPECT_NE(parts[0].body.find("[0.1,-2.5e-3,3]"), std::string::npos) << "the floats' text is kept as the engine wrote it";
    ASSERT_EQ(b["data"].size(), 2u);
    EXPECT_EQ(b["data"][0]["index"], 0);
    EXPECT_EQ(b["data"][1]["index"], 1);
    EXPECT_EQ(b["data"][1]["embedding"], json::parse("[0.125,0,-1]"));
    EXPECT_EQ(b["usage"]["total_tokens"], 9);
    EXPECT_FALSE(b["data"][0].contains("tokens_evaluated")) << "answers keep OpenAI's shape";
    EXPECT_EQ(b["model"], "m");
    EXPECT_EQ(b["object"], "list");
}

TEST(EmbeddingSplit, Base64VectorsAndTheirFormatAreCarried) {
    const std::string answer = R"({"data":[{"embedding":"AACAPw==","index":0,"object":"embedding","encoding_format":"base64","tokens_evaluated":2},
        {"embedding":"AAAAQA==","index":1,"object":"embedding","encoding_format":"base64","tokens_evaluated":2}],"model":"m","object":"list"})";
    auto parts = split_embedding_answer(answer, {1, 1}, "\"m\"");
    const json b = json::parse(parts[1].body);
    EXPECT_EQ(b["data"][0]["embedding"], "AAAAQA==");
    EXPECT_EQ(b["data"][0]["encoding_format"], "base64");
}

TEST(EmbeddingSplit, AnAnswerOfTheWrongShapeOrCountIsRefused) {
    EXPECT_THROW(split_embedding_answer(R"({"data":[{"index":0}]})", {1}, "\"m\""), std::runtime_error);
    EXPECT_THROW(split_embedding_answer(R"({"data":[{"embedding":[1],"index":0}]})", {2}, "\"m\""), std::runtime_error);
    EXPECT_THROW(split_embedding_answer(R"({"data":[{"embedding":[1,2)", {1}, "\"m\""), std::runtime_error);
    EXPECT_THROW(split_embedding_answer("not json", {1}, "\"m\""), std::runtime_error);
    EXPECT_THROW(split_embedding_answer(R"({"data":[{"embedding":"abc)", {1}, "\"m\""), std::runtime_error);
}
