#include "services/eligibility/service.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/time_util.h"
#include "libs/api/page.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "libs/runtime/grpc.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/eligibility/rules/facts.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"

namespace switchboard::eligibility {
namespace {

using google::protobuf::util::TimeUtil;

constexpr api::PageSizes kAuditPages = {.default_size = 50, .max = 200};
// Times further in the future than this are not believed.
constexpr absl::Duration kMaxSkew = absl::Minutes(5);

using core::FromProto;

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  *out = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

absl::Status Invalid(absl::string_view reason, absl::string_view message,
                     const core::ErrorMetadata& md = {}) {
  return core::InvalidArgument(reason, message, md);
}

// A time from the request, or `now` when unset; absurd values are refused.
absl::StatusOr<absl::Time> RequestTime(const google::protobuf::Timestamp& t, bool is_set,
                                       absl::Time now, absl::string_view field) {
  if (!is_set) return now;
  return api::PastTime(t, now, field, kMaxSkew);
}

absl::Status ValidateRequestId(absl::string_view id) { return api::OptionalId(id, "request_id"); }

// The evidence a consent change keeps: its first 1 000 characters, cut at a character boundary.
// Longer evidence is cut, never refused: an opt-out must be recorded whatever came with it.
constexpr int64_t kEvidenceChars = 1000;

absl::StatusOr<rules::CallKind> Kind(v1::CallKind k) {
  RETURN_IF_ERROR(api::RequireEnum(k, v1::CallKind_descriptor(), "call_kind"));
  switch (k) {
    case v1::CALL_KIND_USER_REQUESTED:
      return rules::CallKind::kUserRequested;
    case v1::CALL_KIND_AGENT_OFFERED:
      return rules::CallKind::kAgentOffered;
    case v1::CALL_KIND_LONG_TERM_CONSENT:
      return rules::CallKind::kLongTermConsent;
    default:
      break;
  }
  return api::Missing("call_kind");
}

absl::StatusOr<std::string> Source(v1::ConsentSource s) {
  RETURN_IF_ERROR(api::RequireEnum(s, v1::ConsentSource_descriptor(), "source"));
  return std::string(absl::StripPrefix(v1::ConsentSource_Name(s), "CONSENT_SOURCE_"));
}

void ToProto(const rules::Reason& r, v1::Reason* out) {
  out->set_code(r.code);
  out->set_message(r.message);
  if (r.clears.has_value()) ToProto(*r.clears, out->mutable_clears_time());
  for (const auto& [k, v] : r.metadata) (*out->mutable_metadata())[k] = v;
}

template <typename Response>
void Fill(const rules::Decision& d, Response* resp) {
  for (const auto& r : d.blocking) ToProto(r, resp->add_blocking_reasons());
  for (const auto& r : d.warnings) ToProto(r, resp->add_warnings());
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

void FillEntry(const store::ContactRef& c, const events::v1::ContactRef& contact,
               v1::ConsentAction action, v1::ConsentSource source, absl::string_view actor,
               absl::string_view evidence, absl::Time at, v1::ConsentAuditEntry* e) {
  *e->mutable_contact() = contact;
  e->set_business_phone_number_id(c.business_number);
  e->set_action(action);
  e->set_source(source);
  e->set_actor(std::string(actor));
  e->set_evidence(std::string(evidence));
  ToProto(at, e->mutable_record_time());
}

}  // namespace

struct Service::Metrics {
  prometheus::Family<prometheus::Counter>* denials = nullptr;
  prometheus::Family<prometheus::Counter>* decisions = nullptr;
  absl::Mutex mu;
  absl::flat_hash_map<std::string, prometheus::Counter*> counters ABSL_GUARDED_BY(mu);

  void Count(prometheus::Family<prometheus::Counter>* family, const prometheus::Labels& labels) {
    if (family == nullptr) return;
    std::string key;
    for (const auto& [k, v] : labels) absl::StrAppend(&key, k, "=", v, ",");
    absl::StrAppend(&key, reinterpret_cast<uintptr_t>(family));
    prometheus::Counter* c = nullptr;
    {
      absl::ReaderMutexLock lock(&mu);
      if (auto it = counters.find(key); it != counters.end()) c = it->second;
    }
    if (c == nullptr) {
      absl::MutexLock lock(&mu);
      auto [it, fresh] = counters.try_emplace(key, nullptr);
      if (fresh) it->second = &family->Add(labels);
      c = it->second;
    }
    c->Increment();
  }
};

Service::Service(store::HotState& hot, store::Durable& durable, runtime::Numbers& numbers,
                 const core::Clock& clock, prometheus::Registry* registry)
    : hot_(hot),
      durable_(durable),
      numbers_(numbers),
      clock_(clock),
      metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    metrics_->decisions = &prometheus::BuildCounter()
                               .Name("switchboard_eligibility_decisions_total")
                               .Help("Eligibility answers by method and outcome.")
                               .Register(*registry);
    metrics_->denials = &prometheus::BuildCounter()
                             .Name("switchboard_eligibility_denials_total")
                             .Help("Blocking reasons returned, by method and reason code.")
                             .Register(*registry);
  }
}

Service::~Service() = default;

void Service::CountDecision(const char* method, const rules::Decision& d) {
  metrics_->Count(
      metrics_->decisions,
      {{"method", method},
       {"outcome", d.eligible() ? (d.degraded ? "degraded_allowed" : "allowed") : "blocked"}});
  for (const auto& r : d.blocking) {
    metrics_->Count(metrics_->denials, {{"method", method}, {"reason", r.code}});
  }
}

std::shared_ptr<const TenantSettings> Service::CachedSettingsFor(absl::string_view tenant,
                                                                 absl::Time now) {
  {
    absl::ReaderMutexLock lock(&policy_mu_);
    auto it = policies_.find(tenant);
    if (it == policies_.end()) return nullptr;
    if (now - it->second.loaded < kPolicyCacheTtl || it->second.refreshing) {
      return it->second.settings;
    }
  }
  // Stale: keep answering with it while one refresh runs where it may block (otherwise every
  // check arriving in that moment would read PostgreSQL at once).
  absl::MutexLock lock(&policy_mu_);
  auto it = policies_.find(tenant);
  if (it == policies_.end()) return nullptr;
  if (!it->second.refreshing) {
    it->second.refreshing = true;
    blocking_.Submit([this, name = std::string(tenant)] { (void)SettingsFor(name); });
  }
  return it->second.settings;
}

std::shared_ptr<const TenantSettings> Service::SettingsFor(absl::string_view tenant) {
  absl::Time now = clock_.Now();
  std::shared_ptr<const TenantSettings> stale;
  {
    absl::ReaderMutexLock lock(&policy_mu_);
    auto it = policies_.find(tenant);
    if (it != policies_.end()) {
      if (now - it->second.loaded < kPolicyCacheTtl) return it->second.settings;
      stale = it->second.settings;
    }
  }
  absl::StatusOr<std::string> bytes = durable_.LoadPolicy(tenant);
  v1::TenantPolicy stored;
  absl::StatusOr<TenantSettings> settings =
      bytes.ok() && stored.ParseFromString(*bytes)
          ? Effective(stored)
          : absl::StatusOr<TenantSettings>(bytes.ok() ? absl::DataLossError("unparsable policy")
                                                      : bytes.status());
  if (!settings.ok()) {
    log::Warning("tenant policy unavailable; using the last known or the defaults",
                 {{"tenant", std::string(tenant)}, {"error", settings.status().ToString()}});
    if (stale) {
      absl::MutexLock lock(&policy_mu_);
      if (auto it = policies_.find(tenant); it != policies_.end()) it->second.refreshing = false;
      return stale;
    }
    settings = Effective(v1::TenantPolicy());
  }
  auto shared = std::make_shared<const TenantSettings>(*std::move(settings));
  absl::MutexLock lock(&policy_mu_);
  policies_[tenant] = {shared, now, /*refreshing=*/false};
  return shared;
}

absl::StatusOr<Service::Target> Service::Resolve(absl::string_view tenant,
                                                 const events::v1::ContactRef& contact,
                                                 absl::string_view business_number) const {
  RETURN_IF_ERROR(api::Contact(contact, "contact"));
  RETURN_IF_ERROR(api::RequireId(business_number, "business_phone_number_id"));
  std::string key = api::ContactKey(contact);
  ASSIGN_OR_RETURN(store::NumberKeys keys, store::NumberKeys::For(tenant, business_number));
  return Target{std::move(keys),
                {std::string(tenant), std::string(business_number), std::move(key)}};
}

absl::StatusOr<Service::Target> Service::ResolveOwned(const grpc::ServerContextBase* ctx,
                                                      absl::string_view tenant,
                                                      const events::v1::ContactRef& contact,
                                                      absl::string_view business_number) {
  ASSIGN_OR_RETURN(Target t, Resolve(tenant, contact, business_number));
  RETURN_IF_ERROR(numbers_.Check(ctx, tenant, business_number));
  return t;
}

absl::StatusOr<rules::Facts> Service::Gather(const Target& t, absl::string_view agent_id,
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

std::string Service::FactsKey(const Target& t, absl::string_view agent_id) {
  return absl::StrCat(t.contact.tenant, "|", t.contact.business_number, "|", t.contact.contact_key,
                      "|", agent_id);
}

std::optional<rules::Facts> Service::CachedCheckFacts(const Target& t, absl::string_view agent_id,
                                                      absl::Time now) {
  std::string key = FactsKey(t, agent_id);
  FactsShard& shard = facts_cache_[absl::HashOf(key) % kFactsShards];
  const uint64_t generation = facts_generation_.load(std::memory_order_acquire);
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.entries.find(key);
  if (it != shard.entries.end() && it->second.generation == generation &&
      now < it->second.expires && now >= it->second.read) {
    return it->second.facts;
  }
  return std::nullopt;
}

absl::StatusOr<rules::Facts> Service::FreshCheckFacts(const Target& t, absl::string_view agent_id,
                                                      absl::Time now, const rules::Policy& policy) {
  // Taken before reading, so facts read before a write are never taken as newer than it.
  const uint64_t generation = facts_generation_.load(std::memory_order_acquire);
  ASSIGN_OR_RETURN(rules::Facts facts, Gather(t, agent_id, now, policy));
  if (!facts.counters.available) return facts;  // degraded: not worth keeping
  std::string key = FactsKey(t, agent_id);
  // Each entry lives between half and all of the TTL, so entries filled together (a burst of
  // renders, a restart) do not all expire, and go back to Redis, in the same instant.
  absl::Duration ttl =
      kCheckFactsTtl / 2 + kCheckFactsTtl / 2 * (absl::HashOf(key, now) % 1024) / 1024;
  FactsShard& shard = facts_cache_[absl::HashOf(key) % kFactsShards];
  absl::MutexLock lock(&shard.mu);
  if (shard.entries.size() >= kFactsPerShard) shard.entries.clear();  // bounded, crudely
  shard.entries[key] = {facts, now, now + ttl, generation};
  return facts;
}

absl::StatusOr<store::ApplyResult> Service::Change(const Target& t, store::Change change) {
  absl::StatusOr<store::ApplyResult> applied = durable_.Apply(t.contact, change);
  Wrote();
  ASSIGN_OR_RETURN(store::ApplyResult r, std::move(applied));
  // The durable copy changed: drop the cached one. If Redis is down now, the cached copy's TTL
  // bounds how long it can be stale.
  absl::Status dropped = hot_.InvalidateContact(t.keys, t.contact.contact_key);
  if (!dropped.ok()) {
    log::Warning("could not invalidate cached contact", {{"error", dropped.ToString()}});
  }
  return r;
}

grpc::ServerUnaryReactor* Service::CheckEligibility(grpc::CallbackServerContext* ctx,
                                                    const v1::CheckEligibilityRequest* req,
                                                    v1::CheckEligibilityResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // Answered here when everything it needs is in memory; else on a thread that may block.
  bool blocks = false;
  grpc::Status status = Check(ctx, req, resp, /*may_block=*/false, &blocks);
  if (!blocks) {
    reactor->Finish(status);
  } else {
    blocking_.Submit([this, ctx, req, resp, reactor] {
      reactor->Finish(Check(ctx, req, resp, /*may_block=*/true, nullptr));
    });
  }
  return reactor;
}

grpc::ServerUnaryReactor* Service::ReserveCall(grpc::CallbackServerContext* ctx,
                                               const v1::ReserveCallRequest* req,
                                               v1::ReserveCallResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  blocking_.Submit([this, ctx, req, resp, reactor] { reactor->Finish(Reserve(ctx, req, resp)); });
  return reactor;
}

grpc::Status Service::Check(grpc::ServerContextBase* ctx, const v1::CheckEligibilityRequest* req,
                            v1::CheckEligibilityResponse* resp, bool may_block, bool* blocks) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(rules::CallKind kind, Kind(req->call_kind()));
    ASSIGN_OR_RETURN(Target t,
                     Resolve(caller.tenant_id, req->contact(), req->business_phone_number_id()));
    RETURN_IF_ERROR(api::OptionalId(req->agent_id(), "agent_id"));
    // Only the tenant's own numbers: from memory when known, else asked where it may block.
    std::optional<absl::Status> owned =
        numbers_.Known(caller.tenant_id, req->business_phone_number_id());
    if (!owned.has_value()) {
      if (!may_block) {
        *blocks = true;
        return absl::OkStatus();  // not answered: the caller runs it again where it may block
      }
      owned = numbers_.Check(ctx, caller.tenant_id, req->business_phone_number_id());
    }
    RETURN_IF_ERROR(*owned);
    absl::Time now = clock_.Now();
    // The cached settings are immutable: use them in place, no copy per call.
    std::shared_ptr<const TenantSettings> settings =
        may_block ? SettingsFor(caller.tenant_id) : CachedSettingsFor(caller.tenant_id, now);
    std::optional<rules::Facts> facts;
    if (settings != nullptr) facts = CachedCheckFacts(t, req->agent_id(), now);
    if (!facts.has_value()) {
      if (!may_block) {
        *blocks = true;
        return absl::OkStatus();  // not answered: the caller runs it again where it may block
      }
      ASSIGN_OR_RETURN(facts, FreshCheckFacts(t, req->agent_id(), now, settings->rules));
    }
    const rules::Policy& policy = settings->rules;
    rules::Decision d = rules::Evaluate({.kind = kind, .reserve = false}, *facts, policy, now);
    resp->set_eligible(d.eligible());
    Fill(d, resp);
    CountDecision("CheckEligibility", d);
    return absl::OkStatus();
  });
}

grpc::Status Service::Reserve(grpc::ServerContextBase* ctx, const v1::ReserveCallRequest* req,
                              v1::ReserveCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(rules::CallKind kind, Kind(req->call_kind()));
    ASSIGN_OR_RETURN(Target t, ResolveOwned(ctx, caller.tenant_id, req->contact(),
                                            req->business_phone_number_id()));
    if (req->request_id().empty()) {
      return api::Missing("request_id",
                          "request_id is required: a retry must not take a second "
                          "token");
    }
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    RETURN_IF_ERROR(api::OptionalId(req->agent_id(), "agent_id"));
    RETURN_IF_ERROR(api::OptionalId(req->call_id(), "call_id"));
    absl::Time now = clock_.Now();
    // The cached settings are immutable: use them in place, no copy per call.
    std::shared_ptr<const TenantSettings> settings = SettingsFor(caller.tenant_id);
    const rules::Policy& policy = settings->rules;
    std::optional<std::string> prior;
    ASSIGN_OR_RETURN(rules::Facts facts,
                     Gather(t, req->agent_id(), now, policy, req->request_id(), &prior));
    // A retry gets its first grant back before anything is re-evaluated: the grant itself may
    // have filled the window it would now be checked against. The grant carries a fingerprint
    // of the request, so the same request_id with another request is refused.
    const std::string fingerprint =
        absl::BytesToHexString(pg::KeyOf(caller.tenant_id, *req).fingerprint);
    if (prior.has_value()) {
      ASSIGN_OR_RETURN(std::string reservation, PriorGrant(*prior, fingerprint));
      resp->set_granted(true);
      resp->set_reservation_id(reservation);
      return absl::OkStatus();
    }
    rules::Decision d = rules::Evaluate({.kind = kind, .reserve = true}, facts, policy, now);
    if (d.eligible() && facts.counters.available) {
      // The rules saw the windows a moment ago; the script re-checks and takes atomically.
      absl::StatusOr<store::Reservation> r =
          hot_.Reserve(t.keys, req->request_id(),
                       absl::StrCat(core::NewId(clock_), "|", fingerprint), now, policy);
      Wrote();  // the number's windows changed
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
    CountDecision("ReserveCall", d);
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::MessageSignal> Service::ApplyMessage(const Target& t, absl::string_view text,
                                                        absl::Time at, std::string request_id,
                                                        absl::string_view language,
                                                        absl::string_view actor,
                                                        const pg::RequestKey* key,
                                                        v1::RecordInboundMessageResponse* resp) {
  std::shared_ptr<const TenantSettings> settings = SettingsFor(t.contact.tenant);
  std::vector<std::string> languages = settings->languages;
  if (!language.empty()) languages = {std::string(language)};
  rules::Classification c = settings->classifier->Classify(text, languages);
  rules::Signal kind = c.signal;
  // Replies count only when an offer is pending (rules/facts.h).
  bool applied_signal = false;
  store::Change change{
      .source = "INBOUND_MESSAGE", .actor = std::string(actor), .at = at, .key = key};
  change.apply = [&applied_signal, kind, at](rules::ContactFacts& f) {
    applied_signal = rules::ApplyInboundMessage(f, kind, at);
  };
  v1::MessageSignal signal = v1::MESSAGE_SIGNAL_NONE;
  switch (kind) {
    case rules::Signal::kCallRequest:
      signal = v1::MESSAGE_SIGNAL_CALL_REQUEST;
      change.action = "CALL_REQUESTED";
      break;
    case rules::Signal::kOptOut:
      signal = v1::MESSAGE_SIGNAL_OPT_OUT;
      change.action = "CONSENT_ACTION_OPTED_OUT";
      break;
    case rules::Signal::kAffirmative:
      signal = v1::MESSAGE_SIGNAL_OFFER_ACCEPTED;
      change.action = "CONSENT_ACTION_OFFER_ACCEPTED";
      break;
    case rules::Signal::kDecline:
      signal = v1::MESSAGE_SIGNAL_OFFER_DECLINED;
      change.action = "CONSENT_ACTION_DECLINED";
      break;
    case rules::Signal::kNone:
      break;
  }
  change.audit = signal != v1::MESSAGE_SIGNAL_NONE;
  if (change.audit) {
    // A message with a consent signal is applied (and audited) once, however often it comes.
    change.request_id = api::IsId(request_id) ? std::move(request_id) : "";
    change.detail = absl::StrCat("language=", c.language, " phrase=", c.matched_phrase);
  }
  if (resp != nullptr) {
    change.respond = [resp, &applied_signal, signal] {
      resp->set_signal(applied_signal ? signal : v1::MESSAGE_SIGNAL_NONE);
      return resp->SerializeAsString();
    };
  }
  ASSIGN_OR_RETURN(store::ApplyResult r, Change(t, std::move(change)));
  if (r.earlier.has_value() && resp != nullptr) {
    RETURN_IF_ERROR(pg::Restore(*r.earlier, resp));
    return resp->signal();
  }
  if (r.duplicate || !applied_signal) return v1::MESSAGE_SIGNAL_NONE;
  return signal;
}

grpc::Status Service::RecordInboundMessage(grpc::ServerContext* ctx,
                                           const v1::RecordInboundMessageRequest* req,
                                           v1::RecordInboundMessageResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(Target t, ResolveOwned(ctx, caller.tenant_id, req->contact(),
                                            req->business_phone_number_id()));
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    if (req->meta_message_id().size() > 256) {
      return Invalid("INVALID_MESSAGE_ID", "meta_message_id is too long");
    }
    if (req->text().size() > 64 * 1024) return Invalid("TEXT_TOO_LONG", "text is over 64 KiB");
    absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(absl::Time at, RequestTime(req->message_time(), req->has_message_time(), now,
                                                "message_time"));
    std::string request_id = !req->request_id().empty() ? req->request_id()
                             : !req->meta_message_id().empty()
                                 ? absl::StrCat("msg.", req->meta_message_id())
                                 : "";
    const pg::RequestKey key = pg::KeyOf(caller.tenant_id, *req);
    // The answer is built before the change, so the first one is what a repeat gets back.
    ToProto(at + PolicyFor(caller.tenant_id).service_window,
            resp->mutable_service_window_end_time());
    ASSIGN_OR_RETURN(v1::MessageSignal signal,
                     ApplyMessage(t, req->text(), at, std::move(request_id), req->language_code(),
                                  caller.subject, &key, resp));
    resp->set_signal(signal);
    return absl::OkStatus();
  });
}

absl::Status Service::OnWhatsAppEvent(const webhooks::v1::WhatsAppEvent& e,
                                      const kafka::Message& m) {
  const std::string& tenant = e.header().tenant_id();
  std::string actor = m.event.source.empty() ? "//switchboard/webhooks" : m.event.source;
  switch (e.event_case()) {
    case webhooks::v1::WhatsAppEvent::kInboundMessage: {
      const auto& msg = e.inbound_message();
      ASSIGN_OR_RETURN(Target t, Resolve(tenant, msg.contact(), e.phone_number_id()));
      absl::Time at = msg.has_message_time() ? FromProto(msg.message_time()) : m.event.time;
      return ApplyMessage(t, msg.text(), at, absl::StrCat("ev.", m.event.id), "", actor).status();
    }
    case webhooks::v1::WhatsAppEvent::kCallPermissionReply: {
      const auto& reply = e.call_permission_reply();
      ASSIGN_OR_RETURN(Target t, Resolve(tenant, reply.contact(), e.phone_number_id()));
      absl::Time at = reply.has_message_time() ? FromProto(reply.message_time()) : m.event.time;
      bool accept = reply.response() == webhooks::v1::PERMISSION_RESPONSE_ACCEPT;
      bool automatic = reply.response_source() == webhooks::v1::RESPONSE_SOURCE_AUTOMATIC;
      std::optional<absl::Time> expires;
      if (accept && !reply.is_permanent() && reply.has_expiration_time()) {
        expires = FromProto(reply.expiration_time());
      }
      store::Change change{
          .action = accept ? "CONSENT_ACTION_PERMISSION_GRANTED"
                           : (automatic ? "CONSENT_ACTION_PERMISSION_REVOKED"
                                        : "CONSENT_ACTION_DECLINED"),
          .source = "META_PERMISSION_REPLY",
          .actor = actor,
          .detail = absl::StrCat(accept ? "accept" : "reject", automatic ? " automatic" : "",
                                 reply.is_permanent() ? " permanent" : ""),
          .request_id = absl::StrCat("ev.", m.event.id),
          .at = at};
      rules::PermissionReply applied{
          .accept = accept, .automatic = automatic, .expires = expires, .at = at};
      change.apply = [applied](rules::ContactFacts& f) { rules::ApplyPermissionReply(f, applied); };
      return Change(t, std::move(change)).status();
    }
    case webhooks::v1::WhatsAppEvent::kQualityUpdate: {
      rules::Quality q = rules::Quality::kUnknown;
      switch (e.quality_update().quality_rating()) {
        case webhooks::v1::QUALITY_RATING_GREEN:
          q = rules::Quality::kGreen;
          break;
        case webhooks::v1::QUALITY_RATING_YELLOW:
          q = rules::Quality::kYellow;
          break;
        case webhooks::v1::QUALITY_RATING_RED:
          q = rules::Quality::kRed;
          break;
        default:
          return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(store::NumberKeys keys, store::NumberKeys::For(tenant, e.phone_number_id()));
      // Ordered by Meta's time: an older update delivered late changes nothing.
      absl::Time at = e.has_meta_event_time() ? FromProto(e.meta_event_time()) : m.event.time;
      absl::Status set = hot_.SetQuality(keys, q, at).status();
      Wrote();
      return set;
    }
    case webhooks::v1::WhatsAppEvent::kAccountUpdate: {
      // ACCOUNT_RESTRICTION lists the restrictions in force: a calling one is set, its absence
      // lifts an earlier one. Other account events say nothing about calling.
      const auto& update = e.account_update();
      if (update.event() != "ACCOUNT_RESTRICTION" || e.phone_number_id().empty()) {
        return absl::OkStatus();
      }
      std::optional<rules::CallingRestriction> restriction;
      for (const auto& info : update.restriction_info()) {
        if (!absl::StrContains(info.restriction_type(), "CALLING")) continue;
        restriction = rules::CallingRestriction{.type = info.restriction_type()};
        if (info.has_expiration_time()) restriction->until = FromProto(info.expiration_time());
      }
      ASSIGN_OR_RETURN(store::NumberKeys keys, store::NumberKeys::For(tenant, e.phone_number_id()));
      absl::Time at = e.has_meta_event_time() ? FromProto(e.meta_event_time()) : m.event.time;
      absl::Status set = hot_.SetRestriction(keys, restriction, at).status();
      Wrote();
      return set;
    }
    default:
      return absl::OkStatus();  // call events are the calls service's business
  }
}

// An event's version for "newer wins": its per-entity sequence, else its time.
int64_t EventVersion(const events::v1::EventHeader& header, const kafka::Message& m) {
  if (header.sequence() > 0) return header.sequence();
  if (header.has_occurred_time()) return absl::ToUnixMillis(FromProto(header.occurred_time()));
  return absl::ToUnixMillis(m.event.time);
}

absl::Status Service::OnUsage(const billing::v1::UsageUpdated& u, const kafka::Message& m) {
  const std::string& tenant = u.header().tenant_id();
  if (!api::IsId(tenant)) return Invalid("INVALID_ID", "usage event without a tenant");
  rules::Usage usage{
      .known = true, .minutes_used = u.minutes_used(), .minutes_limit = u.minutes_limit()};
  // Usage resets at the start of the next calendar month (in UTC until billing says when).
  int year = 0, month = 0;
  if (std::sscanf(u.month().c_str(), "%d-%d", &year, &month) == 2 && month >= 1 && month <= 12) {
    usage.resets = absl::FromCivil(absl::CivilMonth(year, month) + 1, absl::UTCTimeZone());
  }
  absl::Status set = hot_.SetUsage(tenant, usage, EventVersion(u.header(), m)).status();
  Wrote();
  return set;
}

absl::Status Service::OnAgentAvailability(const routing::v1::AgentAvailabilityChanged& a,
                                          const kafka::Message& m) {
  const std::string& tenant = a.header().tenant_id();
  const std::string& agent = a.agent().agent_id();
  if (!api::IsId(tenant) || !api::IsId(agent)) {
    return Invalid("INVALID_ID", "availability event without a valid tenant or agent");
  }
  rules::AgentState state = rules::AgentState::kUnknown;
  switch (a.agent().availability()) {
    case routing::v1::AVAILABILITY_AVAILABLE:
      state = rules::AgentState::kAvailable;
      break;
    case routing::v1::AVAILABILITY_BUSY:
      state = rules::AgentState::kBusy;
      break;
    case routing::v1::AVAILABILITY_COOLDOWN:
      state = rules::AgentState::kCooldown;
      break;
    case routing::v1::AVAILABILITY_DND:
      state = rules::AgentState::kDnd;
      break;
    case routing::v1::AVAILABILITY_OFFLINE:
      state = rules::AgentState::kOffline;
      break;
    default:
      return Invalid("INVALID_AVAILABILITY", "availability is required");
  }
  int64_t version = a.agent().has_availability_change_time()
                        ? absl::ToUnixMillis(FromProto(a.agent().availability_change_time()))
                        : EventVersion(a.header(), m);
  absl::Status set = hot_.SetAgent(tenant, agent, state, version).status();
  Wrote();
  return set;
}

absl::Status Service::AnnounceSuspension(const Target& t, absl::Time until,
                                         const std::vector<absl::Time>& missed,
                                         const rules::Policy& policy) {
  v1::CallingSuspensionChanged event;
  event.mutable_header()->set_tenant_id(t.contact.tenant);
  event.mutable_header()->set_entity_id(t.contact.business_number);
  absl::Time started = until - policy.suspension_duration;
  ToProto(started, event.mutable_header()->mutable_occurred_time());
  event.set_business_phone_number_id(t.contact.business_number);
  event.set_suspended(true);
  event.set_reason_code("SUSPENDED_MISSED_CALLS");
  ToProto(until, event.mutable_suspended_until_time());
  event.set_missed_call_count(
      rules::CountInWindow(missed, policy.missed_call_window, started).count);
  kafka::Event e = kafka::MakeEvent(event, t.contact.business_number, "eligibility", clock_);
  // The same suspension announced twice (a redelivered missed call, another replica) is one
  // event: its id says which number and until when.
  e.id = absl::StrCat("suspension.", t.contact.tenant, ".", t.contact.business_number, ".",
                      absl::ToUnixMillis(until));
  return durable_.Enqueue(kafka::kEligibilityState, e);
}

absl::Status Service::OnCallStateChanged(const calls::v1::CallStateChanged& changed,
                                         const kafka::Message& m) {
  const calls::v1::Call& call = changed.call();
  if (call.direction() != calls::v1::CALL_DIRECTION_OUTBOUND) return absl::OkStatus();
  bool missed = changed.state() == calls::v1::CALL_STATE_MISSED;
  bool answered = changed.state() == calls::v1::CALL_STATE_ANSWERED;
  if (!missed && !answered) return absl::OkStatus();
  ASSIGN_OR_RETURN(Target t, Resolve(changed.header().tenant_id(), call.contact(),
                                     call.business_phone_number_id()));
  absl::Time at = call.has_ended_time() ? FromProto(call.ended_time())
                  : changed.header().has_occurred_time()
                      ? FromProto(changed.header().occurred_time())
                      : m.event.time;
  if (answered) {
    absl::Status recorded =
        hot_.RecordConnectedCall(t.keys, t.contact.contact_key, call.call_id(), at);
    Wrote();
    RETURN_IF_ERROR(recorded);
  }
  if (missed) {
    rules::Policy policy = PolicyFor(changed.header().tenant_id());
    ASSIGN_OR_RETURN(std::vector<absl::Time> before, hot_.MissedCalls(t.keys, at, policy));
    // The window is keyed by call id, so a redelivery adds nothing.
    absl::Status recorded = hot_.RecordMissedCall(t.keys, call.call_id(), at, policy);
    Wrote();
    RETURN_IF_ERROR(recorded);
    ASSIGN_OR_RETURN(std::vector<absl::Time> after, hot_.MissedCalls(t.keys, at, policy));
    std::optional<absl::Time> was = rules::SuspendedUntil(before, policy, at);
    std::optional<absl::Time> is = rules::SuspendedUntil(after, policy, at);
    if (is.has_value() && (!was.has_value() || *is > *was)) {
      RETURN_IF_ERROR(AnnounceSuspension(t, *is, after, policy));
    }
  }
  std::string call_id = call.call_id();
  return Change(t, {.apply =
                        [missed](rules::ContactFacts& f) {
                          rules::ApplyOutboundCallOutcome(f, missed);
                        },
                    .action = missed ? "CALL_UNANSWERED" : "CALL_ANSWERED",
                    .source = "SYSTEM",
                    .actor = m.event.source,
                    .detail = absl::StrCat("call_id=", call_id),
                    .request_id = absl::StrCat("call.", call_id, missed ? ".missed" : ".answered"),
                    .at = at,
                    .audit = false})
      .status();
}

grpc::Status Service::RecordConsent(grpc::ServerContext* ctx, const v1::RecordConsentRequest* req,
                                    v1::RecordConsentResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(Target t, ResolveOwned(ctx, caller.tenant_id, req->contact(),
                                            req->business_phone_number_id()));
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    ASSIGN_OR_RETURN(std::string source, Source(req->source()));
    RETURN_IF_ERROR(api::RequireEnum(req->kind(), v1::ConsentKind_descriptor(), "kind"));
    const std::string evidence = api::CutUtf8(req->evidence(), kEvidenceChars);
    absl::Time now = clock_.Now();
    std::optional<absl::Time> expires;
    if (req->has_expire_time()) {
      ASSIGN_OR_RETURN(expires, api::Time(req->expire_time(), "expire_time"));
      if (*expires <= now) return Invalid("INVALID_TIME", "expire_time must be in the future");
    }
    v1::ConsentKind kind = req->kind();
    v1::ConsentAction action = v1::CONSENT_ACTION_CONSENT_RECORDED;
    rules::ConsentKind applied = rules::ConsentKind::kCallRequest;
    switch (kind) {
      case v1::CONSENT_KIND_AGENT_OFFER_ACCEPTED:
        action = v1::CONSENT_ACTION_OFFER_ACCEPTED;
        applied = rules::ConsentKind::kOfferAccepted;
        break;
      case v1::CONSENT_KIND_LONG_TERM:
        applied = rules::ConsentKind::kLongTerm;
        break;
      case v1::CONSENT_KIND_META_CALL_PERMISSION:
        action = v1::CONSENT_ACTION_PERMISSION_GRANTED;
        applied = rules::ConsentKind::kMetaPermission;
        break;
      default:
        break;
    }
    v1::ConsentAuditEntry* e = resp->mutable_entry();
    FillEntry(t.contact, req->contact(), action, req->source(), caller.subject, evidence, now, e);
    e->set_kind(kind);
    if (expires.has_value()) ToProto(*expires, e->mutable_expire_time());
    const pg::RequestKey key = pg::KeyOf(caller.tenant_id, *req);
    ASSIGN_OR_RETURN(store::ApplyResult r,
                     Change(t, {.apply =
                                    [applied, now, expires](rules::ContactFacts& f) {
                                      rules::ApplyConsent(f, applied, now, expires);
                                    },
                                .action = v1::ConsentAction_Name(action),
                                .source = source,
                                .actor = caller.subject,
                                .detail = evidence,
                                .request_id = req->request_id(),
                                .at = now,
                                .key = &key,
                                .respond = [resp] { return resp->SerializeAsString(); }}));
    return r.earlier.has_value() ? pg::Restore(*r.earlier, resp) : absl::OkStatus();
  });
}

grpc::Status Service::RecordCallOffer(grpc::ServerContext* ctx,
                                      const v1::RecordCallOfferRequest* req,
                                      v1::RecordCallOfferResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(Target t, ResolveOwned(ctx, caller.tenant_id, req->contact(),
                                            req->business_phone_number_id()));
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(absl::Time at,
                     RequestTime(req->offer_time(), req->has_offer_time(), now, "offer_time"));
    ToProto(at + PolicyFor(caller.tenant_id).agent_offer_consent, resp->mutable_expire_time());
    const pg::RequestKey key = pg::KeyOf(caller.tenant_id, *req);
    ASSIGN_OR_RETURN(
        store::ApplyResult r,
        Change(t, {.apply = [at](rules::ContactFacts& f) { rules::ApplyCallOffer(f, at); },
                   .action = "CONSENT_ACTION_CALL_OFFERED",
                   .source = "AGENT",
                   .actor = caller.subject,
                   .request_id = req->request_id(),
                   .at = at,
                   .key = &key,
                   .respond = [resp] { return resp->SerializeAsString(); }}));
    return r.earlier.has_value() ? pg::Restore(*r.earlier, resp) : absl::OkStatus();
  });
}

// An opt-out or a decline: the same request shape, one timestamp field, one audit action.
template <typename Request, typename Response>
grpc::Status Service::RecordRefusal(grpc::ServerContext* ctx, const Request* req, Response* resp,
                                    v1::ConsentAction action,
                                    void (*apply)(rules::ContactFacts&, absl::Time)) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(Target t, ResolveOwned(ctx, caller.tenant_id, req->contact(),
                                            req->business_phone_number_id()));
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    ASSIGN_OR_RETURN(std::string source, Source(req->source()));
    const std::string evidence = api::CutUtf8(req->evidence(), kEvidenceChars);
    absl::Time now = clock_.Now();
    FillEntry(t.contact, req->contact(), action, req->source(), caller.subject, evidence, now,
              resp->mutable_entry());
    const pg::RequestKey key = pg::KeyOf(caller.tenant_id, *req);
    ASSIGN_OR_RETURN(store::ApplyResult r,
                     Change(t, {.apply = [now, apply](rules::ContactFacts& f) { apply(f, now); },
                                .action = v1::ConsentAction_Name(action),
                                .source = source,
                                .actor = caller.subject,
                                .detail = evidence,
                                .request_id = req->request_id(),
                                .at = now,
                                .key = &key,
                                .respond = [resp] { return resp->SerializeAsString(); }}));
    return r.earlier.has_value() ? pg::Restore(*r.earlier, resp) : absl::OkStatus();
  });
}

grpc::Status Service::RecordOptOut(grpc::ServerContext* ctx, const v1::RecordOptOutRequest* req,
                                   v1::RecordOptOutResponse* resp) {
  return RecordRefusal(ctx, req, resp, v1::CONSENT_ACTION_OPTED_OUT, &rules::ApplyOptOut);
}

grpc::Status Service::RecordDecline(grpc::ServerContext* ctx, const v1::RecordDeclineRequest* req,
                                    v1::RecordDeclineResponse* resp) {
  return RecordRefusal(ctx, req, resp, v1::CONSENT_ACTION_DECLINED, &rules::ApplyDecline);
}

grpc::Status Service::SetAutomationState(grpc::ServerContext* ctx,
                                         const v1::SetAutomationStateRequest* req,
                                         v1::SetAutomationStateResponse*) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(Target t, ResolveOwned(ctx, caller.tenant_id, req->contact(),
                                            req->business_phone_number_id()));
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    RETURN_IF_ERROR(api::Text(req->automation_state(), "automation_state",
                              {.max_chars = 64, .single_line = true}));
    std::string state = req->automation_state();
    const pg::RequestKey key = pg::KeyOf(caller.tenant_id, *req);
    return Change(t, {.apply = [state](rules::ContactFacts& f) { f.automation_state = state; },
                      .action = "AUTOMATION_STATE",
                      .source = "API",
                      .actor = caller.subject,
                      .detail = state,
                      .at = clock_.Now(),
                      .audit = false,
                      .key = &key})
        .status();
  });
}

grpc::Status Service::SetQualityRating(grpc::ServerContext* ctx,
                                       const v1::SetQualityRatingRequest* req,
                                       v1::SetQualityRatingResponse*) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(api::RequireId(req->business_phone_number_id(), "business_phone_number_id"));
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    RETURN_IF_ERROR(
        api::RequireEnum(req->quality_rating(), v1::QualityRating_descriptor(), "quality_rating"));
    RETURN_IF_ERROR(numbers_.Check(ctx, caller.tenant_id, req->business_phone_number_id()));
    ASSIGN_OR_RETURN(store::NumberKeys keys,
                     store::NumberKeys::For(caller.tenant_id, req->business_phone_number_id()));
    rules::Quality q;
    switch (req->quality_rating()) {
      case v1::QUALITY_RATING_GREEN:
        q = rules::Quality::kGreen;
        break;
      case v1::QUALITY_RATING_YELLOW:
        q = rules::Quality::kYellow;
        break;
      case v1::QUALITY_RATING_RED:
        q = rules::Quality::kRed;
        break;
      default:
        return api::Missing("quality_rating");
    }
    // Remembered with the request id, so a reused id with another rating is refused.
    return durable_.Once(pg::KeyOf(caller.tenant_id, *req), [&]() -> absl::Status {
      absl::Status set = hot_.SetQuality(keys, q, clock_.Now()).status();
      Wrote();
      return set;
    });
  });
}

grpc::Status Service::GetTenantPolicy(grpc::ServerContext* ctx, const v1::GetTenantPolicyRequest*,
                                      v1::GetTenantPolicyResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(std::string bytes, durable_.LoadPolicy(caller.tenant_id));
    v1::TenantPolicy stored;
    if (!stored.ParseFromString(bytes)) {
      return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_POLICY",
                         "the stored policy does not parse");
    }
    *resp->mutable_policy() = WithDefaults(stored);
    return absl::OkStatus();
  });
}

grpc::Status Service::UpdateTenantPolicy(grpc::ServerContext* ctx,
                                         const v1::UpdateTenantPolicyRequest* req,
                                         v1::UpdateTenantPolicyResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(api::RequireRole(caller, "admin", "changing the tenant's policy"));
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    ASSIGN_OR_RETURN(std::string bytes, durable_.LoadPolicy(caller.tenant_id));
    v1::TenantPolicy stored;
    if (!stored.ParseFromString(bytes)) {
      return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_POLICY",
                         "the stored policy does not parse");
    }
    ASSIGN_OR_RETURN(v1::TenantPolicy updated, Patch(stored, req->policy(), req->update_mask()));
    RETURN_IF_ERROR(Effective(updated).status());  // e.g. tenant phrases that do not compile
    RETURN_IF_ERROR(durable_.SavePolicy(caller.tenant_id, updated.SerializeAsString(),
                                        caller.subject, pg::KeyOf(caller.tenant_id, *req)));
    {
      absl::MutexLock lock(&policy_mu_);
      policies_.erase(caller.tenant_id);
    }
    *resp->mutable_policy() = WithDefaults(updated);
    return absl::OkStatus();
  });
}

grpc::Status Service::ListConsentAudit(grpc::ServerContext* ctx,
                                       const v1::ListConsentAuditRequest* req,
                                       v1::ListConsentAuditResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    // Filter subset: empty, or contact = "<wa_id or user_id>".
    std::string contact_key;
    absl::string_view filter = absl::StripAsciiWhitespace(req->filter());
    if (!filter.empty()) {
      if (!absl::ConsumePrefix(&filter, "contact") ||
          !absl::ConsumePrefix(&(filter = absl::StripLeadingAsciiWhitespace(filter)), "=")) {
        return Invalid("INVALID_FILTER", "supported filter: contact = \"<wa_id>\"");
      }
      filter = absl::StripAsciiWhitespace(filter);
      if (!absl::ConsumePrefix(&filter, "\"") || !absl::ConsumeSuffix(&filter, "\"") ||
          !api::IsId(filter)) {
        return Invalid("INVALID_FILTER", "supported filter: contact = \"<wa_id>\"");
      }
      contact_key = std::string(filter);
    }
    ASSIGN_OR_RETURN(int size, api::PageSize(req->page_size(), kAuditPages));
    const std::string binding = api::Binding("eligibility.ListConsentAudit", contact_key);
    ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                     api::DecodePageToken(req->page_token(), binding));
    ASSIGN_OR_RETURN(std::vector<store::AuditEntry> entries,
                     durable_.ListAudit(caller.tenant_id, contact_key, size + 1,
                                        after.has_value() ? after->id : ""));
    bool more = static_cast<int>(entries.size()) > size;
    if (more) entries.pop_back();
    for (const auto& e : entries) {
      v1::ConsentAuditEntry* out = resp->add_entries();
      out->set_entry_id(e.id);
      out->mutable_contact()->set_wa_id(e.contact.contact_key);
      out->set_business_phone_number_id(e.contact.business_number);
      v1::ConsentAction action;
      if (v1::ConsentAction_Parse(e.action, &action)) out->set_action(action);
      v1::ConsentSource source;
      if (v1::ConsentSource_Parse(absl::StrCat("CONSENT_SOURCE_", e.source), &source)) {
        out->set_source(source);
      }
      out->set_actor(e.actor);
      out->set_evidence(e.detail);
      ToProto(e.occurred_at, out->mutable_record_time());
    }
    if (more && !entries.empty()) {
      resp->set_next_page_token(api::EncodePageToken({.id = entries.back().id}, binding));
    }
    return absl::OkStatus();
  });
}

}  // namespace switchboard::eligibility
