#include "services/eligibility/ingest.h"

#include <openssl/sha.h>

#include <cstdio>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "services/eligibility/convert.h"
#include "services/eligibility/rules/facts.h"

namespace switchboard::eligibility {
namespace {

using core::FromProto;

// An event's version for "newer wins": its per-entity sequence, else its time.
int64_t EventVersion(const events::v1::EventHeader& header, const kafka::Message& m) {
  if (header.sequence() > 0) return header.sequence();
  if (header.has_occurred_time()) return absl::ToUnixMillis(FromProto(header.occurred_time()));
  return absl::ToUnixMillis(m.event.time);
}

// Meta's time for an event about a number, else when it reached Kafka.
absl::Time MetaTime(const webhooks::v1::WhatsAppEvent& e, const kafka::Message& m) {
  return e.has_meta_event_time() ? FromProto(e.meta_event_time()) : m.event.time;
}

std::optional<rules::AgentState> AgentStateOf(routing::v1::Availability availability) {
  switch (availability) {
    case routing::v1::AVAILABILITY_AVAILABLE:
      return rules::AgentState::kAvailable;
    case routing::v1::AVAILABILITY_BUSY:
      return rules::AgentState::kBusy;
    case routing::v1::AVAILABILITY_COOLDOWN:
      return rules::AgentState::kCooldown;
    case routing::v1::AVAILABILITY_DND:
      return rules::AgentState::kDnd;
    case routing::v1::AVAILABILITY_OFFLINE:
      return rules::AgentState::kOffline;
    default:
      return std::nullopt;
  }
}

// What a message's signal is called in the API and in the audit trail ("" for none).
struct SignalNames {
  v1::MessageSignal signal = v1::MESSAGE_SIGNAL_NONE;
  const char* action = "";
};

SignalNames NamesOf(rules::Signal signal) {
  switch (signal) {
    case rules::Signal::kCallRequest:
      return {v1::MESSAGE_SIGNAL_CALL_REQUEST, "CALL_REQUESTED"};
    case rules::Signal::kOptOut:
      return {v1::MESSAGE_SIGNAL_OPT_OUT, "CONSENT_ACTION_OPTED_OUT"};
    case rules::Signal::kAffirmative:
      return {v1::MESSAGE_SIGNAL_OFFER_ACCEPTED, "CONSENT_ACTION_OFFER_ACCEPTED"};
    case rules::Signal::kDecline:
      return {v1::MESSAGE_SIGNAL_OFFER_DECLINED, "CONSENT_ACTION_DECLINED"};
    case rules::Signal::kNone:
      break;
  }
  return {};
}

// The consent audit's request id for a message known by `id` (a ce_id, Meta's message id):
// `prefix` + `id` when that is an id (as it always was, so rows written before still match),
// else `prefix` + "sha256." + the first 16 bytes of its SHA-256 in hex. Meta's message ids
// ("wamid.HBgL...=") end in '=' and may be long: without this a redelivered message would be
// audited again.
std::string AuditRequestId(absl::string_view prefix, absl::string_view id) {
  if (id.empty()) return "";
  std::string plain = absl::StrCat(prefix, id);
  if (api::IsId(plain)) return plain;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), digest);
  return absl::StrCat(prefix, "sha256.",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(digest), SHA256_DIGEST_LENGTH / 2)));
}

}  // namespace

Ingest::Ingest(Contacts& contacts, Settings& settings, store::HotState& hot,
               store::Durable& durable, const core::Clock& clock)
    : contacts_(contacts), settings_(settings), hot_(hot), durable_(durable), clock_(clock) {}

absl::StatusOr<v1::MessageSignal> Ingest::ApplyMessage(const Target& t, absl::string_view text,
                                                       absl::Time at, std::string request_id,
                                                       absl::string_view language,
                                                       absl::string_view actor,
                                                       const pg::RequestKey* key,
                                                       v1::RecordInboundMessageResponse* resp) {
  std::shared_ptr<const TenantSettings> settings = settings_.For(t.contact.tenant);
  std::vector<std::string> languages = settings->languages;
  if (!language.empty()) languages = {std::string(language)};
  rules::Classification c = settings->classifier->Classify(text, languages);
  rules::Signal kind = c.signal;
  // Replies count only when an offer is pending (rules/facts.h).
  bool applied_signal = false;
  const SignalNames names = NamesOf(kind);
  const v1::MessageSignal signal = names.signal;
  store::Change change{.action = names.action,
                       .source = "INBOUND_MESSAGE",
                       .actor = std::string(actor),
                       .at = at,
                       .key = key};
  change.apply = [&applied_signal, kind, at](rules::ContactFacts& f) {
    applied_signal = rules::ApplyInboundMessage(f, kind, at);
  };
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
  ASSIGN_OR_RETURN(store::ApplyResult r, contacts_.Change(t, std::move(change)));
  if (r.earlier.has_value() && resp != nullptr) {
    RETURN_IF_ERROR(pg::Restore(*r.earlier, resp));
    return resp->signal();
  }
  if (r.duplicate || !applied_signal) return v1::MESSAGE_SIGNAL_NONE;
  return signal;
}

absl::Status Ingest::RecordMessage(const grpc::ServerContextBase* ctx,
                                   const auth::Principal& caller,
                                   const v1::RecordInboundMessageRequest& req,
                                   v1::RecordInboundMessageResponse* resp) {
  ASSIGN_OR_RETURN(Target t, contacts_.ResolveOwned(ctx, caller.tenant_id, req.contact(),
                                                    req.business_phone_number_id()));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  if (req.meta_message_id().size() > 256) {
    return core::InvalidArgument("INVALID_MESSAGE_ID", "meta_message_id is too long");
  }
  if (req.text().size() > 64 * 1024) {
    return core::InvalidArgument("TEXT_TOO_LONG", "text is over 64 KiB");
  }
  absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(absl::Time at,
                   RequestTime(req.message_time(), req.has_message_time(), now, "message_time"));
  std::string request_id = !req.request_id().empty() ? req.request_id()
                           : !req.meta_message_id().empty()
                               ? AuditRequestId("msg.", req.meta_message_id())
                               : "";
  const pg::RequestKey key = pg::KeyOf(caller.tenant_id, req);
  // The answer is built before the change, so the first one is what a repeat gets back.
  ToProto(at + settings_.PolicyFor(caller.tenant_id).service_window,
          resp->mutable_service_window_end_time());
  ASSIGN_OR_RETURN(v1::MessageSignal signal,
                   ApplyMessage(t, req.text(), at, std::move(request_id), req.language_code(),
                                caller.subject, &key, resp));
  resp->set_signal(signal);
  return absl::OkStatus();
}

absl::Status Ingest::OnWhatsAppEvent(const webhooks::v1::WhatsAppEvent& e,
                                     const kafka::Message& m) {
  const std::string& tenant = e.header().tenant_id();
  switch (e.event_case()) {
    case webhooks::v1::WhatsAppEvent::kInboundMessage: {
      const auto& msg = e.inbound_message();
      ASSIGN_OR_RETURN(Target t, contacts_.Resolve(tenant, msg.contact(), e.phone_number_id()));
      absl::Time at = msg.has_message_time() ? FromProto(msg.message_time()) : m.event.time;
      std::string actor = m.event.source.empty() ? "//switchboard/webhooks" : m.event.source;
      return ApplyMessage(t, msg.text(), at, AuditRequestId("ev.", m.event.id), "", actor).status();
    }
    case webhooks::v1::WhatsAppEvent::kCallPermissionReply:
      return OnPermissionReply(e, m);
    case webhooks::v1::WhatsAppEvent::kQualityUpdate: {
      std::optional<rules::Quality> q = QualityOf(e.quality_update().quality_rating());
      if (!q.has_value()) return absl::OkStatus();
      ASSIGN_OR_RETURN(store::NumberKeys keys, store::NumberKeys::For(tenant, e.phone_number_id()));
      // Ordered by Meta's time: an older update delivered late changes nothing.
      absl::Status set = hot_.SetQuality(keys, *q, MetaTime(e, m)).status();
      contacts_.Wrote();
      return set;
    }
    case webhooks::v1::WhatsAppEvent::kAccountUpdate:
      return OnAccountUpdate(e, m);
    default:
      return absl::OkStatus();  // call events are the calls service's business
  }
}

absl::Status Ingest::OnPermissionReply(const webhooks::v1::WhatsAppEvent& e,
                                       const kafka::Message& m) {
  const auto& reply = e.call_permission_reply();
  ASSIGN_OR_RETURN(Target t,
                   contacts_.Resolve(e.header().tenant_id(), reply.contact(), e.phone_number_id()));
  absl::Time at = reply.has_message_time() ? FromProto(reply.message_time()) : m.event.time;
  bool accept = reply.response() == webhooks::v1::PERMISSION_RESPONSE_ACCEPT;
  bool automatic = reply.response_source() == webhooks::v1::RESPONSE_SOURCE_AUTOMATIC;
  std::optional<absl::Time> expires;
  if (accept && !reply.is_permanent() && reply.has_expiration_time()) {
    expires = FromProto(reply.expiration_time());
  }
  store::Change change{
      .action = accept
                    ? "CONSENT_ACTION_PERMISSION_GRANTED"
                    : (automatic ? "CONSENT_ACTION_PERMISSION_REVOKED" : "CONSENT_ACTION_DECLINED"),
      .source = "META_PERMISSION_REPLY",
      .actor = m.event.source.empty() ? "//switchboard/webhooks" : m.event.source,
      .detail = absl::StrCat(accept ? "accept" : "reject", automatic ? " automatic" : "",
                             reply.is_permanent() ? " permanent" : ""),
      .request_id = absl::StrCat("ev.", m.event.id),
      .at = at};
  rules::PermissionReply applied{
      .accept = accept, .automatic = automatic, .expires = expires, .at = at};
  change.apply = [applied](rules::ContactFacts& f) { rules::ApplyPermissionReply(f, applied); };
  return contacts_.Change(t, std::move(change)).status();
}

absl::Status Ingest::OnAccountUpdate(const webhooks::v1::WhatsAppEvent& e,
                                     const kafka::Message& m) {
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
  ASSIGN_OR_RETURN(store::NumberKeys keys,
                   store::NumberKeys::For(e.header().tenant_id(), e.phone_number_id()));
  absl::Status set = hot_.SetRestriction(keys, restriction, MetaTime(e, m)).status();
  contacts_.Wrote();
  return set;
}

absl::Status Ingest::OnUsage(const billing::v1::UsageUpdated& u, const kafka::Message& m) {
  const std::string& tenant = u.header().tenant_id();
  if (!api::IsId(tenant))
    return core::InvalidArgument("INVALID_ID", "usage event without a tenant");
  rules::Usage usage{
      .known = true, .minutes_used = u.minutes_used(), .minutes_limit = u.minutes_limit()};
  // Usage resets when the month ends in the plan's zone (end_time); events from before billing
  // said so carry only the month, read as UTC.
  int year = 0, month = 0;
  if (u.has_end_time()) {
    usage.resets = FromProto(u.end_time());
  } else if (std::sscanf(u.month().c_str(), "%d-%d", &year, &month) == 2 && month >= 1 &&
             month <= 12) {
    usage.resets = absl::FromCivil(absl::CivilMonth(year, month) + 1, absl::UTCTimeZone());
  }
  absl::Status set = hot_.SetUsage(tenant, usage, EventVersion(u.header(), m)).status();
  contacts_.Wrote();
  return set;
}

absl::Status Ingest::OnAgentAvailability(const routing::v1::AgentAvailabilityChanged& a,
                                         const kafka::Message& m) {
  const std::string& tenant = a.header().tenant_id();
  const std::string& agent = a.agent().agent_id();
  if (!api::IsId(tenant) || !api::IsId(agent)) {
    return core::InvalidArgument("INVALID_ID",
                                 "availability event without a valid tenant or agent");
  }
  std::optional<rules::AgentState> state = AgentStateOf(a.agent().availability());
  if (!state.has_value()) {
    return core::InvalidArgument("INVALID_AVAILABILITY", "availability is required");
  }
  int64_t version = a.agent().has_availability_change_time()
                        ? absl::ToUnixMillis(FromProto(a.agent().availability_change_time()))
                        : EventVersion(a.header(), m);
  absl::Status set = hot_.SetAgent(tenant, agent, *state, version).status();
  contacts_.Wrote();
  return set;
}

absl::Status Ingest::OnCallStateChanged(const calls::v1::CallStateChanged& changed,
                                        const kafka::Message& m) {
  const calls::v1::Call& call = changed.call();
  if (call.direction() != calls::v1::CALL_DIRECTION_OUTBOUND) return absl::OkStatus();
  bool missed = changed.state() == calls::v1::CALL_STATE_MISSED;
  bool answered = changed.state() == calls::v1::CALL_STATE_ANSWERED;
  if (!missed && !answered) return absl::OkStatus();
  ASSIGN_OR_RETURN(Target t, contacts_.Resolve(changed.header().tenant_id(), call.contact(),
                                               call.business_phone_number_id()));
  absl::Time at = call.has_ended_time() ? FromProto(call.ended_time())
                  : changed.header().has_occurred_time()
                      ? FromProto(changed.header().occurred_time())
                      : m.event.time;
  if (answered) {
    absl::Status recorded =
        hot_.RecordConnectedCall(t.keys, t.contact.contact_key, call.call_id(), at);
    contacts_.Wrote();
    RETURN_IF_ERROR(recorded);
  }
  if (missed) {
    RETURN_IF_ERROR(
        RecordMissedCall(t, call.call_id(), at, settings_.PolicyFor(changed.header().tenant_id())));
  }
  std::string call_id = call.call_id();
  return contacts_
      .Change(t,
              {.apply =
                   [missed](rules::ContactFacts& f) { rules::ApplyOutboundCallOutcome(f, missed); },
               .action = missed ? "CALL_UNANSWERED" : "CALL_ANSWERED",
               .source = "SYSTEM",
               .actor = m.event.source,
               .detail = absl::StrCat("call_id=", call_id),
               .request_id = absl::StrCat("call.", call_id, missed ? ".missed" : ".answered"),
               .at = at,
               .audit = false})
      .status();
}

absl::Status Ingest::RecordMissedCall(const Target& t, absl::string_view call_id, absl::Time at,
                                      const rules::Policy& policy) {
  ASSIGN_OR_RETURN(std::vector<absl::Time> before, hot_.MissedCalls(t.keys, at, policy));
  // The window is keyed by call id, so a redelivery adds nothing.
  absl::Status recorded = hot_.RecordMissedCall(t.keys, call_id, at, policy);
  contacts_.Wrote();
  RETURN_IF_ERROR(recorded);
  ASSIGN_OR_RETURN(std::vector<absl::Time> after, hot_.MissedCalls(t.keys, at, policy));
  std::optional<absl::Time> was = rules::SuspendedUntil(before, policy, at);
  std::optional<absl::Time> is = rules::SuspendedUntil(after, policy, at);
  // A suspension already over (an old missed call replayed after a crash, or delivered late)
  // is not announced: it would tell admins and dashboards of a pause that has ended.
  if (is.has_value() && (!was.has_value() || *is > *was) && *is > clock_.Now()) {
    return AnnounceSuspension(t, *is, after, policy);
  }
  return absl::OkStatus();
}

absl::Status Ingest::AnnounceSuspension(const Target& t, absl::Time until,
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

}  // namespace switchboard::eligibility
