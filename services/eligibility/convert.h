// Values crossing eligibility's edges that more than one feature handles: times from requests
// and into responses, and Meta's quality rating as the rules see it.
//
//   ASSIGN_OR_RETURN(absl::Time at, RequestTime(req.offer_time(), req.has_offer_time(), now,
//                                               "offer_time"));
//   std::optional<rules::Quality> q = QualityOf(update.quality_rating());
#pragma once

#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"
#include "libs/api/validate.h"
#include "services/eligibility/rules/eligibility.h"

namespace switchboard::eligibility {

// Times further in the future than this are not believed.
inline constexpr absl::Duration kMaxSkew = absl::Minutes(5);

// At nanosecond precision (core::ToProto keeps PostgreSQL's microseconds).
inline void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  *out = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

// A time from the request, or `now` when unset; absurd values are refused.
inline absl::StatusOr<absl::Time> RequestTime(const google::protobuf::Timestamp& t, bool is_set,
                                              absl::Time now, absl::string_view field) {
  if (!is_set) return now;
  return api::PastTime(t, now, field, kMaxSkew);
}

// A QualityRating of eligibility's API or of webhooks' events (both name Meta's values the same
// way); nullopt for UNSPECIFIED and values the rules do not know.
template <typename Rating>
std::optional<rules::Quality> QualityOf(Rating rating) {
  constexpr std::pair<Rating, rules::Quality> kQualities[] = {
      {Rating::QUALITY_RATING_GREEN, rules::Quality::kGreen},
      {Rating::QUALITY_RATING_YELLOW, rules::Quality::kYellow},
      {Rating::QUALITY_RATING_RED, rules::Quality::kRed}};
  for (const auto& [r, quality] : kQualities) {
    if (r == rating) return quality;
  }
  return std::nullopt;
}

}  // namespace switchboard::eligibility
