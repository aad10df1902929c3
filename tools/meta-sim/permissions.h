// Meta's call-permission rules, per business number and user, as the simulator enforces them
// (WHATSAPP_CLOUD_API.md "Call permissions"). Pure: no I/O, "now" is passed in, not
// thread-safe (the simulator holds its lock around it).
//
//   metasim::PermissionBook book(rules);
//   if (absl::Status s = book.CheckRequest(number, user, clock.Now()); !s.ok()) ...  // 138009
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "libs/whatsapp/meta_error.h"

namespace switchboard::metasim {

struct PermissionRules {
  absl::Duration temporary_validity = absl::Hours(24 * 7);
  int requests_per_day = 1;         // call_permission_request messages per 24 h
  int requests_per_week = 2;        // ... and per 7 days; both reset after a connected call
  int unanswered_to_revoke = 4;     // consecutive unanswered business-initiated calls
  int connected_calls_per_day = 5;  // connected business-initiated calls per user per 24 h
};

enum class Permission { kNone, kTemporary, kPermanent };

struct PermissionLimitView {
  std::string time_period;  // "PT24H", "P7D"
  int64_t max_allowed = 0;
  int64_t current_usage = 0;
  std::optional<absl::Time> limit_expiration_time;  // only when the limit is reached
};

struct PermissionActionView {
  std::string action_name;
  bool can_perform_action = false;
  std::vector<PermissionLimitView> limits;
};

struct PermissionView {
  Permission status = Permission::kNone;
  std::optional<absl::Time> expiration_time;
  std::vector<PermissionActionView> actions;
};

class PermissionBook {
 public:
  explicit PermissionBook(PermissionRules rules) : rules_(rules) {}

  const PermissionRules& rules() const { return rules_; }

  // The permission in force at `now` (a temporary one past its expiry is none).
  Permission Current(const std::string& number, const std::string& user, absl::Time now);
  std::optional<absl::Time> ExpirationTime(const std::string& number, const std::string& user,
                                           absl::Time now);

  // 138009 when another permission request would break the 24 h or 7 d limit.
  std::optional<whatsapp::MetaError> CheckRequest(const std::string& number,
                                                  const std::string& user, absl::Time now);
  void RecordRequest(const std::string& number, const std::string& user, absl::Time now);

  // Returns the expiry of the new permission (none for permanent).
  std::optional<absl::Time> Grant(const std::string& number, const std::string& user,
                                  bool permanent, absl::Time now);
  void Revoke(const std::string& number, const std::string& user);

  // 138006 without a permission in force, 138012 at the daily cap of connected calls.
  std::optional<whatsapp::MetaError> CheckCall(const std::string& number, const std::string& user,
                                               absl::Time now);
  // A business-initiated call was picked up: the request limits and the unanswered streak
  // reset, and it counts toward the daily cap.
  void RecordConnected(const std::string& number, const std::string& user, absl::Time now);
  // A business-initiated call was not picked up. Returns true when this revoked the
  // permission (the streak reached `unanswered_to_revoke`).
  bool RecordUnanswered(const std::string& number, const std::string& user);
  int UnansweredStreak(const std::string& number, const std::string& user);

  // What GET /call_permissions reports.
  PermissionView View(const std::string& number, const std::string& user, absl::Time now);

 private:
  struct Entry {
    Permission permission = Permission::kNone;
    absl::Time expires = absl::InfiniteFuture();
    std::deque<absl::Time> requests;   // since the last connected call
    std::deque<absl::Time> connected;  // connected business-initiated calls
    int unanswered = 0;
  };
  Entry& At(const std::string& number, const std::string& user, absl::Time now);
  static int64_t CountSince(const std::deque<absl::Time>& times, absl::Time since);
  // When the oldest of the events inside the window leaves it.
  static absl::Time WindowFreesAt(const std::deque<absl::Time>& times, absl::Time now,
                                  absl::Duration window);

  PermissionRules rules_;
  std::map<std::pair<std::string, std::string>, Entry> entries_;
};

}  // namespace switchboard::metasim
