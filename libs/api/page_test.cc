#include "libs/api/page.h"

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"

namespace switchboard::api {
namespace {

using core::ReasonOf;

void RequireInvalid(const std::string& token, const std::string& binding) {
  auto cursor = DecodePageToken(token, binding);
  INFO("token: " << token);
  REQUIRE_FALSE(cursor.ok());
  CHECK(cursor.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ReasonOf(cursor.status()) == "INVALID_PAGE_TOKEN");
}

TEST_CASE("page_size: 0 is the default, above the maximum the maximum, below 0 refused") {
  CHECK(*PageSize(0, {.default_size = 50, .max = 200}) == 50);
  CHECK(*PageSize(7, {.default_size = 50, .max = 200}) == 7);
  CHECK(*PageSize(200, {.default_size = 50, .max = 200}) == 200);
  CHECK(*PageSize(1000000, {.default_size = 50, .max = 200}) == 200);
  CHECK(ReasonOf(PageSize(-1).status()) == "INVALID_PAGE_SIZE");
}

TEST_CASE("a page token round-trips its cursor for the same binding, URL-safe") {
  const std::string binding = Binding("calls.ListCalls", "state=MISSED;");
  for (const Cursor& cursor :
       {Cursor{absl::FromUnixMicros(1763202600123456), "0193a6a0-7c1e-7b3a"},
        Cursor{absl::FromUnixMicros(-1), "x"}, Cursor{absl::UnixEpoch(), "café"},
        Cursor{absl::InfinitePast(), "id-only|with|bars"}}) {
    const std::string token = EncodePageToken(cursor, binding);
    CHECK(token.find_first_not_of(
              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    auto decoded = DecodePageToken(token, binding);
    REQUIRE(decoded.ok());
    REQUIRE(decoded->has_value());
    CHECK((*decoded)->time == cursor.time);
    CHECK((*decoded)->id == cursor.id);
  }
  auto first = DecodePageToken("", binding);
  REQUIRE(first.ok());
  CHECK_FALSE(first->has_value());
}

TEST_CASE("a page token is bound to its list and selection, and signed") {
  const Cursor cursor{absl::FromUnixMicros(7), "call-1"};
  const std::string token = EncodePageToken(cursor, Binding("calls.ListCalls", "state=MISSED;"));
  RequireInvalid(token, Binding("calls.ListCalls", "state=ENDED;"));
  RequireInvalid(token, Binding("calls.ListCallNotes", "state=MISSED;"));
  // The list and the selection cannot borrow from each other.
  CHECK(Binding("ab", "c") != Binding("a", "bc"));

  std::string text;
  REQUIRE(absl::WebSafeBase64Unescape(token, &text));
  // Editing the cursor breaks the signature.
  std::string edited = text;
  edited[2] = '8';
  RequireInvalid(absl::WebSafeBase64Escape(edited), Binding("calls.ListCalls", "state=MISSED;"));
  // So does another key (another deployment's token).
  SetPageTokenKey("another-key");
  RequireInvalid(token, Binding("calls.ListCalls", "state=MISSED;"));
  SetPageTokenKey("switchboard-development-page-token-key");
  CHECK(DecodePageToken(token, Binding("calls.ListCalls", "state=MISSED;")).ok());
}

TEST_CASE("garbage page tokens are refused") {
  const std::string binding = Binding("l", "s");
  for (const char* garbage :
       {"not base64!", "====", "aGVsbG8", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "-_-_-_-_"}) {
    RequireInvalid(garbage, binding);
  }
  RequireInvalid(std::string(600, 'A'), binding);
}

}  // namespace
}  // namespace switchboard::api
