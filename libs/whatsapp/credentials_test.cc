#include "libs/whatsapp/credentials.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"

namespace switchboard::whatsapp {
namespace {

TEST_CASE("the default app and token come from flags; the file adds apps and per-number tokens") {
  auto c =
      Credentials::Parse(R"({"apps":[{"id":"tenant-app","app_secret":"s2","verify_token":"v2"}],
                                  "access_tokens":{"1065":"tok-1065"}})",
                         "s1", "v1", "tok-default");
  REQUIRE(c.ok());
  REQUIRE(c->App("") != nullptr);
  CHECK(c->App("")->app_secret == "s1");
  CHECK(c->App("")->verify_token == "v1");
  REQUIRE(c->App("tenant-app") != nullptr);
  CHECK(c->App("tenant-app")->verify_token == "v2");
  CHECK(c->App("nope") == nullptr);
  CHECK(c->AccessToken("1065") == "tok-1065");
  CHECK(c->AccessToken("2000") == "tok-default");
}

TEST_CASE("without a default secret there is no default app, and no token without a default") {
  auto c = Credentials::Parse("{}", "", "", "");
  REQUIRE(c.ok());
  CHECK(c->App("") == nullptr);
  CHECK_FALSE(c->AccessToken("1065").has_value());
}

TEST_CASE("bad files are refused with a reason that names no secret") {
  for (const char* bad :
       {"[]", "{", R"({"apps":{}})", R"({"apps":[{"id":"a"}]})",
        R"({"apps":[{"id":"a","app_secret":""}]})", R"({"apps":[{"id":"","app_secret":"x"}]})",
        R"({"apps":[{"id":"a b","app_secret":"x"}]})",
        R"({"apps":[{"id":"a","app_secret":"x"},{"id":"a","app_secret":"y"}]})",
        R"({"access_tokens":{"1":""}})", R"({"access_tokens":[]})"}) {
    CAPTURE(bad);
    auto c = Credentials::Parse(bad, "", "", "");
    REQUIRE_FALSE(c.ok());
    CHECK(core::ReasonOf(c.status()) == "CREDENTIALS_FILE_INVALID");
    CHECK(c.status().message().find("\"x\"") == absl::string_view::npos);
  }
  auto missing = Credentials::Load("/nonexistent/creds.json", "", "", "");
  CHECK(core::ReasonOf(missing.status()) == "CREDENTIALS_FILE_INVALID");
}

}  // namespace
}  // namespace switchboard::whatsapp
