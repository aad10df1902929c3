#include "tools/meta-sim/permissions.h"

#include "absl/strings/str_cat.h"

namespace switchboard::metasim {
namespace {

constexpr absl::Duration kDay = absl::Hours(24);
constexpr absl::Duration kWeek = absl::Hours(24 * 7);

whatsapp::MetaError Error(int code, std::string message, std::string details) {
  return {.code = code, .message = std::move(message), .details = std::move(details)};
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// Meta's words for a rolling limit reached: "At most <limit> <what>; <next> allowed at <frees>".
std::string AtMost(int64_t limit, absl::string_view what, absl::string_view next,
                   absl::Time frees) {
  return absl::StrCat("At most ", limit, " ", what, "; ", next, " allowed at ", Rfc3339(frees));
}

}  // namespace

PermissionBook::Entry& PermissionBook::At(const std::string& number, const std::string& user,
                                          absl::Time now) {
  Entry& e = entries_[{number, user}];
  if (e.permission == Permission::kTemporary && now >= e.expires) {
    e.permission = Permission::kNone;
    e.expires = absl::InfiniteFuture();
  }
  while (!e.requests.empty() && e.requests.front() <= now - kWeek) e.requests.pop_front();
  while (!e.connected.empty() && e.connected.front() <= now - kDay) e.connected.pop_front();
  return e;
}

int64_t PermissionBook::CountSince(const std::deque<absl::Time>& times, absl::Time since) {
  int64_t n = 0;
  for (absl::Time t : times) n += t > since ? 1 : 0;
  return n;
}

absl::Time PermissionBook::WindowFreesAt(const std::deque<absl::Time>& times, absl::Time now,
                                         absl::Duration window) {
  for (absl::Time t : times) {
    if (t > now - window) return t + window;
  }
  return now;
}

Permission PermissionBook::Current(const std::string& number, const std::string& user,
                                   absl::Time now) {
  return At(number, user, now).permission;
}

std::optional<absl::Time> PermissionBook::ExpirationTime(const std::string& number,
                                                         const std::string& user, absl::Time now) {
  Entry& e = At(number, user, now);
  if (e.permission != Permission::kTemporary) return std::nullopt;
  return e.expires;
}

std::optional<whatsapp::MetaError> PermissionBook::CheckRequest(const std::string& number,
                                                                const std::string& user,
                                                                absl::Time now) {
  Entry& e = At(number, user, now);
  const struct {
    absl::Duration window;
    int64_t limit;
    const char* what;
  } limits[] = {{kDay, rules_.requests_per_day, "call permission request(s) per 24 hours"},
                {kWeek, rules_.requests_per_week, "call permission requests per 7 days"}};
  for (const auto& l : limits) {
    if (CountSince(e.requests, now - l.window) >= l.limit) {
      return Error(whatsapp::kMetaPermissionRequestLimit, "Call permission request limit reached",
                   AtMost(l.limit, l.what, "next", WindowFreesAt(e.requests, now, l.window)));
    }
  }
  return std::nullopt;
}

void PermissionBook::RecordRequest(const std::string& number, const std::string& user,
                                   absl::Time now) {
  At(number, user, now).requests.push_back(now);
}

std::optional<absl::Time> PermissionBook::Grant(const std::string& number, const std::string& user,
                                                bool permanent, absl::Time now) {
  Entry& e = At(number, user, now);
  if (permanent) {
    e.permission = Permission::kPermanent;
    e.expires = absl::InfiniteFuture();
    return std::nullopt;
  }
  // A temporary grant never downgrades a permanent one.
  if (e.permission == Permission::kPermanent) return std::nullopt;
  e.permission = Permission::kTemporary;
  e.expires = now + rules_.temporary_validity;
  e.unanswered = 0;
  return e.expires;
}

void PermissionBook::Revoke(const std::string& number, const std::string& user) {
  Entry& e = entries_[{number, user}];
  e.permission = Permission::kNone;
  e.expires = absl::InfiniteFuture();
  e.unanswered = 0;
}

std::optional<whatsapp::MetaError> PermissionBook::CheckCall(const std::string& number,
                                                             const std::string& user,
                                                             absl::Time now) {
  Entry& e = At(number, user, now);
  if (e.permission == Permission::kNone) {
    return Error(whatsapp::kMetaNoCallPermission, "Call permission not granted",
                 "The user has not granted the business permission to call them");
  }
  if (static_cast<int64_t>(e.connected.size()) >= rules_.connected_calls_per_day) {
    return Error(whatsapp::kMetaBusinessCallLimit, "Business-initiated call limit reached",
                 AtMost(rules_.connected_calls_per_day, "connected calls to this user per 24 hours",
                        "next call", WindowFreesAt(e.connected, now, kDay)));
  }
  return std::nullopt;
}

void PermissionBook::RecordConnected(const std::string& number, const std::string& user,
                                     absl::Time now) {
  Entry& e = At(number, user, now);
  e.connected.push_back(now);
  e.requests.clear();
  e.unanswered = 0;
}

bool PermissionBook::RecordUnanswered(const std::string& number, const std::string& user) {
  Entry& e = entries_[{number, user}];
  if (++e.unanswered < rules_.unanswered_to_revoke) return false;
  bool had = e.permission != Permission::kNone;
  Revoke(number, user);
  return had;
}

int PermissionBook::UnansweredStreak(const std::string& number, const std::string& user) {
  return entries_[{number, user}].unanswered;
}

PermissionView PermissionBook::View(const std::string& number, const std::string& user,
                                    absl::Time now) {
  Entry& e = At(number, user, now);
  PermissionView view{.status = e.permission};
  if (e.permission == Permission::kTemporary) view.expiration_time = e.expires;

  auto limit = [&](const char* period, int64_t max, const std::deque<absl::Time>& times,
                   absl::Duration window) {
    PermissionLimitView l{.time_period = period,
                          .max_allowed = max,
                          .current_usage = CountSince(times, now - window)};
    if (l.current_usage >= max) l.limit_expiration_time = WindowFreesAt(times, now, window);
    return l;
  };
  PermissionActionView request{.action_name = "send_call_permission_request"};
  request.limits.push_back(limit("PT24H", rules_.requests_per_day, e.requests, kDay));
  request.limits.push_back(limit("P7D", rules_.requests_per_week, e.requests, kWeek));
  request.can_perform_action = e.permission != Permission::kPermanent &&
                               request.limits[0].current_usage < rules_.requests_per_day &&
                               request.limits[1].current_usage < rules_.requests_per_week;
  PermissionActionView call{.action_name = "start_call"};
  call.limits.push_back(limit("PT24H", rules_.connected_calls_per_day, e.connected, kDay));
  call.can_perform_action = e.permission != Permission::kNone &&
                            call.limits[0].current_usage < rules_.connected_calls_per_day;
  view.actions = {std::move(request), std::move(call)};
  return view;
}

}  // namespace switchboard::metasim
