#include "services/calls/rules/query.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "google/protobuf/descriptor.h"
#include "libs/api/filter.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"

namespace switchboard::calls::query {
namespace {

using api::filter::Comparison;
using api::filter::EnumValues;
using api::filter::EqualFields;
using api::filter::FieldSpec;
using api::filter::FirstAdmitted;
using api::filter::FirstExcluded;
using api::filter::Narrow;
using api::filter::Op;
using api::filter::Token;
using api::filter::TokenKind;
using api::filter::ValueKind;
using FilterReader = api::filter::Reader;

absl::Status FilterError(size_t position, absl::string_view message) {
  return api::filter::Error(position, message);
}

template <typename T>
void SortUnique(std::vector<T>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

void Normalize(Filter& f) {
  SortUnique(f.directions);
  SortUnique(f.not_directions);
  SortUnique(f.states);
  SortUnique(f.not_states);
  SortUnique(f.business_phone_number_ids);
  SortUnique(f.agent_ids);
  SortUnique(f.contact_wa_ids);
}

// ---- text helpers ------------------------------------------------------------------------------

std::string DigitsOf(absl::string_view text) {
  std::string digits;
  for (char c : text) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  return digits;
}

// ---- filter: ListCalls' grammar ----------------------------------------------------------------

enum class Field { kDirection, kState, kOfferedTime, kBusinessNumber, kAgent, kContactWaId };

constexpr EnumValues kDirections = {&v1::CallDirection_descriptor, "CALL_DIRECTION_",
                                    "INBOUND or OUTBOUND"};
constexpr EnumValues kStates = {&v1::CallState_descriptor, "CALL_STATE_",
                                "OFFERED, RINGING, ANSWERED, ENDED, MISSED, REJECTED or FAILED"};

constexpr FieldSpec<Field> kFields[] = {
    {"direction", Field::kDirection, ValueKind::kEnum, &kDirections},
    {"state", Field::kState, ValueKind::kEnum, &kStates},
    {"offered_time", Field::kOfferedTime, ValueKind::kTime},
    {"business_phone_number_id", Field::kBusinessNumber, ValueKind::kString},
    {"answered_by_agent_id", Field::kAgent, ValueKind::kString},
    {"contact.wa_id", Field::kContactWaId, ValueKind::kString},
};

constexpr absl::string_view kFieldList =
    "direction, state, offered_time, business_phone_number_id, answered_by_agent_id or "
    "contact.wa_id";

class Parser {
 public:
  Parser(absl::string_view text, TimeTerms time_terms) : reader_(text), time_terms_(time_terms) {}

  absl::StatusOr<Filter> Run() {
    RETURN_IF_ERROR(reader_.Terms([this] { return Term(); }));
    Normalize(filter_);
    return filter_;
  }

 private:
  absl::Status Term() {
    std::vector<Comparison<Field>> group;
    if (reader_.Peek().kind != TokenKind::kOpen) {
      ASSIGN_OR_RETURN(Comparison<Field> c, Compare());
      group.push_back(std::move(c));
    } else {
      reader_.Skip();
      ASSIGN_OR_RETURN(Comparison<Field> first, Compare());
      group.push_back(std::move(first));
      while (reader_.PeekWord("OR")) {
        reader_.Skip();
        ASSIGN_OR_RETURN(Comparison<Field> next, Compare());
        group.push_back(std::move(next));
      }
      // An OR of different fields or of "!=" cannot be expressed as one list per field.
      if (group.size() > 1) {
        for (const Comparison<Field>& c : group) {
          if (c.spec->field != group.front().spec->field) {
            return FilterError(c.field_position,
                               absl::StrCat("every comparison inside an OR group must name the "
                                            "same field (",
                                            group.front().spec->name, ")"));
          }
          if (c.op != Op::kEq) {
            return FilterError(c.op_position, "comparisons inside an OR group must use =");
          }
        }
      }
      const Token& close = reader_.Peek();
      if (close.kind == TokenKind::kError) return FilterError(close.position, close.text);
      if (close.kind != TokenKind::kClose) {
        return FilterError(close.position, "expected OR or )");
      }
      reader_.Skip();
    }
    return Apply(group);
  }

  absl::StatusOr<Comparison<Field>> Compare() {
    ASSIGN_OR_RETURN(Comparison<Field> c, reader_.ReadField<Field>(kFields, kFieldList));
    if (c.spec->field == Field::kOfferedTime && time_terms_ == TimeTerms::kRefused) {
      return FilterError(c.field_position,
                         "offered_time is not allowed here: this method takes the time range "
                         "in start_time and end_time");
    }
    RETURN_IF_ERROR(reader_.ReadOperatorAndValue(c));
    return c;
  }

  absl::Status Apply(const std::vector<Comparison<Field>>& group) {
    const Comparison<Field>& head = group.front();
    // One "=" term per field keeps every field's condition a single OR list.
    if (head.op == Op::kEq && !equal_fields_.Add(head.spec->field)) {
      const absl::string_view name = head.spec->name;
      return FilterError(head.field_position, absl::StrCat(name, " = appears in two terms; write (",
                                                           name, " = a OR ", name, " = b)"));
    }
    for (const Comparison<Field>& c : group) {
      const bool eq = c.op == Op::kEq;
      switch (c.spec->field) {
        case Field::kDirection:
          (eq ? filter_.directions : filter_.not_directions)
              .push_back(static_cast<v1::CallDirection>(c.number));
          break;
        case Field::kState:
          (eq ? filter_.states : filter_.not_states)
              .push_back(static_cast<v1::CallState>(c.number));
          break;
        case Field::kOfferedTime:
          Narrow(c.op, c.time, filter_.offered_after, filter_.offered_before);
          break;
        case Field::kBusinessNumber:
          filter_.business_phone_number_ids.push_back(c.text);
          break;
        case Field::kAgent:
          filter_.agent_ids.push_back(c.text);
          break;
        case Field::kContactWaId:
          filter_.contact_wa_ids.push_back(c.text);
          break;
      }
    }
    return absl::OkStatus();
  }

  FilterReader reader_;
  TimeTerms time_terms_;
  Filter filter_;
  EqualFields<Field> equal_fields_;
};

// ---- filter: ListCallbacks' grammar ------------------------------------------------------------

enum class CallbackField { kState, kAssignedAgent, kContactWaId, kDueTime };

constexpr EnumValues kCallbackStates = {&v1::CallbackState_descriptor, "CALLBACK_STATE_",
                                        "PENDING, DUE, COMPLETED or CANCELED"};

constexpr FieldSpec<CallbackField> kCallbackFields[] = {
    {"state", CallbackField::kState, ValueKind::kEnum, &kCallbackStates},
    {"assigned_agent_id", CallbackField::kAssignedAgent, ValueKind::kString},
    {"contact.wa_id", CallbackField::kContactWaId, ValueKind::kString},
    {"due_time", CallbackField::kDueTime, ValueKind::kTime},
};

constexpr absl::string_view kCallbackFieldList =
    "state, assigned_agent_id, contact.wa_id or due_time";

// filter := comparison ( "AND" comparison )*. Every field holds one value per callback, so
// "=" appears once per field and there is no OR to write.
class CallbackParser {
 public:
  explicit CallbackParser(absl::string_view text) : reader_(text) {}

  absl::StatusOr<CallbackFilter> Run() {
    RETURN_IF_ERROR(reader_.Terms([this] { return Term(); }));
    SortUnique(filter_.not_states);
    return filter_;
  }

 private:
  absl::Status Term() {
    RETURN_IF_ERROR(RefuseGroup());
    ASSIGN_OR_RETURN(Comparison<CallbackField> c,
                     reader_.ReadField<CallbackField>(kCallbackFields, kCallbackFieldList));
    RETURN_IF_ERROR(reader_.ReadOperatorAndValue(c));
    RETURN_IF_ERROR(Apply(c));
    // Said here rather than as "expected AND", since the ListCalls filter does have them.
    return RefuseGroup();
  }

  absl::Status RefuseGroup() const {
    const Token& next = reader_.Peek();
    if (next.kind == TokenKind::kOpen || next.kind == TokenKind::kClose) {
      return FilterError(next.position,
                         "parentheses are not allowed here: this filter is comparisons joined "
                         "by AND");
    }
    if (reader_.PeekWord("OR")) {
      return FilterError(next.position,
                         "OR is not allowed here: this filter is comparisons joined by AND");
    }
    return absl::OkStatus();
  }

  absl::Status Apply(const Comparison<CallbackField>& c) {
    if (c.op == Op::kEq && !equal_fields_.Add(c.spec->field)) {
      return FilterError(c.field_position,
                         absl::StrCat(c.spec->name, " = may appear only once in this filter"));
    }
    switch (c.spec->field) {
      case CallbackField::kState:
        (c.op == Op::kEq ? filter_.states : filter_.not_states)
            .push_back(static_cast<v1::CallbackState>(c.number));
        break;
      case CallbackField::kAssignedAgent:
        filter_.assigned_agent_id = c.text;
        break;
      case CallbackField::kContactWaId:
        filter_.contact_wa_id = c.text;
        break;
      case CallbackField::kDueTime:
        Narrow(c.op, c.time, filter_.due_after, filter_.due_before);
        break;
    }
    return absl::OkStatus();
  }

  FilterReader reader_;
  CallbackFilter filter_;
  EqualFields<CallbackField> equal_fields_;
};

// ---- canonical form ----------------------------------------------------------------------------

template <typename Enum>
void AppendEnums(absl::string_view label, std::vector<Enum> values,
                 const std::string& (*name)(Enum), std::string* out) {
  if (values.empty()) return;
  SortUnique(values);
  absl::StrAppend(out, label, "=");
  for (size_t i = 0; i < values.size(); ++i) {
    // A value outside the enum (a hand-built Filter) has no name; its number keeps it distinct.
    const std::string& text = name(values[i]);
    absl::StrAppend(out, i ? "," : "", text.empty() ? absl::StrCat(values[i]) : text);
  }
  absl::StrAppend(out, ";");
}

void AppendStrings(absl::string_view label, std::vector<std::string> values, std::string* out) {
  if (values.empty()) return;
  SortUnique(values);
  absl::StrAppend(out, label, "=");
  for (size_t i = 0; i < values.size(); ++i) {
    // CEscape leaves no '"' or newline unescaped, so the quoting cannot be confused.
    absl::StrAppend(out, i ? "," : "", "\"", absl::CEscape(values[i]), "\"");
  }
  absl::StrAppend(out, ";");
}

// ---- folding -----------------------------------------------------------------------------------

struct Normalizers {
  const icu::Normalizer2* nfkc_casefold;
  const icu::Normalizer2* nfd;
  const icu::Normalizer2* nfc;
};

const Normalizers& GetNormalizers() {
  static const Normalizers normalizers = [] {
    UErrorCode status = U_ZERO_ERROR;
    Normalizers n{icu::Normalizer2::getNFKCCasefoldInstance(status),
                  icu::Normalizer2::getNFDInstance(status),
                  icu::Normalizer2::getNFCInstance(status)};
    if (U_FAILURE(status)) {
      // The data is compiled into libicudata; without it the install is broken.
      std::fprintf(stderr, "calls query: ICU normalizers unavailable: %s\n", u_errorName(status));
      std::abort();
    }
    return n;
  }();
  return normalizers;
}

bool IsNumberQuery(absl::string_view query) {
  bool digit = false;
  for (char c : query) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (!absl::ascii_isspace(static_cast<unsigned char>(c)) && c != '+' && c != '-' &&
               c != '(' && c != ')' && c != '.') {
      return false;
    }
  }
  return digit;
}

// ---- periods -----------------------------------------------------------------------------------

constexpr int kMaxBuckets = 1000;
constexpr int kMaxCustomDays = 400;

// The local hour boundary at or before `t`, found by subtracting the local minutes and
// seconds, so that in a repeated hour (DST ending) it is the boundary of the hour `t` is in,
// not the first one with the same wall-clock reading.
absl::Time HourFloor(absl::Time t, const absl::TimeZone& zone) {
  absl::TimeZone::CivilInfo info = zone.At(t);
  return t - absl::Minutes(info.cs.minute()) - absl::Seconds(info.cs.second()) - info.subsecond;
}

absl::Time Midnight(absl::CivilDay day, const absl::TimeZone& zone) {
  // For a skipped midnight (DST starting at 00:00) FromCivil gives the transition instant,
  // which is when that day begins.
  return absl::FromCivil(day, zone);
}

// The first boundary of `granularity` after `t`.
absl::Time NextBoundary(absl::Time t, v1::TimeGranularity granularity, const absl::TimeZone& zone) {
  switch (granularity) {
    case v1::TIME_GRANULARITY_HOUR:
      return HourFloor(t, zone) + absl::Hours(1);
    case v1::TIME_GRANULARITY_DAY:
      return Midnight(absl::ToCivilDay(t, zone) + 1, zone);
    case v1::TIME_GRANULARITY_WEEK: {
      absl::CivilDay day = absl::ToCivilDay(t, zone);
      // Days from `day` to the next Monday, 1..7.
      const int ahead =
          7 - (static_cast<int>(absl::GetWeekday(day)) - static_cast<int>(absl::Weekday::monday));
      return Midnight(day + ahead, zone);
    }
    default:
      return absl::FromCivil(absl::ToCivilMonth(t, zone) + 1, zone);
  }
}

}  // namespace

// ---- filter ------------------------------------------------------------------------------------

std::string Filter::Canonical() const {
  std::string out;
  AppendEnums("direction", directions, &v1::CallDirection_Name<v1::CallDirection>, &out);
  AppendEnums("direction!", not_directions, &v1::CallDirection_Name<v1::CallDirection>, &out);
  AppendEnums("state", states, &v1::CallState_Name<v1::CallState>, &out);
  AppendEnums("state!", not_states, &v1::CallState_Name<v1::CallState>, &out);
  if (offered_after) absl::StrAppend(&out, "offered>=", FirstAdmitted(*offered_after), ";");
  if (offered_before) absl::StrAppend(&out, "offered<", FirstExcluded(*offered_before), ";");
  AppendStrings("business_phone_number_id", business_phone_number_ids, &out);
  AppendStrings("answered_by_agent_id", agent_ids, &out);
  AppendStrings("contact.wa_id", contact_wa_ids, &out);
  return out;
}

std::string CallbackFilter::Canonical() const {
  std::string out;
  AppendEnums("state", states, &v1::CallbackState_Name<v1::CallbackState>, &out);
  AppendEnums("state!", not_states, &v1::CallbackState_Name<v1::CallbackState>, &out);
  if (!assigned_agent_id.empty()) AppendStrings("assigned_agent_id", {assigned_agent_id}, &out);
  if (!contact_wa_id.empty()) AppendStrings("contact.wa_id", {contact_wa_id}, &out);
  if (due_after) absl::StrAppend(&out, "due>=", FirstAdmitted(*due_after), ";");
  if (due_before) absl::StrAppend(&out, "due<", FirstExcluded(*due_before), ";");
  return out;
}

absl::StatusOr<Filter> ParseFilter(absl::string_view text, TimeTerms time_terms) {
  if (absl::StripAsciiWhitespace(text).empty()) return Filter{};
  return Parser(text, time_terms).Run();
}

absl::StatusOr<CallbackFilter> ParseCallbackFilter(absl::string_view text) {
  if (absl::StripAsciiWhitespace(text).empty()) return CallbackFilter{};
  return CallbackParser(text).Run();
}

// ---- contact search ----------------------------------------------------------------------------

std::string Fold(absl::string_view text) {
  const Normalizers& n = GetNormalizers();
  UErrorCode status = U_ZERO_ERROR;
  // Ill-formed bytes become U+FFFD, a symbol, hence a space below.
  icu::UnicodeString raw = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  // Case and compatibility forms (full-width, ligatures, "ß" -> "ss") folded together; then
  // decomposed so accents are separate marks.
  icu::UnicodeString decomposed = n.nfd->normalize(n.nfkc_casefold->normalize(raw, status), status);
  if (U_FAILURE(status)) return "";

  enum class Base { kNone, kLatin, kOther };
  Base base = Base::kNone;
  icu::UnicodeString kept;
  for (int32_t i = 0; i < decomposed.length();) {
    const UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    const uint32_t category = U_MASK(u_charType(c));
    if (category & U_GC_L_MASK) {
      UErrorCode script_status = U_ZERO_ERROR;
      base = uscript_getScript(c, &script_status) == USCRIPT_LATIN ? Base::kLatin : Base::kOther;
      kept.append(c);
    } else if (category & U_GC_M_MASK) {
      // Latin accents are noise for search; other scripts' marks (Devanagari vowel signs) are
      // part of the word.
      if (base == Base::kOther) kept.append(c);
    } else if (category & U_GC_N_MASK) {
      base = Base::kNone;
      kept.append(c);
    } else {
      base = Base::kNone;
      kept.append(u' ');
    }
  }
  icu::UnicodeString composed = n.nfc->normalize(kept, status);
  if (U_FAILURE(status)) return "";
  std::string utf8;
  composed.toUTF8String(utf8);
  std::vector<absl::string_view> words = absl::StrSplit(utf8, ' ', absl::SkipEmpty());
  return absl::StrJoin(words, " ");
}

std::string SearchKey(const events::v1::ContactRef& contact) {
  std::vector<std::string> parts;
  if (std::string name = Fold(contact.display_name()); !name.empty()) {
    parts.push_back(std::move(name));
  }
  std::string wa_digits = DigitsOf(contact.wa_id());
  std::string phone_digits = DigitsOf(contact.phone_e164());
  if (!wa_digits.empty()) parts.push_back(wa_digits);
  if (!phone_digits.empty() && phone_digits != wa_digits) parts.push_back(phone_digits);
  // Folded like the needle, which is always folded text or digits: a raw "US.1234" could never
  // contain either.
  if (std::string user = Fold(contact.user_id()); !user.empty()) parts.push_back(std::move(user));
  return absl::StrJoin(parts, " ");
}

absl::StatusOr<std::string> NormalizeQuery(absl::string_view query) {
  if (query.size() > 100) {
    return core::InvalidArgument("INVALID_QUERY", "query is longer than 100 bytes",
                                 {{"max_bytes", "100"}});
  }
  if (!api::IsValidUtf8(query, /*allow_controls=*/true)) {
    return core::InvalidArgument("INVALID_QUERY", "query is not valid UTF-8");
  }
  if (IsNumberQuery(query)) return DigitsOf(query);
  return Fold(query);
}

// ---- keyset pages ------------------------------------------------------------------------------

std::string Fingerprint(const Filter& filter, absl::string_view needle) {
  // Length-prefixed so that no filter/needle pair can produce another pair's text.
  std::string canonical = filter.Canonical();
  return absl::StrCat(canonical.size(), ":", canonical, needle);
}

// ---- time ranges -------------------------------------------------------------------------------

std::pair<absl::Time, absl::Time> MonthOf(absl::Time now, const absl::TimeZone& zone) {
  absl::CivilMonth month = absl::ToCivilMonth(now, zone);
  return {absl::FromCivil(month, zone), absl::FromCivil(month + 1, zone)};
}

absl::StatusOr<Period> ResolvePeriod(v1::AnalyticsPeriod period, v1::TimeGranularity granularity,
                                     std::optional<absl::Time> custom_start,
                                     std::optional<absl::Time> custom_end, absl::Time now,
                                     const absl::TimeZone& zone) {
  if (period == v1::ANALYTICS_PERIOD_UNSPECIFIED || !v1::AnalyticsPeriod_IsValid(period)) {
    return core::InvalidArgument("MISSING_PERIOD", "period is required");
  }
  if (!v1::TimeGranularity_IsValid(granularity)) {
    return core::InvalidArgument("INVALID_GRANULARITY", "granularity is not a known value");
  }
  Period out;
  out.granularity = granularity;
  if (granularity == v1::TIME_GRANULARITY_UNSPECIFIED) {
    out.granularity = period == v1::ANALYTICS_PERIOD_LAST_24_HOURS ? v1::TIME_GRANULARITY_HOUR
                                                                   : v1::TIME_GRANULARITY_DAY;
  }

  const absl::CivilDay today = absl::ToCivilDay(now, zone);
  const absl::CivilMonth this_month = absl::ToCivilMonth(now, zone);
  out.end = now;
  switch (period) {
    case v1::ANALYTICS_PERIOD_LAST_24_HOURS:
      out.start = HourFloor(now, zone) - absl::Hours(23);
      break;
    case v1::ANALYTICS_PERIOD_LAST_7_DAYS:
      out.start = Midnight(today - 6, zone);
      break;
    case v1::ANALYTICS_PERIOD_LAST_30_DAYS:
      out.start = Midnight(today - 29, zone);
      break;
    case v1::ANALYTICS_PERIOD_THIS_MONTH:
      out.start = absl::FromCivil(this_month, zone);
      break;
    case v1::ANALYTICS_PERIOD_LAST_MONTH:
      out.start = absl::FromCivil(this_month - 1, zone);
      out.end = absl::FromCivil(this_month, zone);
      break;
    default:  // CUSTOM
      if (!custom_start || !custom_end) {
        return core::InvalidArgument("INVALID_RANGE",
                                     "a custom period needs both start_time and end_time");
      }
      if (*custom_end <= *custom_start) {
        return core::InvalidArgument("INVALID_RANGE", "end_time must be after start_time");
      }
      if (*custom_end - *custom_start > absl::Hours(24 * kMaxCustomDays)) {
        return core::InvalidArgument("RANGE_TOO_LONG", "a custom period spans at most 400 days",
                                     {{"max_days", absl::StrCat(kMaxCustomDays)}});
      }
      out.start = *custom_start;
      out.end = *custom_end;
      break;
  }

  // Bounded by the limit, so a 400-day range in hours stops at 1001 instead of building 9600.
  for (absl::Time t = out.start; t < out.end;) {
    if (static_cast<int>(out.bucket_starts.size()) == kMaxBuckets) {
      return core::InvalidArgument(
          "TOO_MANY_BUCKETS", "the period has more than 1000 buckets; choose a coarser granularity",
          {{"max_buckets", absl::StrCat(kMaxBuckets)}});
    }
    out.bucket_starts.push_back(t);
    if (out.granularity == v1::TIME_GRANULARITY_HOUR && t != out.start) {
      t += absl::Hours(1);  // consecutive absolute hours once on the local boundary
    } else {
      t = NextBoundary(t, out.granularity, zone);
    }
  }
  return out;
}

}  // namespace switchboard::calls::query
