#include "libs/core/money.h"

#include <catch2/catch.hpp>
#include <limits>

#include "libs/core/error.h"

using switchboard::core::CeilDiv;
using switchboard::core::Money;
using switchboard::core::ReasonOf;

TEST_CASE("amounts parse to exact micros") {
  CHECK(Money::Parse("0.005", "USD")->micros() == 5'000);
  CHECK(Money::Parse("12", "USD")->micros() == 12'000'000);
  CHECK(Money::Parse("-3.5", "EUR")->micros() == -3'500'000);
  CHECK(Money::Parse("0.000001", "USD")->micros() == 1);
}

TEST_CASE("bad amounts are refused with a reason") {
  CHECK(ReasonOf(Money::Parse("0.0000001", "USD").status()) == "INVALID_AMOUNT");
  CHECK(ReasonOf(Money::Parse("1,5", "USD").status()) == "INVALID_AMOUNT");
  CHECK(ReasonOf(Money::Parse("", "USD").status()) == "INVALID_AMOUNT");
  CHECK(ReasonOf(Money::Parse(".", "USD").status()) == "INVALID_AMOUNT");
  CHECK(ReasonOf(Money::Parse("1", "usd").status()) == "INVALID_CURRENCY");
  CHECK(ReasonOf(Money::Parse("99999999999999999999", "USD").status()) == "MONEY_OVERFLOW");
}

TEST_CASE("the product guide's per-minute examples") {
  Money per_minute = *Money::Parse("0.005", "USD");
  CHECK(CeilDiv(330, 60) == 6);  // 5:30 -> 6 minutes
  CHECK(per_minute.Times(CeilDiv(330, 60))->ToString() == "$0.03");
  CHECK(CeilDiv(45, 60) == 1);  // 0:45 -> 1 minute
  CHECK(per_minute.Times(CeilDiv(45, 60))->ToString() == "$0.005");
  CHECK(CeilDiv(60, 60) == 1);
  CHECK(CeilDiv(61, 60) == 2);
  CHECK(CeilDiv(0, 60) == 0);
}

TEST_CASE("arithmetic checks overflow and currency") {
  Money max(std::numeric_limits<int64_t>::max(), "USD");
  CHECK(ReasonOf(max.Plus(Money(1, "USD")).status()) == "MONEY_OVERFLOW");
  CHECK(ReasonOf(max.Times(2).status()) == "MONEY_OVERFLOW");
  CHECK(ReasonOf(Money(1, "USD").Plus(Money(1, "EUR")).status()) == "CURRENCY_MISMATCH");
  CHECK(Money(1, "USD").Plus(Money(2, "USD"))->micros() == 3);
}

TEST_CASE("formatting") {
  CHECK(Money(0, "USD").ToString() == "$0.00");
  CHECK(Money(1'200'000, "USD").ToString() == "$1.20");
  CHECK(Money(-1'200'000, "USD").ToString() == "-$1.20");
  CHECK(Money(12'500'000, "EUR").ToString() == "12.50 EUR");
  CHECK(Money(1, "USD").ToString() == "$0.000001");
  CHECK(Money(std::numeric_limits<int64_t>::min(), "USD").ToString() == "-$9223372036854.775808");
}
