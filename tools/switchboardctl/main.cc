// switchboardctl: the operator's and the demo's command line for a running suite.
//
//   switchboardctl token --tenant=acme --subject=agent-1 --roles=agent
//   switchboardctl health
//   switchboardctl calls list
//
// Connection: --addr (or SWITCHBOARD_ADDR, default 127.0.0.1:50051). Identity: --token (or
// SWITCHBOARD_TOKEN), or a token minted from SWITCHBOARD_AUTH_SECRET for --tenant/--subject
// (SWITCHBOARD_TENANT/SWITCHBOARD_SUBJECT), which is what the local stack does.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/kafka/kafka.h"
#include "libs/runtime/grpc.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"

namespace {

using namespace switchboard;  // NOLINT

constexpr char kUsage[] =
    R"(usage: switchboardctl [--addr=host:port] [--token=T|--anonymous] COMMAND [flags]

commands:
  token   --tenant=T --subject=S [--roles=a,b] [--ttl=1h]   mint a bearer token
  health  [--service=NAME]                                  serving status per target
  calls list [--page-size=N]                                the Calls page's history rows
  eligibility check   --contact=W --number=N [--kind=K] [--agent=A]   may this call happen?
  eligibility reserve --contact=W --number=N [--kind=K] [--request-id=R]
  eligibility message --contact=W --number=N --text=T       record an inbound message
  eligibility consent --contact=W --number=N --consent=C    C: meta_permission, long_term,
                                                            call_request, offer_accepted
  eligibility offer   --contact=W --number=N                record an agent's call offer
  numbers register --phone-number-id=ID --waba-id=W --display=P [--app=A]
                                                            map a Meta number to the tenant
  numbers list                                              the tenant's registered numbers
  numbers delete --phone-number-id=ID
  dev missed-call     --contact=W --number=N                publish a missed outbound call on
                      calls.state.v1 (SWITCHBOARD_KAFKA), as the calls service will
  (K: user_requested, agent_offered, long_term; default user_requested)

environment: SWITCHBOARD_ADDR, SWITCHBOARD_TOKEN, SWITCHBOARD_AUTH_SECRET,
             SWITCHBOARD_TENANT, SWITCHBOARD_SUBJECT
)";

const char* Env(const char* name, const char* fallback = "") {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

struct Args {
  std::vector<std::string> words;
  std::map<std::string, std::string> flags;
  std::string Flag(const std::string& name, const std::string& fallback = "") const {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  }
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (absl::StartsWith(arg, "--")) {
      std::pair<std::string, std::string> kv =
          absl::StrSplit(arg.substr(2), absl::MaxSplits('=', 1));
      a.flags[kv.first] = kv.second;
    } else {
      a.words.push_back(arg);
    }
  }
  return a;
}

int Fail(const absl::Status& s) {
  std::string reason = core::ReasonOf(s);
  std::fprintf(stderr, "error: %s %s%s%s\n", absl::StatusCodeToString(s.code()).c_str(),
               std::string(s.message()).c_str(), reason.empty() ? "" : " reason=", reason.c_str());
  return 1;
}

absl::StatusOr<std::string> Mint(const Args& args, absl::Duration ttl) {
  std::string secret = args.Flag("auth-secret", Env("SWITCHBOARD_AUTH_SECRET"));
  if (secret.empty()) {
    return core::InvalidArgument(
        "MISSING_SECRET", "no token: set --token/SWITCHBOARD_TOKEN or SWITCHBOARD_AUTH_SECRET");
  }
  auth::Principal p;
  p.tenant_id = args.Flag("tenant", Env("SWITCHBOARD_TENANT", "demo"));
  p.subject = args.Flag("subject", Env("SWITCHBOARD_SUBJECT", "operator"));
  std::string roles = args.Flag("roles", "admin");
  for (absl::string_view r : absl::StrSplit(roles, ',', absl::SkipEmpty())) p.roles.emplace_back(r);
  absl::Time now = absl::Now();
  p.expires = now + ttl;
  return auth::SignToken(secret, p, now);
}

absl::StatusOr<std::string> Token(const Args& args) {
  std::string token = args.Flag("token", Env("SWITCHBOARD_TOKEN"));
  if (!token.empty()) return token;
  return Mint(args, absl::Minutes(10));
}

int TokenCommand(const Args& args) {
  absl::Duration ttl = absl::Hours(1);
  if (std::string t = args.Flag("ttl"); !t.empty() && !absl::ParseDuration(t, &ttl)) {
    return Fail(core::InvalidArgument("INVALID_TTL", "--ttl must be a duration such as 1h"));
  }
  auto token = Mint(args, ttl);
  if (!token.ok()) return Fail(token.status());
  std::printf("%s\n", token->c_str());
  return 0;
}

int HealthCommand(const Args& args, const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  std::vector<std::string> services;
  if (std::string s = args.Flag("service"); !s.empty()) {
    services.push_back(s);
  } else {
    services = {"", "eligibility", "calls", "routing", "billing", "notifications", "webhooks"};
  }
  int not_serving = 0;
  for (const auto& name : services) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(name);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status s = stub->Check(&ctx, req, &resp);
    std::string state;
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      state = "not running here";
    } else if (!s.ok()) {
      state = absl::StrCat("unreachable (", s.error_message(), ")");
      ++not_serving;
    } else {
      state = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status());
      if (resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) ++not_serving;
    }
    std::printf("  %-16s %s\n", name.empty() ? "(server)" : name.c_str(), state.c_str());
  }
  return not_serving == 0 ? 0 : 1;
}

int CallsCommand(const Args& args, const std::shared_ptr<grpc::Channel>& channel) {
  if (args.words.size() < 2 || args.words[1] != "list") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto stub = calls::v1::CallsService::NewStub(channel);
  grpc::ClientContext ctx;
  if (!args.flags.count("anonymous")) {
    auto token = Token(args);
    if (!token.ok()) return Fail(token.status());
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", *token));
  }
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  calls::v1::ListCallsRequest req;
  int page_size = 20;
  if (std::string n = args.Flag("page-size"); !n.empty()) page_size = std::atoi(n.c_str());
  req.set_page_size(page_size);
  calls::v1::ListCallsResponse resp;
  grpc::Status s = stub->ListCalls(&ctx, req, &resp);
  if (!s.ok()) return Fail(runtime::FromGrpcStatus(s));
  for (const auto& call : resp.calls()) {
    std::printf("%s  %s  %s\n", call.call_id().c_str(),
                calls::v1::CallDirection_Name(call.direction()).c_str(),
                calls::v1::CallState_Name(call.state()).c_str());
  }
  return 0;
}

int NumbersCommand(const Args& args, const std::shared_ptr<grpc::Channel>& channel) {
  std::string verb = args.words.size() > 1 ? args.words[1] : "";
  if (verb != "register" && verb != "list" && verb != "delete") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto stub = webhooks::v1::WebhooksService::NewStub(channel);
  grpc::ClientContext ctx;
  auto token = Token(args);
  if (!token.ok()) return Fail(token.status());
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", *token));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto print = [](const webhooks::v1::PhoneNumber& n) {
    std::printf("  %-18s waba %-18s %-18s app %s\n", n.phone_number_id().c_str(),
                n.waba_id().c_str(), n.display_phone_number().c_str(),
                n.app_id().empty() ? "(default)" : n.app_id().c_str());
  };
  grpc::Status s;
  if (verb == "register") {
    webhooks::v1::RegisterPhoneNumberRequest req;
    req.set_phone_number_id(args.Flag("phone-number-id"));
    req.set_waba_id(args.Flag("waba-id"));
    req.set_display_phone_number(args.Flag("display"));
    req.set_app_id(args.Flag("app"));
    webhooks::v1::RegisterPhoneNumberResponse resp;
    s = stub->RegisterPhoneNumber(&ctx, req, &resp);
    if (s.ok()) print(resp.phone_number());
  } else if (verb == "list") {
    webhooks::v1::ListPhoneNumbersResponse resp;
    s = stub->ListPhoneNumbers(&ctx, webhooks::v1::ListPhoneNumbersRequest(), &resp);
    if (s.ok()) {
      for (const auto& n : resp.phone_numbers()) print(n);
    }
  } else {
    webhooks::v1::DeletePhoneNumberRequest req;
    req.set_phone_number_id(args.Flag("phone-number-id"));
    webhooks::v1::DeletePhoneNumberResponse resp;
    s = stub->DeletePhoneNumber(&ctx, req, &resp);
  }
  return s.ok() ? 0 : Fail(runtime::FromGrpcStatus(s));
}

namespace ev = eligibility::v1;

std::string Time(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%H:%M:%S", absl::FromUnixSeconds(t.seconds()), absl::LocalTimeZone());
}

void PrintReasons(const char* title, const google::protobuf::RepeatedPtrField<ev::Reason>& rs) {
  for (const auto& r : rs) {
    std::printf(
        "    %-8s %-26s %s%s\n", title, r.code().c_str(), r.message().c_str(),
        r.has_clears_time() ? absl::StrCat(" (clears ", Time(r.clears_time()), ")").c_str() : "");
  }
}

template <typename Request>
absl::Status Target(const Args& args, Request* req) {
  std::string contact = args.Flag("contact");
  std::string number = args.Flag("number");
  if (contact.empty() || number.empty()) {
    return core::InvalidArgument("MISSING_FLAG", "--contact and --number are required");
  }
  req->mutable_contact()->set_wa_id(contact);
  req->set_business_phone_number_id(number);
  return absl::OkStatus();
}

ev::CallKind KindFlag(const Args& args) {
  std::string k = args.Flag("kind", "user_requested");
  if (k == "agent_offered") return ev::CALL_KIND_AGENT_OFFERED;
  if (k == "long_term") return ev::CALL_KIND_LONG_TERM_CONSENT;
  return ev::CALL_KIND_USER_REQUESTED;
}

int EligibilityCommand(const Args& args, const std::shared_ptr<grpc::Channel>& channel) {
  std::string verb = args.words.size() > 1 ? args.words[1] : "";
  auto token = Token(args);
  if (!token.ok()) return Fail(token.status());
  auto stub = ev::EligibilityService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", *token));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto done = [](const grpc::Status& s) { return s.ok() ? 0 : Fail(runtime::FromGrpcStatus(s)); };
  if (verb == "check") {
    ev::CheckEligibilityRequest req;
    if (absl::Status s = Target(args, &req); !s.ok()) return Fail(s);
    req.set_call_kind(KindFlag(args));
    req.set_agent_id(args.Flag("agent"));
    ev::CheckEligibilityResponse resp;
    grpc::Status s = stub->CheckEligibility(&ctx, req, &resp);
    if (!s.ok()) return done(s);
    std::printf("  %s%s\n", resp.eligible() ? "ELIGIBLE" : "BLOCKED",
                resp.degraded() ? " (degraded)" : "");
    PrintReasons("blocked", resp.blocking_reasons());
    PrintReasons("warning", resp.warnings());
    return 0;
  }
  if (verb == "reserve") {
    ev::ReserveCallRequest req;
    if (absl::Status s = Target(args, &req); !s.ok()) return Fail(s);
    req.set_call_kind(KindFlag(args));
    req.set_request_id(args.Flag("request-id", core::NewId()));
    ev::ReserveCallResponse resp;
    grpc::Status s = stub->ReserveCall(&ctx, req, &resp);
    if (!s.ok()) return done(s);
    std::printf("  %s %s\n", resp.granted() ? "GRANTED" : "DENIED", resp.reservation_id().c_str());
    PrintReasons("blocked", resp.blocking_reasons());
    return 0;
  }
  if (verb == "message") {
    ev::RecordInboundMessageRequest req;
    if (absl::Status s = Target(args, &req); !s.ok()) return Fail(s);
    req.set_text(args.Flag("text"));
    req.set_meta_message_id(absl::StrCat("wamid.", core::NewId()));
    ev::RecordInboundMessageResponse resp;
    grpc::Status s = stub->RecordInboundMessage(&ctx, req, &resp);
    if (!s.ok()) return done(s);
    std::printf("  signal: %s\n", ev::MessageSignal_Name(resp.signal()).c_str());
    return 0;
  }
  if (verb == "consent") {
    ev::RecordConsentRequest req;
    if (absl::Status s = Target(args, &req); !s.ok()) return Fail(s);
    std::string c = args.Flag("consent", "meta_permission");
    req.set_kind(c == "long_term"        ? ev::CONSENT_KIND_LONG_TERM
                 : c == "call_request"   ? ev::CONSENT_KIND_CALL_REQUEST
                 : c == "offer_accepted" ? ev::CONSENT_KIND_AGENT_OFFER_ACCEPTED
                                         : ev::CONSENT_KIND_META_CALL_PERMISSION);
    req.set_source(ev::CONSENT_SOURCE_API);
    ev::RecordConsentResponse resp;
    grpc::Status s = stub->RecordConsent(&ctx, req, &resp);
    if (!s.ok()) return done(s);
    std::printf("  recorded: %s\n", ev::ConsentAction_Name(resp.entry().action()).c_str());
    return 0;
  }
  if (verb == "offer") {
    ev::RecordCallOfferRequest req;
    if (absl::Status s = Target(args, &req); !s.ok()) return Fail(s);
    req.set_agent_id(args.Flag("agent", Env("SWITCHBOARD_SUBJECT", "operator")));
    ev::RecordCallOfferResponse resp;
    return done(stub->RecordCallOffer(&ctx, req, &resp));
  }
  std::fputs(kUsage, stderr);
  return 2;
}

// Stands in for the calls service (until it exists) so the demo can show suspensions.
int DevCommand(const Args& args) {
  if (args.words.size() < 2 || args.words[1] != "missed-call") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string brokers = args.Flag("kafka", Env("SWITCHBOARD_KAFKA"));
  std::string contact = args.Flag("contact");
  std::string number = args.Flag("number");
  if (brokers.empty() || contact.empty() || number.empty()) {
    return Fail(core::InvalidArgument("MISSING_FLAG",
                                      "--contact, --number and SWITCHBOARD_KAFKA are required"));
  }
  auto producer = kafka::Producer::Create({.brokers = brokers});
  if (!producer.ok()) return Fail(producer.status());
  calls::v1::CallStateChanged changed;
  changed.mutable_header()->set_tenant_id(args.Flag("tenant", Env("SWITCHBOARD_TENANT", "demo")));
  changed.set_state(calls::v1::CALL_STATE_MISSED);
  calls::v1::Call* call = changed.mutable_call();
  call->set_call_id(core::NewId());
  call->set_direction(calls::v1::CALL_DIRECTION_OUTBOUND);
  call->set_state(calls::v1::CALL_STATE_MISSED);
  call->set_business_phone_number_id(number);
  call->mutable_contact()->set_wa_id(contact);
  *call->mutable_ended_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
  changed.mutable_header()->set_entity_id(call->call_id());
  absl::Status s = (*producer)->PublishAndWait(
      kafka::kCallsState, kafka::MakeEvent(changed, call->call_id(), "switchboardctl"),
      absl::Seconds(10));
  if (!s.ok()) return Fail(s);
  std::printf("  missed call %s published\n", call->call_id().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = Parse(argc, argv);
  if (args.words.empty() || args.flags.count("help")) {
    std::fputs(kUsage, args.words.empty() && !args.flags.count("help") ? stderr : stdout);
    return args.flags.count("help") ? 0 : 2;
  }
  const std::string& command = args.words[0];
  if (command == "token") return TokenCommand(args);
  auto channel = grpc::CreateChannel(args.Flag("addr", Env("SWITCHBOARD_ADDR", "127.0.0.1:50051")),
                                     grpc::InsecureChannelCredentials());
  if (command == "health") return HealthCommand(args, channel);
  if (command == "calls") return CallsCommand(args, channel);
  if (command == "eligibility") return EligibilityCommand(args, channel);
  if (command == "numbers") return NumbersCommand(args, channel);
  if (command == "dev") return DevCommand(args);
  std::fprintf(stderr, "switchboardctl: unknown command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}
