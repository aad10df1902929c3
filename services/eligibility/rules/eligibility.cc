#include "services/eligibility/rules/eligibility.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace switchboard::eligibility::rules {
namespace {

bool After(const std::optional<absl::Time>& t, const std::optional<absl::Time>& than) {
  return t.has_value() && (!than.has_value() || *t > *than);
}

// The latest sign that the contact wants calls; it supersedes an earlier opt-out or decline.
std::optional<absl::Time> LatestConsentSign(const ContactFacts& c) {
  std::optional<absl::Time> latest;
  for (const auto& t : {c.call_requested, c.offer_accepted, c.long_term_consent}) {
    if (After(t, latest)) latest = t;
  }
  return latest;
}

bool LongTermConsentValid(const ContactFacts& c, const Policy& p, absl::Time now) {
  return c.long_term_consent.has_value() && now - *c.long_term_consent <= p.long_term_consent;
}

bool PermissionValid(const ContactFacts& c, absl::Time now) {
  if (c.permission_revoked) return false;
  if (c.permission == Permission::kPermanent) return true;
  return c.permission == Permission::kTemporary && c.permission_expires.has_value() &&
         now < *c.permission_expires;
}

const char* AgentStateName(AgentState s) {
  switch (s) {
    case AgentState::kAvailable:
      return "Available";
    case AgentState::kBusy:
      return "Busy";
    case AgentState::kCooldown:
      return "in Cooldown";
    case AgentState::kDnd:
      return "on Do Not Disturb";
    case AgentState::kOffline:
      return "Offline";
    case AgentState::kUnknown:
      break;
  }
  return "unknown";
}

// Within a sliding window holding `in_window` (sorted) calls, when the count drops below
// `limit` again: when the (count - limit + 1)-th oldest leaves.
std::optional<absl::Time> ClearsWhenBelow(const std::vector<absl::Time>& in_window, int limit,
                                          absl::Duration window) {
  int count = static_cast<int>(in_window.size());
  if (count < limit || limit <= 0) return std::nullopt;
  return in_window[count - limit] + window;
}

std::vector<absl::Time> InWindow(const std::vector<absl::Time>& times, absl::Duration window,
                                 absl::Time now) {
  std::vector<absl::Time> in;
  for (absl::Time t : times) {
    if (t > now - window && t <= now) in.push_back(t);
  }
  std::sort(in.begin(), in.end());
  return in;
}

class Collector {
 public:
  explicit Collector(Decision& d) : d_(d) {}
  Reason& Block(std::string code, std::string message) {
    d_.blocking.push_back({std::move(code), std::move(message), std::nullopt, {}});
    return d_.blocking.back();
  }
  Reason& Warn(std::string code, std::string message) {
    d_.warnings.push_back({std::move(code), std::move(message), std::nullopt, {}});
    return d_.warnings.back();
  }

 private:
  Decision& d_;
};

void ConsentRules(const Request& request, const ContactFacts& c, const Policy& p, absl::Time now,
                  Collector& out) {
  std::optional<absl::Time> consent_sign = LatestConsentSign(c);
  if (c.opted_out.has_value() && !After(consent_sign, c.opted_out)) {
    out.Block("OPTED_OUT", "The contact asked not to be called.");
  }
  if (c.declined.has_value() && !After(consent_sign, c.declined)) {
    out.Block("DECLINED_PREVIOUSLY", "The contact declined a call; wait until they ask for one.");
  }

  bool explicit_consent = LongTermConsentValid(c, p, now) || PermissionValid(c, now);
  if (!c.last_inbound_message.has_value()) {
    out.Block("NO_CONVERSATION_HISTORY",
              "There is no conversation with this contact on this number yet.");
  } else if (now - *c.last_inbound_message > p.service_window && !explicit_consent) {
    out.Block("OUTSIDE_SERVICE_WINDOW", absl::StrCat("The contact's last message is more than ",
                                                     absl::ToInt64Hours(p.service_window),
                                                     " hours old and there is no consent to call."))
        .metadata["last_inbound_time"] = absl::FormatTime(*c.last_inbound_message);
  }

  switch (request.kind) {
    case CallKind::kUserRequested: {
      bool fresh_request =
          c.call_requested.has_value() && now - *c.call_requested <= p.call_request_validity;
      if (!fresh_request && !PermissionValid(c, now)) {
        out.Block("NO_CALL_REQUEST", c.call_requested.has_value()
                                         ? "The contact's call request has expired."
                                         : "The contact has not asked to be called.");
      }
      break;
    }
    case CallKind::kAgentOffered: {
      bool answered = c.offer_accepted.has_value() &&
                      (!c.offer_made.has_value() || *c.offer_accepted >= *c.offer_made);
      if (!answered) {
        out.Block("CONSENT_NOT_AFFIRMATIVE", "The contact has not said yes to the offered call.");
      } else if (now - *c.offer_accepted > p.agent_offer_consent) {
        out.Block("CONSENT_EXPIRED", "The contact's yes to the offered call has expired.")
            .metadata["expired_time"] = absl::FormatTime(*c.offer_accepted + p.agent_offer_consent);
      }
      break;
    }
    case CallKind::kLongTermConsent: {
      if (!c.long_term_consent.has_value()) {
        out.Block("CONSENT_NOT_AFFIRMATIVE", "The contact has not given long-term consent.");
      } else if (!LongTermConsentValid(c, p, now)) {
        out.Block("CONSENT_EXPIRED", "The contact's long-term consent has expired.")
            .metadata["expired_time"] =
            absl::FormatTime(*c.long_term_consent + p.long_term_consent);
      }
      break;
    }
  }
}

void MetaRules(const ContactFacts& c, const Policy& p, absl::Time now, Collector& out) {
  bool revoked =
      c.permission_revoked || (p.unanswered_calls_revoke_threshold > 0 &&
                               c.consecutive_unanswered >= p.unanswered_calls_revoke_threshold);
  if (revoked) {
    out.Block("CALL_PERMISSION_REVOKED",
              "WhatsApp revoked the call permission after unanswered calls; ask again.");
  } else if (c.permission == Permission::kNone) {
    out.Block("NO_CALL_PERMISSION",
              "The contact has not given WhatsApp call permission; send a permission request.");
  } else if (c.permission == Permission::kTemporary && !PermissionValid(c, now)) {
    out.Block("CALL_PERMISSION_EXPIRED", "The contact's WhatsApp call permission has expired.");
  }
  if (p.daily_connected_calls_per_contact > 0 &&
      c.connected_calls_24h >= p.daily_connected_calls_per_contact) {
    Reason& r = out.Block("DAILY_CALL_CAP_REACHED",
                          "WhatsApp's daily limit of calls to this contact is reached.");
    r.metadata["limit"] = absl::StrCat(p.daily_connected_calls_per_contact);
  }
}

void NumberRules(const Request& request, const Facts& f, const Policy& p, absl::Time now,
                 Collector& out, Decision& d) {
  if (f.restriction.has_value() && (!f.restriction->until || now < *f.restriction->until)) {
    Reason& r =
        out.Block("CALLING_RESTRICTED", "WhatsApp has restricted calls from this business number.");
    r.clears = f.restriction->until;
    r.metadata["restriction_type"] = f.restriction->type;
  }
  if (f.quality == Quality::kRed) {
    out.Block("QUALITY_RED", "This number's quality rating is RED: WhatsApp restricts its calls.");
  } else if (f.quality == Quality::kYellow) {
    out.Warn("QUALITY_YELLOW", "This number's quality rating is YELLOW.");
  }

  if (!f.counters.available) {
    d.degraded = true;
    FailPolicy policy = request.reserve ? p.reserve_fail_policy : p.check_fail_policy;
    std::string message = "Rate limits and suspensions could not be checked just now.";
    if (policy == FailPolicy::kFailClosed) {
      out.Block("CHECK_DEGRADED", message);
    } else {
      out.Warn("CHECK_DEGRADED", message);
    }
    return;
  }
  struct Window {
    const char* code;
    absl::Duration length;
    int limit;
    const char* per;
  };
  for (const Window& w :
       {Window{"RATE_LIMIT_MINUTE", absl::Minutes(1), p.calls_per_minute, "minute"},
        Window{"RATE_LIMIT_HOUR", absl::Hours(1), p.calls_per_hour, "hour"}}) {
    std::vector<absl::Time> in = InWindow(f.counters.recent_calls, w.length, now);
    if (w.limit > 0 && static_cast<int>(in.size()) >= w.limit) {
      Reason& r =
          out.Block(w.code, absl::StrCat("This number made ", in.size(), " calls in the last ",
                                         w.per, " (limit ", w.limit, ")."));
      r.clears = ClearsWhenBelow(in, w.limit, w.length);
      r.metadata["limit"] = absl::StrCat(w.limit);
      r.metadata["used"] = absl::StrCat(in.size());
    }
  }
  if (auto until = SuspendedUntil(f.counters.missed_calls, p, now)) {
    Reason& r = out.Block(
        "SUSPENDED_MISSED_CALLS",
        absl::StrCat("Calling is paused for ", absl::ToInt64Minutes(p.suspension_duration),
                     " minutes after ", p.missed_call_threshold, " missed calls in ",
                     absl::ToInt64Minutes(p.missed_call_window), " minutes."));
    r.clears = until;
  }
}

void TenantRules(const Facts& f, const Policy& p, Collector& out) {
  if (f.usage.known && f.usage.minutes_limit > 0) {
    int64_t used = f.usage.minutes_used;
    int64_t limit = f.usage.minutes_limit;
    if (used >= limit) {
      Reason& r = out.Block("MONTHLY_MINUTES_EXHAUSTED",
                            absl::StrCat("This month's ", limit, " call minutes are used up."));
      r.clears = f.usage.resets;
      r.metadata["used"] = absl::StrCat(used);
      r.metadata["limit"] = absl::StrCat(limit);
    } else if (used * 100 > static_cast<int64_t>(p.usage_warning_percent) * limit) {
      Reason& r = out.Warn(
          "MONTHLY_MINUTES_NEAR_LIMIT",
          absl::StrCat(used * 100 / limit, "% of this month's ", limit, " call minutes are used."));
      r.metadata["used"] = absl::StrCat(used);
      r.metadata["limit"] = absl::StrCat(limit);
    }
  }
  if (f.agent != AgentState::kUnknown && f.agent != AgentState::kAvailable) {
    out.Block("AGENT_NOT_AVAILABLE", absl::StrCat("The calling agent is ", AgentStateName(f.agent),
                                                  "; only Available agents can call."));
  }
}

}  // namespace

bool Decision::Blocks(const std::string& code) const {
  return std::any_of(blocking.begin(), blocking.end(),
                     [&](const Reason& r) { return r.code == code; });
}

bool Decision::Warns(const std::string& code) const {
  return std::any_of(warnings.begin(), warnings.end(),
                     [&](const Reason& r) { return r.code == code; });
}

WindowCount CountInWindow(const std::vector<absl::Time>& times, absl::Duration window,
                          absl::Time now) {
  std::vector<absl::Time> in = InWindow(times, window, now);
  WindowCount c;
  c.count = static_cast<int>(in.size());
  if (!in.empty()) c.oldest_leaves = in.front() + window;
  return c;
}

std::optional<absl::Time> SuspendedUntil(std::vector<absl::Time> missed, const Policy& policy,
                                         absl::Time now) {
  if (policy.missed_call_threshold <= 0) return std::nullopt;
  std::sort(missed.begin(), missed.end());
  std::optional<absl::Time> until;
  size_t first = 0;
  for (size_t i = 0; i < missed.size(); ++i) {
    if (missed[i] > now) break;
    while (missed[first] <= missed[i] - policy.missed_call_window) ++first;
    if (static_cast<int>(i - first + 1) >= policy.missed_call_threshold) {
      until = missed[i] + policy.suspension_duration;
    }
  }
  if (until.has_value() && now < *until) return until;
  return std::nullopt;
}

Decision Evaluate(const Request& request, const Facts& facts, const Policy& policy,
                  absl::Time now) {
  Decision d;
  Collector out(d);
  ConsentRules(request, facts.contact, policy, now, out);
  MetaRules(facts.contact, policy, now, out);
  if (!facts.contact.automation_state.empty() &&
      policy.blocking_automation_states.count(facts.contact.automation_state) > 0) {
    out.Block("AUTOMATION_BLOCKED", absl::StrCat("An automation (", facts.contact.automation_state,
                                                 ") is handling this conversation."));
  }
  TenantRules(facts, policy, out);
  NumberRules(request, facts, policy, now, out, d);
  return d;
}

}  // namespace switchboard::eligibility::rules
