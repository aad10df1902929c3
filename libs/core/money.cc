#include "libs/core/money.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"

namespace switchboard::core {
namespace {

bool ValidCurrency(absl::string_view c) {
  if (c.size() != 3) return false;
  for (char ch : c) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(ch))) return false;
  }
  return true;
}

absl::Status Overflow() {
  return Error(absl::StatusCode::kOutOfRange, "MONEY_OVERFLOW", "amount out of range");
}

}  // namespace

absl::StatusOr<Money> Money::Parse(absl::string_view amount, absl::string_view currency) {
  if (!ValidCurrency(currency)) {
    return InvalidArgument("INVALID_CURRENCY", "currency must be an ISO 4217 code",
                           {{"currency", std::string(currency)}});
  }
  absl::string_view s = amount;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int64_t units = 0;
  int64_t fraction = 0;
  int fraction_digits = 0;
  bool seen_point = false;
  bool seen_digit = false;
  for (char ch : s) {
    if (ch == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (!absl::ascii_isdigit(static_cast<unsigned char>(ch))) {
      return InvalidArgument("INVALID_AMOUNT", "amount is not a decimal number",
                             {{"amount", std::string(amount)}});
    }
    seen_digit = true;
    int digit = ch - '0';
    if (seen_point) {
      if (++fraction_digits > 6) {
        return InvalidArgument("INVALID_AMOUNT", "amount has more than 6 decimal places",
                               {{"amount", std::string(amount)}});
      }
      fraction = fraction * 10 + digit;
    } else {
      if (__builtin_mul_overflow(units, 10, &units) ||
          __builtin_add_overflow(units, digit, &units)) {
        return Overflow();
      }
    }
  }
  if (!seen_digit) {
    return InvalidArgument("INVALID_AMOUNT", "amount is not a decimal number",
                           {{"amount", std::string(amount)}});
  }
  for (int i = fraction_digits; i < 6; ++i) fraction *= 10;
  int64_t micros;
  if (__builtin_mul_overflow(units, kMicrosPerUnit, &micros) ||
      __builtin_add_overflow(micros, fraction, &micros)) {
    return Overflow();
  }
  return Money(negative ? -micros : micros, std::string(currency));
}

absl::StatusOr<Money> Money::Plus(const Money& other) const {
  if (other.currency_ != currency_) {
    return InvalidArgument("CURRENCY_MISMATCH", "cannot add amounts in different currencies",
                           {{"left", currency_}, {"right", other.currency_}});
  }
  int64_t sum;
  if (__builtin_add_overflow(micros_, other.micros_, &sum)) return Overflow();
  return Money(sum, currency_);
}

absl::StatusOr<Money> Money::Times(int64_t factor) const {
  int64_t product;
  if (__builtin_mul_overflow(micros_, factor, &product)) return Overflow();
  return Money(product, currency_);
}

std::string Money::ToString() const {
  // Magnitude as unsigned so INT64_MIN formats too.
  uint64_t magnitude = micros_ < 0 ? 0 - static_cast<uint64_t>(micros_) : micros_;
  uint64_t units = magnitude / kMicrosPerUnit;
  std::string fraction = absl::StrCat(magnitude % kMicrosPerUnit + kMicrosPerUnit).substr(1);
  while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
  std::string number = absl::StrCat(units, ".", fraction);
  absl::string_view sign = micros_ < 0 ? "-" : "";
  if (currency_ == "USD") return absl::StrCat(sign, "$", number);
  return absl::StrCat(sign, number, " ", currency_);
}

}  // namespace switchboard::core
