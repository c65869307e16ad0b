#include <gtest/gtest.h>

#include "common/errors.h"
#include "common/json_util.h"

using namespace xinfer;

TEST(ApiError, BodyHasOpenAiShapeAndDetail) {
    auto j = bad_request("'messages' must be a list", "messages").to_json();
    EXPECT_EQ(j["error"]["message"], "'messages' must be a list");
    EXPECT_EQ(j["error"]["type"], "invalid_request_error");
    EXPECT_EQ(j["error"]["param"], "messages");
    EXPECT_TRUE(j["error"]["code"].is_null());
    EXPECT_EQ(j["detail"], "'messages' must be a list");
}

TEST(ApiError, StatusesMapToTypes) {
    EXPECT_EQ(not_found("x").status(), 404);
    EXPECT_EQ(not_found("x").type(), "not_found_error");
    EXPECT_EQ(unavailable("x").status(), 503);
    EXPECT_EQ(ApiError(413, "big").type(), "request_too_large");
    EXPECT_EQ(internal_error("x").type(), "server_error");
}

TEST(JsonUtil, RejectsNonObjectsAndBadJson) {
    EXPECT_THROW(parse_json_object("{bad"), ApiError);
    EXPECT_THROW(parse_json_object("[1,2]"), ApiError);
    EXPECT_EQ(parse_json_object("{\"a\":1}")["a"], 1);
}

TEST(JsonUtil, TypedFieldsNameTheField) {
    auto j = json::parse(R"({"n":"12","s":5,"b":"x","f":2.0})");
    EXPECT_EQ(opt_int(j, "n").value(), 12);
    EXPECT_EQ(opt_int(j, "f").value(), 2);
    EXPECT_FALSE(opt_int(j, "missing").has_value());
    // A float beyond long long is refused (its conversion would be undefined behaviour).
    EXPECT_THROW(opt_int(json::parse(R"({"t":-7777777777777777777777777790})"), "t"), ApiError);
    EXPECT_THROW(opt_int(json::parse(R"({"t":1e300})"), "t"), ApiError);
    try {
        opt_string(j, "s");
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_EQ(e.param(), "s");
    }
    EXPECT_THROW(opt_bool(j, "b"), ApiError);
}
