// Login tokens live at least as long as auth_config.token_expire_in_minutes says, whatever the
// fraction of the second they are issued in (`exp` is in whole seconds).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "auth/authenticator.h"
#include "auth/jwt.h"

using namespace xinfer;
namespace fs = std::filesystem;

namespace {
double now_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

TEST(TokenLifetime, AFractionalLifetimeIsNeverCutShort) {
    char tmpl[] = "/tmp/xinfer-token-XXXXXX";
    const fs::path dir = mkdtemp(tmpl);
    const std::string secret = "a-secret-of-at-least-16-chars";
    {
        std::ofstream f(dir / "auth-config.json");
        f << R"({"auth_config": {"algorithm": "HS256", "secret_key": ")" << secret
          << R"(", "token_expire_in_minutes": 0.03}, "user_config": [{"username": "u", "password": "pw-of-u", "permissions": ["models:list"]}]})";
    }
    auto auth = Authenticator::import_file(dir / "auth-config.json", dir);
    for (int i = 0; i < 5; ++i) {  // issued at different fractions of a second
        const double before = now_seconds();
        auto token = auth->login("u", "pw-of-u");
        const double after = now_seconds();
        ASSERT_TRUE(token);
        auto payload = jwt_verify(*token, secret, 0);
        ASSERT_TRUE(payload);
        const double exp = (*payload)["exp"].get<double>();
        EXPECT_GE(exp, before + 1.8) << "a 1.8 s token expires too soon";
        EXPECT_LT(exp, after + 2.8) << "rounded up by less than a second";
        EXPECT_TRUE(auth->authenticate(*token));
    }
    EXPECT_EQ(auth->token_lifetime_s(), 2);  // expires_in, in whole seconds
    fs::remove_all(dir);
}
