// Money is an integer count of micro-units (1 USD = 1'000'000 micros) with its ISO 4217 code.
// Arithmetic is overflow-checked; there is no floating point anywhere near a price.
//
//   ASSIGN_OR_RETURN(core::Money per_minute, core::Money::Parse("0.005", "USD"));
//   ASSIGN_OR_RETURN(core::Money cost, per_minute.Times(6));     // 30000 micros, "$0.03"
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchboard::core {

inline constexpr int64_t kMicrosPerUnit = 1'000'000;

class Money {
 public:
  Money() = default;
  Money(int64_t micros, std::string currency) : micros_(micros), currency_(std::move(currency)) {}

  // Parses a decimal amount such as "12", "0.005" or "-3.5" (at most 6 fractional digits).
  static absl::StatusOr<Money> Parse(absl::string_view amount, absl::string_view currency);

  int64_t micros() const { return micros_; }
  const std::string& currency() const { return currency_; }

  absl::StatusOr<Money> Plus(const Money& other) const;
  absl::StatusOr<Money> Times(int64_t factor) const;

  // "$0.03", "$0.005", "-$1.20", "12.50 EUR": two decimals at least, more only when needed.
  std::string ToString() const;

  friend bool operator==(const Money&, const Money&) = default;

 private:
  int64_t micros_ = 0;
  std::string currency_ = "USD";
};

// Integer division rounding up, for billing increments: CeilDiv(330, 60) == 6. b > 0, a >= 0.
constexpr int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

}  // namespace switchboard::core
