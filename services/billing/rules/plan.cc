#include "services/billing/rules/plan.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "phonenumbers/phonenumberutil.h"
#include "unicode/ucurr.h"
#include "unicode/uenum.h"

namespace switchboard::billing::rules {
namespace {

using events::v1::Money;

absl::Status Bad(absl::string_view reason, absl::string_view field, absl::string_view message) {
  return core::InvalidArgument(reason, absl::StrCat(field, ": ", message),
                               {{"field", std::string(field)}});
}

const absl::flat_hash_set<std::string>& Currencies() {
  static const auto* codes = [] {
    auto* out = new absl::flat_hash_set<std::string>();
    UErrorCode error = U_ZERO_ERROR;
    UEnumeration* all = ucurr_openISOCurrencies(UCURR_COMMON | UCURR_NON_DEPRECATED, &error);
    if (U_SUCCESS(error)) {
      const char* code = nullptr;
      while ((code = uenum_next(all, nullptr, &error)) != nullptr && U_SUCCESS(error)) {
        out->insert(code);
      }
      uenum_close(all);
    }
    return out;
  }();
  return *codes;
}

absl::Status CheckPrice(const Money& price, const std::string& currency, absl::string_view field) {
  if (price.currency_code() != currency) {
    return Bad("CURRENCY_MISMATCH", field,
               absl::StrCat("in ", price.currency_code(), ", the plan is in ", currency));
  }
  if (price.amount_micros() < 0 || price.amount_micros() > kMaxPriceMicros) {
    return Bad("INVALID_PRICE", field, "from 0 to 1000 a minute");
  }
  return absl::OkStatus();
}

absl::Status CheckIncrement(const google::protobuf::Duration& d, absl::string_view field) {
  const absl::Duration v = core::FromProto(d);
  if (d.nanos() != 0 || v < kMinIncrement || v > kMaxIncrement) {
    return Bad("INVALID_BILLING_INCREMENT", field, "whole seconds from 1 s to 3600 s");
  }
  return absl::OkStatus();
}

absl::Status CheckTiers(const google::protobuf::RepeatedPtrField<v1::VolumeTier>& tiers,
                        const std::string& currency, const std::string& field) {
  if (tiers.size() > kMaxTiers) return Bad("INVALID_VOLUME_TIERS", field, "at most 20 tiers");
  int64_t previous = -1;
  for (int i = 0; i < tiers.size(); ++i) {
    const std::string at = absl::StrCat(field, "[", i, "]");
    if (tiers[i].from_minutes() <= previous || tiers[i].from_minutes() > kMaxMinutesLimit) {
      return Bad("INVALID_VOLUME_TIERS", at,
                 "tiers start at ascending, distinct minutes from 0 on");
    }
    previous = tiers[i].from_minutes();
    RETURN_IF_ERROR(CheckPrice(tiers[i].price_per_minute(), currency, at + ".price_per_minute"));
  }
  return absl::OkStatus();
}

absl::Status CheckCountryRates(const v1::RatePlan& plan) {
  if (plan.country_rates_size() > kMaxCountryRates) {
    return Bad("INVALID_COUNTRY_RATE", "rate_plan.country_rates", "at most 500 rates");
  }
  static const std::set<std::string>* const regions = [] {
    auto* out = new std::set<std::string>();
    i18n::phonenumbers::PhoneNumberUtil::GetInstance()->GetSupportedRegions(out);
    return out;
  }();
  std::set<std::string> seen;
  for (int i = 0; i < plan.country_rates_size(); ++i) {
    const v1::CountryRate& r = plan.country_rates(i);
    const std::string field = absl::StrCat("rate_plan.country_rates[", i, "]");
    const bool by_region = !r.region_code().empty();
    if (by_region == !r.prefix().empty()) {
      return Bad("INVALID_COUNTRY_RATE", field, "give a region_code or a prefix, not both");
    }
    if (by_region && regions->count(r.region_code()) == 0) {
      return Bad("INVALID_COUNTRY_RATE", field + ".region_code",
                 "not an ISO 3166-1 alpha-2 region with phone numbers");
    }
    if (!by_region && (r.prefix().size() > 15 ||
                       !std::all_of(r.prefix().begin(), r.prefix().end(), absl::ascii_isdigit))) {
      return Bad("INVALID_COUNTRY_RATE", field + ".prefix", "1 to 15 digits, without +");
    }
    const std::string key = by_region ? "region " + r.region_code() : "prefix " + r.prefix();
    if (!seen.insert(key).second) {
      return Bad("OVERLAPPING_COUNTRY_RATES", field, absl::StrCat("a second rate for ", key));
    }
    const std::string& currency = plan.price_per_minute().currency_code();
    RETURN_IF_ERROR(CheckPrice(r.price_per_minute(), currency, field + ".price_per_minute"));
    if (r.has_billing_increment() &&
        core::FromProto(r.billing_increment()) != absl::ZeroDuration()) {
      RETURN_IF_ERROR(CheckIncrement(r.billing_increment(), field + ".billing_increment"));
    }
    RETURN_IF_ERROR(CheckTiers(r.volume_tiers(), currency, field + ".volume_tiers"));
  }
  return absl::OkStatus();
}

}  // namespace

bool KnownCurrency(absl::string_view code) { return Currencies().contains(code); }

v1::RatePlan Effective(v1::RatePlan plan) {
  if (!plan.has_price_per_minute()) {
    plan.mutable_price_per_minute()->set_amount_micros(kDefaultPriceMicros);
  }
  if (plan.price_per_minute().currency_code().empty()) {
    plan.mutable_price_per_minute()->set_currency_code(kDefaultCurrency);
  }
  if (!plan.has_billing_increment()) {
    *plan.mutable_billing_increment() = core::ToProto(kDefaultIncrement);
  }
  if (plan.usage_warning_percent() == 0) plan.set_usage_warning_percent(kDefaultWarningPercent);
  if (!plan.has_purchase_price_per_minute()) {
    *plan.mutable_purchase_price_per_minute() = plan.price_per_minute();
  }
  if (plan.time_zone().empty()) plan.set_time_zone("UTC");
  return plan;
}

absl::Status Validate(const v1::RatePlan& plan) {
  const std::string& currency = plan.price_per_minute().currency_code();
  if (!KnownCurrency(currency)) {
    return Bad("INVALID_CURRENCY", "rate_plan.price_per_minute.currency_code",
               absl::StrCat("'", currency, "' is not an ISO 4217 currency in use"));
  }
  RETURN_IF_ERROR(CheckPrice(plan.price_per_minute(), currency, "rate_plan.price_per_minute"));
  RETURN_IF_ERROR(CheckPrice(plan.purchase_price_per_minute(), currency,
                             "rate_plan.purchase_price_per_minute"));
  RETURN_IF_ERROR(CheckIncrement(plan.billing_increment(), "rate_plan.billing_increment"));
  RETURN_IF_ERROR(CheckTiers(plan.volume_tiers(), currency, "rate_plan.volume_tiers"));
  RETURN_IF_ERROR(CheckCountryRates(plan));
  if (plan.monthly_minutes_limit() < 0 || plan.monthly_minutes_limit() > kMaxMinutesLimit) {
    return Bad("INVALID_MINUTES_LIMIT", "rate_plan.monthly_minutes_limit",
               "from 0 (unlimited) to 1000000000");
  }
  if (plan.usage_warning_percent() < 1 || plan.usage_warning_percent() > 99) {
    return Bad("INVALID_WARNING_PERCENT", "rate_plan.usage_warning_percent", "from 1 to 99");
  }
  return api::TimeZone(plan.time_zone(), "rate_plan.time_zone").status();
}

absl::StatusOr<v1::RatePlan> Update(v1::RatePlan stored, const v1::UpdateRatePlanRequest& req) {
  if (req.update_mask().paths().empty()) {
    return core::InvalidArgument(api::kInvalidUpdateMask,
                                 "update_mask names the fields to change, e.g. price_per_minute",
                                 {{"path", ""}});
  }
  const v1::RatePlan& given = req.rate_plan();
  const google::protobuf::Descriptor* d = v1::RatePlan::descriptor();
  const google::protobuf::Reflection* r = v1::RatePlan::GetReflection();
  for (const std::string& path : req.update_mask().paths()) {
    const google::protobuf::FieldDescriptor* field = d->FindFieldByName(path);
    if (field == nullptr || path == "update_time") {
      return core::InvalidArgument(api::kInvalidUpdateMask,
                                   absl::StrCat("unknown update_mask path: ", path),
                                   {{"path", path}});
    }
    r->ClearField(&stored, field);
    if (field->is_repeated() ? r->FieldSize(given, field) > 0 : r->HasField(given, field)) {
      // Copy one field: through a message holding only it.
      v1::RatePlan only;
      only.CopyFrom(given);
      for (int i = 0; i < d->field_count(); ++i) {
        if (d->field(i) != field) r->ClearField(&only, d->field(i));
      }
      stored.MergeFrom(only);
    }
  }
  RETURN_IF_ERROR(Validate(Effective(stored)));
  return stored;
}

absl::TimeZone ZoneOf(const v1::RatePlan& plan) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(plan.time_zone(), &zone)) return absl::UTCTimeZone();
  return zone;
}

}  // namespace switchboard::billing::rules
