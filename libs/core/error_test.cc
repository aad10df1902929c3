#include "libs/core/error.h"

#include <catch2/catch.hpp>

using switchboard::core::Annotate;
using switchboard::core::Error;
using switchboard::core::MetadataOf;
using switchboard::core::ReasonOf;

TEST_CASE("Error carries a reason and metadata beside the message") {
  absl::Status s = Error(absl::StatusCode::kFailedPrecondition, "CALL_NOT_RINGING",
                         "the call is not ringing", {{"state", "ENDED"}, {"call_id", "c1"}});
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(s.message() == "the call is not ringing");
  CHECK(ReasonOf(s) == "CALL_NOT_RINGING");
  auto md = MetadataOf(s);
  CHECK(md.size() == 2);
  CHECK(md.at("state") == "ENDED");
}

TEST_CASE("a plain status has no reason") {
  CHECK(ReasonOf(absl::InternalError("x")).empty());
  CHECK(MetadataOf(absl::InternalError("x")).empty());
  CHECK(ReasonOf(absl::OkStatus()).empty());
}

TEST_CASE("Annotate keeps code, reason and metadata") {
  absl::Status s = Annotate(
      Error(absl::StatusCode::kUnavailable, "REDIS_DOWN", "refused", {{"addr", "127.0.0.1:1"}}),
      "reserve call");
  CHECK(s.code() == absl::StatusCode::kUnavailable);
  CHECK(s.message() == "reserve call: refused");
  CHECK(ReasonOf(s) == "REDIS_DOWN");
  CHECK(MetadataOf(s).at("addr") == "127.0.0.1:1");
  CHECK(Annotate(absl::OkStatus(), "x").ok());
}
