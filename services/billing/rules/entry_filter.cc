#include "services/billing/rules/entry_filter.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/api/filter.h"
#include "services/billing/rules/months.h"

namespace switchboard::billing::rules {
namespace {

namespace filter = api::filter;

enum class Field { kMonth, kKind, kCallId, kCreateTime };

constexpr filter::EnumValues kKinds = {&v1::UsageEntryKind_descriptor, "USAGE_ENTRY_KIND_",
                                       "CALL, PURCHASE, ADJUSTMENT or REVERSAL"};

constexpr filter::FieldSpec<Field> kFields[] = {
    {"month", Field::kMonth, filter::ValueKind::kString},
    {"kind", Field::kKind, filter::ValueKind::kEnum, &kKinds},
    {"call_id", Field::kCallId, filter::ValueKind::kString},
    {"create_time", Field::kCreateTime, filter::ValueKind::kTime},
};

}  // namespace

std::string EntryFilter::Canonical() const {
  std::vector<std::string> terms;
  if (!month.empty()) terms.push_back(absl::StrCat("month=", month));
  if (kind != v1::USAGE_ENTRY_KIND_UNSPECIFIED) terms.push_back(absl::StrCat("kind=", kind));
  if (!call_id.empty()) terms.push_back(absl::StrCat("call_id=", call_id.size(), ":", call_id));
  if (created_from) terms.push_back(absl::StrCat("from=", absl::ToUnixMicros(*created_from)));
  if (created_until) terms.push_back(absl::StrCat("until=", absl::ToUnixMicros(*created_until)));
  return absl::StrJoin(terms, ";");
}

absl::StatusOr<EntryFilter> ParseEntryFilter(absl::string_view text) {
  EntryFilter out;
  std::optional<filter::TimeBound> after, before;
  filter::Reader reader(text);
  filter::EqualFields<Field> equal;
  RETURN_IF_ERROR(reader.Terms([&]() -> absl::Status {
    ASSIGN_OR_RETURN(filter::Comparison<Field> c,
                     reader.ReadField<Field>(kFields, "month, kind, call_id or create_time"));
    RETURN_IF_ERROR(reader.ReadOperatorAndValue(c));
    if (c.op == filter::Op::kEq && !equal.Add(c.spec->field)) {
      return filter::Error(c.field_position,
                           absl::StrCat(c.spec->name, " is compared with = once at most"));
    }
    switch (c.spec->field) {
      case Field::kMonth:
        if (!ParseMonth(c.text, absl::UTCTimeZone()).ok()) {
          return filter::Error(c.field_position, "month is YYYY-MM, e.g. \"2026-11\"");
        }
        out.month = c.text;
        break;
      case Field::kKind:
        out.kind = static_cast<v1::UsageEntryKind>(c.number);
        break;
      case Field::kCallId:
        out.call_id = c.text;
        break;
      case Field::kCreateTime:
        filter::Narrow(c.op, c.time, after, before);
        break;
    }
    return absl::OkStatus();
  }));
  if (after) out.created_from = absl::FromUnixMicros(filter::FirstAdmitted(*after));
  if (before) out.created_until = absl::FromUnixMicros(filter::FirstExcluded(*before));
  return out;
}

}  // namespace switchboard::billing::rules
