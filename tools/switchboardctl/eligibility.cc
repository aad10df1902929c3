// `switchboardctl eligibility ...`: the eligibility service
// (switchboard.eligibility.v1.EligibilityService): may this call happen, reserve a call, and the
// signals it decides on (inbound messages, consent, agents' call offers).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "libs/core/id.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"

namespace switchboard::cli {
namespace {

namespace ev = eligibility::v1;
using EligibilityClient = Client<ev::EligibilityService>;
using Stub = ev::EligibilityService::Stub;

constexpr char kUsage[] =
    R"(  eligibility check   --contact=W --number=N [--kind=K] [--agent=A]
                                                            may this call happen?
  eligibility reserve --contact=W --number=N [--kind=K] [--request-id=R]
  eligibility message --contact=W --number=N --text=T       record an inbound message
  eligibility consent --contact=W --number=N [--consent=C]  C: meta_permission (default),
                                                            long_term, call_request,
                                                            offer_accepted
  eligibility offer   --contact=W --number=N [--agent=A]    record an agent's call offer
                                                            (default: SWITCHBOARD_SUBJECT)
)";

constexpr std::pair<const char*, ev::CallKind> kKinds[] = {
    {"user_requested", ev::CALL_KIND_USER_REQUESTED},
    {"agent_offered", ev::CALL_KIND_AGENT_OFFERED},
    {"long_term", ev::CALL_KIND_LONG_TERM_CONSENT},
};

constexpr std::pair<const char*, ev::ConsentKind> kConsents[] = {
    {"meta_permission", ev::CONSENT_KIND_META_CALL_PERMISSION},
    {"long_term", ev::CONSENT_KIND_LONG_TERM},
    {"call_request", ev::CONSENT_KIND_CALL_REQUEST},
    {"offer_accepted", ev::CONSENT_KIND_AGENT_OFFER_ACCEPTED},
};

// When a reason clears, in this machine's zone: the reasons are about the next minutes or days.
std::string ClearsAt(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%H:%M:%S", absl::FromUnixSeconds(t.seconds()), absl::LocalTimeZone());
}

void PrintReasons(const Args& args, const char* title,
                  const google::protobuf::RepeatedPtrField<ev::Reason>& reasons) {
  for (const auto& r : reasons) {
    absl::FPrintF(
        args.out, "    %-8s %-26s %s%s\n", title, r.code(), r.message(),
        r.has_clears_time() ? absl::StrCat(" (clears ", ClearsAt(r.clears_time()), ")") : "");
  }
}

absl::Status Check(const Args& args, const EligibilityClient& client) {
  ev::CheckEligibilityRequest req;
  Target(args, &req);
  ASSIGN_OR_RETURN(ev::CallKind kind, KindFlag(args));
  req.set_call_kind(kind);
  req.set_agent_id(args.Flag("agent"));
  return client.Show(args, &Stub::CheckEligibility, req,
                     [&](const ev::CheckEligibilityResponse& r) {
                       absl::FPrintF(args.out, "  %s%s\n", r.eligible() ? "ELIGIBLE" : "BLOCKED",
                                     r.degraded() ? " (degraded)" : "");
                       PrintReasons(args, "blocked", r.blocking_reasons());
                       PrintReasons(args, "warning", r.warnings());
                     });
}

absl::Status Reserve(const Args& args, const EligibilityClient& client) {
  ev::ReserveCallRequest req;
  Target(args, &req);
  ASSIGN_OR_RETURN(ev::CallKind kind, KindFlag(args));
  req.set_call_kind(kind);
  req.set_request_id(RequestId(args));
  return client.Show(args, &Stub::ReserveCall, req, [&](const ev::ReserveCallResponse& r) {
    absl::FPrintF(args.out, "  %s %s\n", r.granted() ? "GRANTED" : "DENIED", r.reservation_id());
    PrintReasons(args, "blocked", r.blocking_reasons());
  });
}

absl::Status Message(const Args& args, const EligibilityClient& client) {
  ev::RecordInboundMessageRequest req;
  Target(args, &req);
  req.set_text(args.Flag("text"));
  req.set_meta_message_id(absl::StrCat("wamid.", core::NewId()));
  return client.Show(
      args, &Stub::RecordInboundMessage, req, [&](const ev::RecordInboundMessageResponse& r) {
        absl::FPrintF(args.out, "  signal: %s\n", ev::MessageSignal_Name(r.signal()));
      });
}

absl::Status Consent(const Args& args, const EligibilityClient& client) {
  ev::RecordConsentRequest req;
  Target(args, &req);
  ASSIGN_OR_RETURN(ev::ConsentKind kind,
                   EnumFlag(args, "consent", kConsents, ev::CONSENT_KIND_META_CALL_PERMISSION));
  req.set_kind(kind);
  req.set_source(ev::CONSENT_SOURCE_API);
  return client.Show(args, &Stub::RecordConsent, req, [&](const ev::RecordConsentResponse& r) {
    absl::FPrintF(args.out, "  recorded: %s\n", ev::ConsentAction_Name(r.entry().action()));
  });
}

absl::Status Offer(const Args& args, const EligibilityClient& client) {
  ev::RecordCallOfferRequest req;
  Target(args, &req);
  req.set_agent_id(args.Flag("agent", Env("SWITCHBOARD_SUBJECT", "operator")));
  return client.Show(args, &Stub::RecordCallOffer, req, [](const ev::RecordCallOfferResponse&) {});
}

int RunEligibility(const Args& args) {
  static const std::vector<Verb<ev::EligibilityService>> kVerbs = {
      {"check", {.required = {"contact", "number"}, .optional = {"kind", "agent"}}, Check},
      {"reserve", {.required = {"contact", "number"}, .optional = {"kind", "request-id"}}, Reserve},
      {"message", {.required = {"contact", "number", "text"}}, Message},
      {"consent", {.required = {"contact", "number"}, .optional = {"consent"}}, Consent},
      {"offer", {.required = {"contact", "number"}, .optional = {"agent"}}, Offer},
  };
  return RunVerbs(args, kVerbs);
}

}  // namespace

absl::StatusOr<ev::CallKind> KindFlag(const Args& args) {
  return EnumFlag(args, "kind", kKinds, ev::CALL_KIND_USER_REQUESTED);
}

const Command kEligibilityCommand = {"eligibility", kUsage, RunEligibility};

}  // namespace switchboard::cli
