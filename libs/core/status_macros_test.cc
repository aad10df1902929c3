#include "libs/core/status_macros.h"

#include <catch2/catch.hpp>

namespace {

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("odd");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int n, int* calls) {
  ++*calls;
  RETURN_IF_ERROR(Half(n).status());
  return absl::OkStatus();
}

}  // namespace

TEST_CASE("ASSIGN_OR_RETURN passes values through and returns the first error") {
  CHECK(*Quarter(8) == 2);
  CHECK(Quarter(6).status().message() == "odd");  // 6 -> 3 -> odd
  CHECK(Quarter(5).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("RETURN_IF_ERROR evaluates its expression once") {
  int calls = 0;
  CHECK(CheckEven(4, &calls).ok());
  CHECK_FALSE(CheckEven(3, &calls).ok());
  CHECK(calls == 2);
}
