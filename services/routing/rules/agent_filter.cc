#include "services/routing/rules/agent_filter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/api/filter.h"

namespace switchboard::routing::rules {
namespace {

namespace filter = api::filter;

enum class Field { kAvailability, kTeam };

constexpr filter::EnumValues kAvailabilities = {&v1::Availability_descriptor, "AVAILABILITY_",
                                                "AVAILABLE, BUSY, COOLDOWN, DND or OFFLINE"};

constexpr filter::FieldSpec<Field> kFields[] = {
    {"availability", Field::kAvailability, filter::ValueKind::kEnum, &kAvailabilities},
    {"team_id", Field::kTeam, filter::ValueKind::kString},
};

}  // namespace

bool AgentFilter::Admits(v1::Availability a) const {
  if (availability.has_value() && *availability != a) return false;
  return !std::binary_search(not_availability.begin(), not_availability.end(), a);
}

std::string AgentFilter::Canonical() const {
  std::vector<std::string> terms;
  if (availability.has_value()) terms.push_back(absl::StrCat("availability=", *availability));
  for (v1::Availability a : not_availability) terms.push_back(absl::StrCat("availability!=", a));
  if (!team_id.empty()) terms.push_back(absl::StrCat("team_id=", team_id.size(), ":", team_id));
  return absl::StrJoin(terms, ";");
}

absl::StatusOr<AgentFilter> ParseAgentFilter(absl::string_view text) {
  AgentFilter out;
  filter::Reader reader(text);
  filter::EqualFields<Field> equal;
  RETURN_IF_ERROR(reader.Terms([&]() -> absl::Status {
    ASSIGN_OR_RETURN(filter::Comparison<Field> c,
                     reader.ReadField<Field>(kFields, "availability or team_id"));
    RETURN_IF_ERROR(reader.ReadOperatorAndValue(c));
    if (c.op == filter::Op::kEq && !equal.Add(c.spec->field)) {
      return filter::Error(c.field_position,
                           absl::StrCat(c.spec->name, " is compared with = once at most"));
    }
    switch (c.spec->field) {
      case Field::kAvailability: {
        const auto value = static_cast<v1::Availability>(c.number);
        if (c.op == filter::Op::kEq) {
          out.availability = value;
        } else {
          out.not_availability.push_back(value);
        }
        break;
      }
      case Field::kTeam:
        out.team_id = c.text;
        break;
    }
    return absl::OkStatus();
  }));
  std::sort(out.not_availability.begin(), out.not_availability.end());
  out.not_availability.erase(std::unique(out.not_availability.begin(), out.not_availability.end()),
                             out.not_availability.end());
  return out;
}

}  // namespace switchboard::routing::rules
