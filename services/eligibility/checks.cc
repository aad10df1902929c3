#include "services/eligibility/checks.h"

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "services/eligibility/convert.h"

namespace switchboard::eligibility {
namespace {

constexpr std::pair<v1::CallKind, rules::CallKind> kCallKinds[] = {
    {v1::CALL_KIND_USER_REQUESTED, rules::CallKind::kUserRequested},
    {v1::CALL_KIND_AGENT_OFFERED, rules::CallKind::kAgentOffered},
    {v1::CALL_KIND_LONG_TERM_CONSENT, rules::CallKind::kLongTermConsent}};

absl::StatusOr<rules::CallKind> Kind(v1::CallKind k) {
  RETURN_IF_ERROR(api::RequireEnum(k, v1::CallKind_descriptor(), "call_kind"));
  for (const auto& [api_kind, kind] : kCallKinds) {
    if (api_kind == k) return kind;
  }
  return api::Missing("call_kind");
}

void ReasonToProto(const rules::Reason& r, v1::Reason* out) {
  out->set_code(r.code);
  out->set_message(r.message);
  if (r.clears.has_value()) ToProto(*r.clears, out->mutable_clears_time());
  for (const auto& [k, v] : r.metadata) (*out->mutable_metadata())[k] = v;
}

template <typename Response>
void Fill(const rules::Decision& d, Response* resp) {
  for (const auto& r : d.blocking) ReasonToProto(r, resp->add_blocking_reasons());
  for (const auto& r : d.warnings) ReasonToProto(r, resp->add_warnings());
  resp->set_degraded(d.degraded);
}

// A stored grant is "<reservation id>|<request fingerprint>" (older grants: the id alone).
absl::StatusOr<std::string> PriorGrant(absl::string_view stored, absl::string_view fingerprint) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(stored, absl::MaxSplits('|', 1));
  if (!parts.second.empty() && parts.second != fingerprint) {
    return core::InvalidArgument(api::kRequestIdReused,
                                 "this request_id was already used for a reservation with other "
                                 "values; use a new request_id for a new request");
  }
  return std::string(parts.first);
}

}  // namespace

Checks::Checks(Contacts& contacts, Settings& settings, store::HotState& hot,
               store::Durable& durable, const core::Clock& clock, Probe* probe)
    : contacts_(contacts),
      settings_(settings),
      hot_(hot),
      durable_(durable),
      clock_(clock),
      probe_(probe) {}

absl::Status Checks::Check(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                           const v1::CheckEligibilityRequest& req,
                           v1::CheckEligibilityResponse* resp, bool may_block, bool* blocks) {
  ASSIGN_OR_RETURN(rules::CallKind kind, Kind(req.call_kind()));
  ASSIGN_OR_RETURN(
      Target t, contacts_.Resolve(caller.tenant_id, req.contact(), req.business_phone_number_id()));
  RETURN_IF_ERROR(api::OptionalId(req.agent_id(), "agent_id"));
  // Only the tenant's own numbers: from memory when known, else asked where it may block.
  std::optional<absl::Status> owned =
      contacts_.numbers().Known(caller.tenant_id, req.business_phone_number_id());
  if (!owned.has_value()) {
    if (!may_block) {
      *blocks = true;
      return absl::OkStatus();  // not answered: the caller runs it again where it may block
    }
    owned = contacts_.numbers().Check(ctx, caller.tenant_id, req.business_phone_number_id());
  }
  RETURN_IF_ERROR(*owned);
  absl::Time now = clock_.Now();
  // The cached settings are immutable: use them in place, no copy per call.
  std::shared_ptr<const TenantSettings> settings =
      may_block ? settings_.For(caller.tenant_id) : settings_.Cached(caller.tenant_id, now);
  std::optional<rules::Facts> facts;
  if (settings != nullptr) facts = CachedFacts(t, req.agent_id(), now);
  if (!facts.has_value()) {
    if (!may_block) {
      *blocks = true;
      return absl::OkStatus();  // not answered: the caller runs it again where it may block
    }
    ASSIGN_OR_RETURN(facts, FreshFacts(t, req.agent_id(), now, settings->rules));
  }
  const rules::Policy& policy = settings->rules;
  rules::Decision d = rules::Evaluate({.kind = kind, .reserve = false}, *facts, policy, now);
  resp->set_eligible(d.eligible());
  Fill(d, resp);
  if (probe_ != nullptr) probe_->Decision("CheckEligibility", d);
  return absl::OkStatus();
}

absl::Status Checks::Reserve(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                             const v1::ReserveCallRequest& req, v1::ReserveCallResponse* resp) {
  ASSIGN_OR_RETURN(rules::CallKind kind, Kind(req.call_kind()));
  ASSIGN_OR_RETURN(Target t, contacts_.ResolveOwned(ctx, caller.tenant_id, req.contact(),
                                                    req.business_phone_number_id()));
  if (req.request_id().empty()) {
    return api::Missing("request_id",
                        "request_id is required: a retry must not take a second "
                        "token");
  }
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  RETURN_IF_ERROR(api::OptionalId(req.agent_id(), "agent_id"));
  RETURN_IF_ERROR(api::OptionalId(req.call_id(), "call_id"));
  absl::Time now = clock_.Now();
  // The cached settings are immutable: use them in place, no copy per call.
  std::shared_ptr<const TenantSettings> settings = settings_.For(caller.tenant_id);
  const rules::Policy& policy = settings->rules;
  std::optional<std::string> prior;
  ASSIGN_OR_RETURN(rules::Facts facts,
                   Gather(t, req.agent_id(), now, policy, req.request_id(), &prior));
  // A retry gets its first grant back before anything is re-evaluated: the grant itself may
  // have filled the window it would now be checked against. The grant carries a fingerprint
  // of the request, so the same request_id with another request is refused.
  const std::string fingerprint =
      absl::BytesToHexString(pg::KeyOf(caller.tenant_id, req).fingerprint);
  if (prior.has_value()) {
    ASSIGN_OR_RETURN(std::string reservation, PriorGrant(*prior, fingerprint));
    resp->set_granted(true);
    resp->set_reservation_id(reservation);
    return absl::OkStatus();
  }
  rules::Decision d = rules::Evaluate({.kind = kind, .reserve = true}, facts, policy, now);
  if (d.eligible() && facts.counters.available) {
    // The rules saw the windows a moment ago; the script re-checks and takes atomically.
    absl::StatusOr<store::Reservation> r = hot_.Reserve(
        t.keys, req.request_id(), absl::StrCat(core::NewId(clock_), "|", fingerprint), now, policy);
    contacts_.Wrote();  // the number's windows changed
    if (!r.ok()) {
      d.degraded = true;
      rules::Reason degraded{
          "CHECK_DEGRADED", "Rate limits could not be checked just now.", {}, {}};
      if (policy.reserve_fail_policy == rules::FailPolicy::kFailClosed) {
        d.blocking.push_back(std::move(degraded));
      } else {
        d.warnings.push_back(std::move(degraded));
      }
    } else if (r->granted) {
      ASSIGN_OR_RETURN(std::string reservation, PriorGrant(r->reservation_id, fingerprint));
      resp->set_granted(true);
      resp->set_reservation_id(reservation);
    } else {
      for (const auto& code : r->denied) {
        d.blocking.push_back({code, "This number reached its call rate limit.", {}, {}});
      }
    }
  }
  if (!resp->granted() && d.eligible()) {
    // Only a fail-open tenant with Redis unavailable gets here: granted without a token.
    resp->set_granted(true);
    resp->set_reservation_id(core::NewId(clock_));
  }
  Fill(d, resp);
  if (probe_ != nullptr) probe_->Decision("ReserveCall", d);
  return absl::OkStatus();
}

absl::StatusOr<rules::Facts> Checks::Gather(const Target& t, absl::string_view agent_id,
                                            absl::Time now, const rules::Policy& policy,
                                            absl::string_view request_id,
                                            std::optional<std::string>* prior_grant) {
  rules::Facts facts;
  absl::StatusOr<store::HotRead> hot =
      hot_.Read(t.keys, t.contact.tenant, t.contact.contact_key, agent_id, now, policy, request_id);
  std::optional<rules::ContactFacts> contact;
  if (hot.ok()) {
    if (prior_grant != nullptr) *prior_grant = hot->prior_grant;
    contact = hot->contact;
    facts.counters = std::move(hot->counters);
    facts.quality = hot->quality;
    facts.restriction = hot->restriction;
    facts.usage = hot->usage;
    facts.agent = hot->agent;
  } else {
    // The check goes on without the counters: degraded, as the tenant's fail policy says.
    facts.counters.available = false;
    log::Warning("eligibility facts from redis unavailable",
                 {{"error", std::string(hot.status().message())}});
  }
  if (!contact.has_value()) {
    ASSIGN_OR_RETURN(std::optional<rules::ContactFacts> durable, durable_.Load(t.contact));
    contact = durable.value_or(rules::ContactFacts());
    if (hot.ok()) contact->connected_calls_24h = hot->connected_calls_24h;
    if (hot.ok() && durable.has_value()) {
      (void)hot_.CacheContact(t.keys, t.contact.contact_key, *contact);  // best effort
    }
  }
  facts.contact = std::move(*contact);
  return facts;
}

std::string Checks::FactsKey(const Target& t, absl::string_view agent_id) {
  return absl::StrCat(t.contact.tenant, "|", t.contact.business_number, "|", t.contact.contact_key,
                      "|", agent_id);
}

std::optional<rules::Facts> Checks::CachedFacts(const Target& t, absl::string_view agent_id,
                                                absl::Time now) {
  std::string key = FactsKey(t, agent_id);
  Shard& shard = cache_[absl::HashOf(key) % kShards];
  const uint64_t generation = contacts_.generation();
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.entries.find(key);
  if (it != shard.entries.end() && it->second.generation == generation &&
      now < it->second.expires && now >= it->second.read) {
    return it->second.facts;
  }
  return std::nullopt;
}

absl::StatusOr<rules::Facts> Checks::FreshFacts(const Target& t, absl::string_view agent_id,
                                                absl::Time now, const rules::Policy& policy) {
  // Taken before reading, so facts read before a write are never taken as newer than it.
  const uint64_t generation = contacts_.generation();
  ASSIGN_OR_RETURN(rules::Facts facts, Gather(t, agent_id, now, policy));
  if (!facts.counters.available) return facts;  // degraded: not worth keeping
  std::string key = FactsKey(t, agent_id);
  // Each entry lives between half and all of the TTL, so entries filled together (a burst of
  // renders, a restart) do not all expire, and go back to Redis, in the same instant.
  absl::Duration ttl = kFactsTtl / 2 + kFactsTtl / 2 * (absl::HashOf(key, now) % 1024) / 1024;
  Shard& shard = cache_[absl::HashOf(key) % kShards];
  absl::MutexLock lock(&shard.mu);
  if (shard.entries.size() >= kPerShard) shard.entries.clear();  // bounded, crudely
  shard.entries[key] = {facts, now, now + ttl, generation};
  return facts;
}

}  // namespace switchboard::eligibility
