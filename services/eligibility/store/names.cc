#include "services/eligibility/store/names.h"

#include <cstddef>
#include <utility>

namespace switchboard::eligibility::store {
namespace {

template <typename E>
using Names = std::pair<E, const char*>;

constexpr Names<rules::Permission> kPermissions[] = {{rules::Permission::kNone, "NONE"},
                                                     {rules::Permission::kTemporary, "TEMPORARY"},
                                                     {rules::Permission::kPermanent, "PERMANENT"}};

constexpr Names<rules::Quality> kQualities[] = {{rules::Quality::kGreen, "GREEN"},
                                                {rules::Quality::kYellow, "YELLOW"},
                                                {rules::Quality::kRed, "RED"}};

constexpr Names<rules::AgentState> kAgentStates[] = {{rules::AgentState::kAvailable, "AVAILABLE"},
                                                     {rules::AgentState::kBusy, "BUSY"},
                                                     {rules::AgentState::kCooldown, "COOLDOWN"},
                                                     {rules::AgentState::kDnd, "DND"},
                                                     {rules::AgentState::kOffline, "OFFLINE"}};

template <typename E, size_t N>
const char* NameIn(const Names<E> (&names)[N], E value, const char* otherwise) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return otherwise;
}

template <typename E, size_t N>
E ParseIn(const Names<E> (&names)[N], absl::string_view s, E otherwise) {
  for (const auto& [v, name] : names) {
    if (s == name) return v;
  }
  return otherwise;
}

}  // namespace

const char* PermissionName(rules::Permission p) { return NameIn(kPermissions, p, "NONE"); }
rules::Permission ParsePermission(absl::string_view s) {
  return ParseIn(kPermissions, s, rules::Permission::kNone);
}
const char* QualityName(rules::Quality q) { return NameIn(kQualities, q, ""); }
rules::Quality ParseQuality(absl::string_view s) {
  return ParseIn(kQualities, s, rules::Quality::kUnknown);
}
const char* AgentName(rules::AgentState a) { return NameIn(kAgentStates, a, ""); }
rules::AgentState ParseAgent(absl::string_view s) {
  return ParseIn(kAgentStates, s, rules::AgentState::kUnknown);
}

}  // namespace switchboard::eligibility::store
