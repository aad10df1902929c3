#include "services/eligibility/store/hot_state.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"
#include "services/eligibility/store/names.h"

namespace switchboard::eligibility::store {
namespace {

// Re-checks both sliding windows and takes a token only when both have room, so a call denied
// by one window never counts against the other. A granted request id is remembered for a day.
const redis::Script kReserve(R"lua(
local prior = redis.call('GET', KEYS[2])
if prior then return {2, prior} end
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600000)
local minute = redis.call('ZCOUNT', KEYS[1], '(' .. (now - 60000), '+inf')
local hour = redis.call('ZCARD', KEYS[1])
local denied = {}
if tonumber(ARGV[2]) > 0 and minute >= tonumber(ARGV[2]) then denied[#denied + 1] = 'RATE_LIMIT_MINUTE' end
if tonumber(ARGV[3]) > 0 and hour >= tonumber(ARGV[3]) then denied[#denied + 1] = 'RATE_LIMIT_HOUR' end
if #denied > 0 then return {0, table.concat(denied, ',')} end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], 3600000)
redis.call('SET', KEYS[2], ARGV[4], 'EX', 86400)
return {1, ARGV[4]}
)lua");

// Adds a missed call once and forgets those older than any suspension could need.
const redis::Script kMissed(R"lua(
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return redis.call('ZCARD', KEYS[1])
)lua");

// Writes the given hash fields only if ARGV[1] (a version) is newer than the stored one.
const redis::Script kSetIfNewer(R"lua(
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
if tonumber(ARGV[1]) <= current then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], unpack(ARGV, 2))
return 1
)lua");

// The number's calling restriction (ARGV[2] type, "" for none; ARGV[3] until in ms, "" for
// good), only when `at` (ARGV[1], ms) is not older than the stored one's.
const redis::Script kSetRestrictionIfNewer(R"lua(
local current = tonumber(redis.call('HGET', KEYS[1], 'restriction_at') or '-1')
if tonumber(ARGV[1]) < current then return 0 end
redis.call('HSET', KEYS[1], 'restriction_type', ARGV[2], 'restricted_until', ARGV[3],
           'restriction_at', ARGV[1])
return 1
)lua");

// The number's quality, only when `at` (ARGV[1], ms) is not older than the stored one's.
const redis::Script kSetQualityIfNewer(R"lua(
local current = tonumber(redis.call('HGET', KEYS[1], 'quality_at') or '-1')
if tonumber(ARGV[1]) < current then return 0 end
redis.call('HSET', KEYS[1], 'quality', ARGV[2], 'quality_at', ARGV[1])
return 1
)lua");

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

std::string OptMs(const std::optional<absl::Time>& t) {
  return t.has_value() ? absl::StrCat(Ms(*t)) : "";
}

std::optional<absl::Time> ParseOptMs(absl::string_view s) {
  int64_t ms;
  if (s.empty() || !absl::SimpleAtoi(s, &ms)) return std::nullopt;
  return absl::FromUnixMillis(ms);
}

int ParseInt(absl::string_view s) {
  int v = 0;
  (void)absl::SimpleAtoi(s, &v);
  return v;
}

std::vector<absl::Time> Times(const redis::Reply& withscores) {
  std::vector<absl::Time> out;
  for (size_t i = 1; i < withscores.elements.size(); i += 2) {
    double score = 0;
    if (absl::SimpleAtod(withscores.elements[i].str, &score)) {
      out.push_back(absl::FromUnixMillis(static_cast<int64_t>(score)));
    }
  }
  return out;
}

// A contact's times as fields of its Redis hash: milliseconds since the epoch, "" when unset.
constexpr std::pair<const char*, std::optional<absl::Time> rules::ContactFacts::*> kContactTimes[] =
    {{"last_in", &rules::ContactFacts::last_inbound_message},
     {"opted_out", &rules::ContactFacts::opted_out},
     {"declined", &rules::ContactFacts::declined},
     {"call_req", &rules::ContactFacts::call_requested},
     {"offer_made", &rules::ContactFacts::offer_made},
     {"offer_ok", &rules::ContactFacts::offer_accepted},
     {"ltc", &rules::ContactFacts::long_term_consent},
     {"perm_exp", &rules::ContactFacts::permission_expires},
     {"perm_at", &rules::ContactFacts::permission_changed}};

rules::ContactFacts ParseContact(const redis::Reply& hash) {
  rules::ContactFacts c;
  for (size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& f = hash.elements[i].str;
    const std::string& v = hash.elements[i + 1].str;
    for (const auto& [field, time] : kContactTimes) {
      if (f == field) c.*time = ParseOptMs(v);
    }
    if (f == "perm") {
      c.permission = ParsePermission(v);
    } else if (f == "perm_rev") {
      c.permission_revoked = v == "1";
    } else if (f == "unanswered") {
      c.consecutive_unanswered = ParseInt(v);
    } else if (f == "automation") {
      c.automation_state = v;
    }
  }
  return c;
}

}  // namespace

absl::StatusOr<HotRead> HotState::Read(const NumberKeys& keys, absl::string_view tenant,
                                       absl::string_view contact_key, absl::string_view agent_id,
                                       absl::Time now, const rules::Policy& policy,
                                       absl::string_view request_id) {
  absl::Duration missed_horizon = policy.missed_call_window + policy.suspension_duration;
  std::vector<std::vector<std::string>> cmds = {
      {"HGETALL", keys.Contact(contact_key)},
      // Only the newest `limit` calls of the hour matter: with that many in a window it is full,
      // and the oldest of them says when it has room again.
      {"ZREVRANGEBYSCORE", keys.calls, "+inf", absl::StrCat("(", Ms(now - absl::Hours(1))),
       "WITHSCORES", "LIMIT", "0",
       absl::StrCat(std::max(1, std::max(policy.calls_per_minute, policy.calls_per_hour)))},
      {"ZRANGEBYSCORE", keys.missed, absl::StrCat("(", Ms(now - missed_horizon)), "+inf",
       "WITHSCORES"},
      {"HMGET", keys.number, "quality", "restriction_type", "restricted_until"},
      {"HMGET", UsageKey(tenant), "used", "limit", "resets"},
  };
  cmds.push_back({"ZCOUNT", keys.Connected(contact_key),
                  absl::StrCat("(", Ms(now - absl::Hours(24))), "+inf"});
  const size_t agent_at = cmds.size();
  if (!agent_id.empty()) cmds.push_back({"HGET", AgentKey(tenant, agent_id), "state"});
  const size_t grant_at = cmds.size();
  if (!request_id.empty()) cmds.push_back({"GET", keys.Request(request_id)});
  ASSIGN_OR_RETURN(std::vector<redis::Reply> r, redis_.Pipeline(cmds));
  for (const auto& reply : r) {
    if (reply.type == redis::Reply::Type::kError) {
      return core::Error(absl::StatusCode::kInternal, "REDIS_COMMAND_ERROR", reply.str);
    }
  }
  HotRead out;
  if (!r[0].elements.empty()) out.contact = ParseContact(r[0]);
  out.counters.recent_calls = Times(r[1]);
  out.counters.missed_calls = Times(r[2]);
  const auto& number = r[3].elements;
  if (number.size() == 3) {
    out.quality = ParseQuality(number[0].str);
    if (!number[1].is_nil() && !number[1].str.empty()) {
      out.restriction =
          rules::CallingRestriction{.type = number[1].str, .until = ParseOptMs(number[2].str)};
    }
  }
  const auto& usage = r[4].elements;
  if (usage.size() == 3 && !usage[0].is_nil() && !usage[1].is_nil()) {
    out.usage.known = true;
    (void)absl::SimpleAtoi(usage[0].str, &out.usage.minutes_used);
    (void)absl::SimpleAtoi(usage[1].str, &out.usage.minutes_limit);
    out.usage.resets = ParseOptMs(usage[2].str);
  }
  // Connected calls belong to the contact's facts, cached or not: they are counted fresh.
  int connected_24h = static_cast<int>(r[5].integer);
  if (out.contact.has_value()) out.contact->connected_calls_24h = connected_24h;
  out.connected_calls_24h = connected_24h;
  if (!agent_id.empty()) out.agent = ParseAgent(r[agent_at].str);
  if (!request_id.empty() && !r[grant_at].is_nil()) out.prior_grant = r[grant_at].str;
  return out;
}

absl::StatusOr<Reservation> HotState::Reserve(const NumberKeys& keys, absl::string_view request_id,
                                              absl::string_view reservation_id, absl::Time now,
                                              const rules::Policy& policy) {
  ASSIGN_OR_RETURN(
      redis::Reply r,
      kReserve.Run(redis_, {keys.calls, keys.Request(request_id)},
                   {absl::StrCat(Ms(now)), absl::StrCat(policy.calls_per_minute),
                    absl::StrCat(policy.calls_per_hour), std::string(reservation_id)}));
  if (r.elements.size() != 2) {
    return core::Error(absl::StatusCode::kInternal, "REDIS_COMMAND_ERROR",
                       "unexpected reply from the reserve script");
  }
  Reservation out;
  int64_t outcome = r.elements[0].integer;
  if (outcome == 0) {
    for (absl::string_view code : absl::StrSplit(r.elements[1].str, ',')) {
      out.denied.emplace_back(code);
    }
    return out;
  }
  out.granted = true;
  out.duplicate = outcome == 2;
  out.reservation_id = r.elements[1].str;
  return out;
}

absl::Status HotState::RecordConnectedCall(const NumberKeys& keys, absl::string_view contact_key,
                                           absl::string_view call_id, absl::Time when) {
  std::string key = keys.Connected(contact_key);
  return redis_
      .Pipeline({{"ZADD", key, "NX", absl::StrCat(Ms(when)), std::string(call_id)},
                 {"ZREMRANGEBYSCORE", key, "-inf", absl::StrCat(Ms(when - absl::Hours(24)))},
                 {"PEXPIRE", key, absl::StrCat(absl::ToInt64Milliseconds(absl::Hours(24)))}})
      .status();
}

absl::StatusOr<std::vector<absl::Time>> HotState::MissedCalls(const NumberKeys& keys,
                                                              absl::Time now,
                                                              const rules::Policy& policy) {
  absl::Duration horizon = policy.missed_call_window + policy.suspension_duration;
  ASSIGN_OR_RETURN(redis::Reply r,
                   redis_.Command({"ZRANGEBYSCORE", keys.missed,
                                   absl::StrCat("(", Ms(now - horizon)), "+inf", "WITHSCORES"}));
  return Times(r);
}

absl::Status HotState::RecordMissedCall(const NumberKeys& keys, absl::string_view call_id,
                                        absl::Time when, const rules::Policy& policy) {
  absl::Duration keep = policy.missed_call_window + policy.suspension_duration;
  return kMissed
      .Run(redis_, {keys.missed},
           {absl::StrCat(Ms(when)), std::string(call_id), absl::StrCat(Ms(when - keep)),
            absl::StrCat(absl::ToInt64Milliseconds(keep))})
      .status();
}

absl::Status HotState::CacheContact(const NumberKeys& keys, absl::string_view contact_key,
                                    const rules::ContactFacts& c) {
  std::string key = keys.Contact(contact_key);
  std::vector<std::string> hset = {"HSET",       key,
                                   "v",          "1",
                                   "perm",       PermissionName(c.permission),
                                   "perm_rev",   c.permission_revoked ? "1" : "0",
                                   "unanswered", absl::StrCat(c.consecutive_unanswered),
                                   "automation", c.automation_state};
  for (const auto& [field, time] : kContactTimes) {
    hset.push_back(field);
    hset.push_back(OptMs(c.*time));
  }
  return redis_
      .Pipeline(
          {std::move(hset), {"PEXPIRE", key, absl::StrCat(absl::ToInt64Milliseconds(kContactTtl))}})
      .status();
}

absl::Status HotState::InvalidateContact(const NumberKeys& keys, absl::string_view contact_key) {
  return redis_.Command({"DEL", keys.Contact(contact_key)}).status();
}

absl::StatusOr<bool> HotState::SetQuality(const NumberKeys& keys, rules::Quality quality,
                                          absl::Time at) {
  ASSIGN_OR_RETURN(
      redis::Reply r,
      kSetQualityIfNewer.Run(redis_, {keys.number}, {absl::StrCat(Ms(at)), QualityName(quality)}));
  return r.integer == 1;
}

absl::StatusOr<bool> HotState::SetRestriction(
    const NumberKeys& keys, const std::optional<rules::CallingRestriction>& restriction,
    absl::Time at) {
  ASSIGN_OR_RETURN(redis::Reply r, kSetRestrictionIfNewer.Run(
                                       redis_, {keys.number},
                                       {absl::StrCat(Ms(at)), restriction ? restriction->type : "",
                                        restriction ? OptMs(restriction->until) : ""}));
  return r.integer == 1;
}

absl::StatusOr<bool> HotState::SetUsage(absl::string_view tenant, const rules::Usage& usage,
                                        int64_t version) {
  ASSIGN_OR_RETURN(
      redis::Reply r,
      kSetIfNewer.Run(redis_, {UsageKey(tenant)},
                      {absl::StrCat(version), "used", absl::StrCat(usage.minutes_used), "limit",
                       absl::StrCat(usage.minutes_limit), "resets", OptMs(usage.resets)}));
  return r.integer == 1;
}

absl::StatusOr<bool> HotState::SetAgent(absl::string_view tenant, absl::string_view agent_id,
                                        rules::AgentState state, int64_t version) {
  ASSIGN_OR_RETURN(redis::Reply r,
                   kSetIfNewer.Run(redis_, {AgentKey(tenant, agent_id)},
                                   {absl::StrCat(version), "state", AgentName(state)}));
  return r.integer == 1;
}

}  // namespace switchboard::eligibility::store
