#include "services/gateway/rules/connect.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "libs/core/error.h"
#include "services/gateway/rules/limiter.h"

namespace rules = switchboard::gateway::rules;
namespace core = switchboard::core;

TEST_CASE("each code has Connect's name and HTTP status") {
  CHECK(rules::CodeName(absl::StatusCode::kInvalidArgument) == "invalid_argument");
  CHECK(rules::CodeName(absl::StatusCode::kCancelled) == "canceled");
  CHECK(rules::CodeName(absl::StatusCode::kResourceExhausted) == "resource_exhausted");
  CHECK(rules::HttpStatus(absl::StatusCode::kInvalidArgument) == 400);
  CHECK(rules::HttpStatus(absl::StatusCode::kFailedPrecondition) == 400);
  CHECK(rules::HttpStatus(absl::StatusCode::kUnauthenticated) == 401);
  CHECK(rules::HttpStatus(absl::StatusCode::kPermissionDenied) == 403);
  CHECK(rules::HttpStatus(absl::StatusCode::kNotFound) == 404);
  CHECK(rules::HttpStatus(absl::StatusCode::kAlreadyExists) == 409);
  CHECK(rules::HttpStatus(absl::StatusCode::kResourceExhausted) == 429);
  CHECK(rules::HttpStatus(absl::StatusCode::kCancelled) == 499);
  CHECK(rules::HttpStatus(absl::StatusCode::kUnimplemented) == 501);
  CHECK(rules::HttpStatus(absl::StatusCode::kUnavailable) == 503);
  CHECK(rules::HttpStatus(absl::StatusCode::kDeadlineExceeded) == 504);
  CHECK(rules::HttpStatus(absl::StatusCode::kInternal) == 500);
}

TEST_CASE("an error body carries the reason and metadata, escaped") {
  std::string body = rules::ErrorBody(
      core::InvalidArgument("INVALID_ID", "call_id \"x\ny\" is not an id", {{"field", "call_id"}}));
  CHECK(absl::StartsWith(body,
                         "{\"code\":\"invalid_argument\",\"message\":\"call_id \\\"x\\ny\\\" "
                         "is not an id\",\"details\":[{\"type\":\"google.rpc.ErrorInfo\""));
  CHECK(absl::StrContains(body,
                          "\"debug\":{\"reason\":\"INVALID_ID\",\"domain\":\"switchboard.dev\","
                          "\"metadata\":{\"field\":\"call_id\"}}"));
  CHECK_FALSE(absl::StrContains(body, "="));  // unpadded base64
  CHECK(rules::ErrorBody(absl::UnavailableError("down")) ==
        "{\"code\":\"unavailable\",\"message\":\"down\"}");
  CHECK(rules::JsonString(std::string("\x01", 1)) == "\"\\u0001\"");
}

TEST_CASE("timeouts, media types and origins") {
  CHECK_FALSE(rules::Timeout(std::nullopt, absl::Minutes(1))->has_value());
  CHECK(**rules::Timeout("1500", absl::Minutes(1)) == absl::Milliseconds(1500));
  CHECK(**rules::Timeout("99999999", absl::Minutes(1)) == absl::Minutes(1));
  CHECK(**rules::Timeout("9999999999", absl::Hours(3000)) == absl::Milliseconds(9999999999));
  for (const char* bad : {"", "-1", "0", "1.5", "12345678901", "1e3"}) {
    CAPTURE(bad);
    CHECK(core::ReasonOf(rules::Timeout(bad, absl::Minutes(1)).status()) == "INVALID_TIMEOUT");
  }
  CHECK(rules::IsJson("application/json"));
  CHECK(rules::IsJson("Application/JSON; charset=utf-8"));
  CHECK_FALSE(rules::IsJson("text/plain"));
  CHECK_FALSE(rules::IsJson("application/jsonx"));
  CHECK(rules::AllowedOrigin("https://app.example", {"https://app.example"}) ==
        "https://app.example");
  CHECK_FALSE(rules::AllowedOrigin("https://evil.example", {"https://app.example"}).has_value());
  CHECK(rules::AllowedOrigin("https://any.example", {"*"}).has_value());
  CHECK_FALSE(rules::AllowedOrigin("", {"*"}).has_value());
}

TEST_CASE("file names keep only what a Content-Disposition may hold") {
  CHECK(rules::SafeFileName("INV-000001.pdf", "x") == "INV-000001.pdf");
  CHECK(rules::SafeFileName("../\"evil\"\r\n.csv", "x") == "..evil.csv");
  CHECK(rules::SafeFileName("", "download") == "download");
  CHECK(rules::SafeFileName("/\"", "download") == "download");
  CHECK(rules::SafeFileName(std::string(128, 'a'), "x") == std::string(128, 'a'));
  CHECK(rules::SafeFileName(std::string(129, 'a'), "x") == "x");
}

TEST_CASE("the limiter allows a burst, then the rate, per client") {
  rules::Limiter limiter(/*rate=*/10, /*burst=*/20, /*max_keys=*/3);
  const absl::Time t0 = absl::FromUnixSeconds(1'780'000'000);
  for (int i = 0; i < 20; ++i) CHECK(limiter.Take("a", t0) == absl::ZeroDuration());
  CHECK(limiter.Take("a", t0) == absl::Milliseconds(100));
  CHECK(limiter.Take("b", t0) == absl::ZeroDuration());  // another client
  CHECK(limiter.Take("a", t0 + absl::Milliseconds(100)) == absl::ZeroDuration());
  CHECK(limiter.Take("a", t0 + absl::Milliseconds(100)) > absl::ZeroDuration());
  // Bounded: new keys past max_keys evict, and a forgotten key starts with a full bucket.
  limiter.Take("c", t0);
  limiter.Take("d", t0);
  limiter.Take("e", t0);
  CHECK(limiter.Take("a", t0 + absl::Seconds(10)) == absl::ZeroDuration());
}
