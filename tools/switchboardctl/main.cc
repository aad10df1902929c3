// switchboardctl: the operator's and the demo's command line for a running suite.
//
//   switchboardctl token --tenant=acme --subject=agent-1 --roles=agent
//   switchboardctl calls list --filter='state = MISSED' --page-size=20
//
// Connection: --addr (or SWITCHBOARD_ADDR, default 127.0.0.1:50051). Identity: --token (or
// SWITCHBOARD_TOKEN), or a token minted from SWITCHBOARD_AUTH_SECRET for --tenant/--subject
// (SWITCHBOARD_TENANT/SWITCHBOARD_SUBJECT), which is what the local stack does.
// Exit codes: 0 done; 1 the suite refused or failed (code, message, reason and metadata on
// stderr); 2 a bad command line.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/money.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
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
  calls start   --contact=W --number=N [--phone=+E164] [--name=NAME] [--agent=A] [--kind=K]
                [--sdp=TEXT]                                place a call as agent A (default:
                                                            the token's subject)
  calls answer  --call=ID [--agent=A] [--sdp=TEXT]          answer a ringing inbound call
  calls reject  --call=ID [--reason=T]                      decline it for the whole business
  calls end     --call=ID                                   hang up (or cancel before answer)
  calls get     --call=ID                                   every field of one call
  calls list    [--filter=F] [--query=Q] [--page-size=N] [--page-token=T]
                                                            the Calls page's history rows
  calls stats   [--from=RFC3339 --to=RFC3339] [--filter=F]  the summary cards (default: this
                                                            month in the tenant's time zone)
  calls analytics [--period=P] [--granularity=G] [--filter=F]
                                                            buckets, top contacts, averages
  calls export  [--filter=F] [--query=Q] [--time-zone=Z] [--out=FILE]
                                                            the history as CSV (default stdout)
  calls notes add    --call=ID --text=T                     an internal note on a call
  calls notes list   --call=ID | --contact=W [--page-size=N] [--page-token=T]
                                                            a call's or a contact's notes
  calls notes edit   --note=ID --text=T                     replace a note's text
  calls notes delete --note=ID
  calls callbacks schedule --contact=W --number=N (--in=10m | --at=RFC3339) [--agent=A]
                           [--phone=+E164] [--name=NAME] [--note=T] [--source-call=ID]
                                                            promise to call a contact back
  calls callbacks list     [--filter=F] [--page-size=N] [--page-token=T]
                                                            pending and due callbacks
  calls callbacks complete --callback=ID [--call=ID]        done, by that call
  calls callbacks cancel   --callback=ID [--reason=T]
  calls permission --contact=W --number=N --text=T          send Meta's call-permission request
  calls settings [--time-zone=Z] [--language=L]             show, or change (admin role)
  eligibility check   --contact=W --number=N [--kind=K] [--agent=A]
                                                            may this call happen?
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
                      calls.state.v1 (SWITCHBOARD_KAFKA) without placing it
  (W: the contact's WhatsApp id, N: the business number's phone_number_id)
  (K: user_requested, agent_offered, long_term; default user_requested)
  (P: last_24_hours, last_7_days, last_30_days, this_month, last_month; default last_7_days)
  (G: hour, day, week, month; default day, hour for last_24_hours)
  (F: the API's filter, e.g. 'direction = INBOUND AND (state = MISSED OR state = REJECTED)')
  (calls mutations take --request-id=R, an idempotency key; default a fresh UUID)

environment: SWITCHBOARD_ADDR, SWITCHBOARD_TOKEN, SWITCHBOARD_AUTH_SECRET,
             SWITCHBOARD_TENANT, SWITCHBOARD_SUBJECT
)";

// What `calls start` and `calls answer` send when no --sdp is given: a minimal WebRTC audio
// session (Opus over DTLS-SRTP, ICE, one bundled m-line), as a browser would produce.
constexpr char kSdpOffer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic: WMS switchboardctl\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Sw1t\r\n"
    "a=ice-pwd:c0nsoleDemoIcePassword0001\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "5B:2A:0E:74:9C:11:D3:8F:6A:40:B7:E2:19:C5:03:7D:88:4F:A1:2C:E6:90:3B:57:0D:C8:61:F4:2E:9A:"
    "B5:13\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=msid:switchboardctl audio0\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=ssrc:1001 cname:switchboardctl\r\n";

// The answer's counterpart: same media, and the DTLS client role an answer must take.
constexpr char kSdpAnswer[] =
    "v=0\r\n"
    "o=- 7302174421185046822 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic: WMS switchboardctl\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Sw2a\r\n"
    "a=ice-pwd:c0nsoleDemoIcePassword0002\r\n"
    "a=fingerprint:sha-256 "
    "1C:9E:47:B0:3D:82:F5:6A:E1:08:73:2B:C4:5F:90:D6:3A:E8:71:0C:B9:24:6F:D5:82:1E:A7:43:C0:5B:"
    "98:E6\r\n"
    "a=setup:active\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=msid:switchboardctl audio0\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=ssrc:2002 cname:switchboardctl\r\n";

// An export may stream a long history; everything else answers within the default deadline.
constexpr absl::Duration kDeadline = absl::Seconds(10);
constexpr absl::Duration kExportDeadline = absl::Minutes(10);

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
  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  // The i-th word, or "" past the end.
  std::string Word(size_t i) const { return i < words.size() ? words[i] : ""; }
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

// A bad command line rather than a refusal by the suite: Fail() reports it with exit code 2.
constexpr char kUsageReason[] = "CLI_USAGE";

absl::Status UsageError(absl::string_view message) {
  return core::InvalidArgument(kUsageReason, message);
}

int Fail(const absl::Status& s) {
  if (core::ReasonOf(s) == kUsageReason) {
    std::fprintf(stderr, "switchboardctl: %s (see --help)\n", std::string(s.message()).c_str());
    return 2;
  }
  std::string reason = core::ReasonOf(s);
  std::string details;
  for (const auto& [key, value] : core::MetadataOf(s)) {
    absl::StrAppend(&details, " ", key, "=", value);
  }
  std::fprintf(stderr, "error: %s %s%s%s%s\n", absl::StatusCodeToString(s.code()).c_str(),
               std::string(s.message()).c_str(), reason.empty() ? "" : " reason=", reason.c_str(),
               details.c_str());
  return 1;
}

int Done(const absl::Status& s) { return s.ok() ? 0 : Fail(s); }

int UnknownCommand() {
  std::fputs(kUsage, stderr);
  return 2;
}

absl::StatusOr<std::string> Required(const Args& args, const std::string& name) {
  std::string v = args.Flag(name);
  if (v.empty()) return UsageError(absl::StrCat("--", name, " is required"));
  return v;
}

absl::StatusOr<int32_t> CountFlag(const Args& args, const std::string& name) {
  std::string v = args.Flag(name);
  int32_t n = 0;
  if (!v.empty() && (!absl::SimpleAtoi(v, &n) || n < 0)) {
    return UsageError(absl::StrCat("--", name, " must be a whole number >= 0"));
  }
  return n;
}

absl::StatusOr<std::optional<absl::Time>> TimeFlag(const Args& args, const std::string& name) {
  std::string v = args.Flag(name);
  if (v.empty()) return std::nullopt;
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, v, &t, &error)) {
    return UsageError(absl::StrCat("--", name, " must be RFC 3339, e.g. 2026-11-01T00:00:00Z"));
  }
  return t;
}

// A flag naming one value of an enum, e.g. --kind=agent_offered.
template <typename Enum, size_t N>
absl::StatusOr<Enum> EnumFlag(const Args& args, const std::string& name,
                              const std::pair<const char*, Enum> (&values)[N], Enum fallback) {
  std::string v = args.Flag(name);
  if (v.empty()) return fallback;
  std::vector<std::string> names;
  for (const auto& [text, value] : values) {
    if (v == text) return value;
    names.emplace_back(text);
  }
  return UsageError(absl::StrCat("--", name, " must be one of ", absl::StrJoin(names, ", ")));
}

// The idempotency key of a mutation.
std::string RequestId(const Args& args) { return args.Flag("request-id", core::NewId()); }

// The contact (--contact, its WhatsApp id) and the business number (--number) a command is about.
template <typename Request>
absl::Status Target(const Args& args, Request* req) {
  std::string contact = args.Flag("contact");
  std::string number = args.Flag("number");
  if (contact.empty() || number.empty()) return UsageError("--contact and --number are required");
  req->mutable_contact()->set_wa_id(contact);
  req->set_business_phone_number_id(number);
  return absl::OkStatus();
}

// Target, plus what the Calls page shows of the contact (--phone, --name) when given.
template <typename Request>
absl::Status NamedTarget(const Args& args, Request* req) {
  RETURN_IF_ERROR(Target(args, req));
  req->mutable_contact()->set_phone_e164(args.Flag("phone"));
  req->mutable_contact()->set_display_name(args.Flag("name"));
  return absl::OkStatus();
}

constexpr std::pair<const char*, eligibility::v1::CallKind> kKinds[] = {
    {"user_requested", eligibility::v1::CALL_KIND_USER_REQUESTED},
    {"agent_offered", eligibility::v1::CALL_KIND_AGENT_OFFERED},
    {"long_term", eligibility::v1::CALL_KIND_LONG_TERM_CONSENT},
};

absl::StatusOr<eligibility::v1::CallKind> KindFlag(const Args& args) {
  return EnumFlag(args, "kind", kKinds, eligibility::v1::CALL_KIND_USER_REQUESTED);
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

// One service's stub and what every RPC to it carries: the caller's bearer token (none with
// --anonymous) and a deadline. Each RPC gets a fresh ClientContext, so a command may make several.
//
//   ASSIGN_OR_RETURN(auto client, Client<calls::v1::CallsService>::Connect(args, channel));
//   RETURN_IF_ERROR(client.Call(&calls::v1::CallsService::Stub::GetCall, req, &resp));
template <typename Service>
class Client {
 public:
  using Stub = typename Service::Stub;

  static absl::StatusOr<Client> Connect(const Args& args,
                                        const std::shared_ptr<grpc::Channel>& channel) {
    std::string token;
    if (!args.Has("anonymous")) {
      ASSIGN_OR_RETURN(token, Token(args));
    }
    return Client(Service::NewStub(channel), std::move(token));
  }

  // The context of one RPC (streams use it directly).
  std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline = kDeadline) const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token_.empty()) ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return ctx;
  }

  // One unary RPC, its failure as the suite's status (reason and metadata included).
  template <typename Request, typename Response>
  absl::Status Call(grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                    const std::type_identity_t<Request>& req, Response* resp) const {
    std::unique_ptr<grpc::ClientContext> ctx = Context();
    return runtime::FromGrpcStatus((stub_.get()->*rpc)(ctx.get(), req, resp));
  }

  Stub& stub() const { return *stub_; }

 private:
  Client(std::unique_ptr<Stub> stub, std::string token)
      : stub_(std::move(stub)), token_(std::move(token)) {}

  std::unique_ptr<Stub> stub_;
  std::string token_;
};

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

// ---- the calls API ---------------------------------------------------------------------------

namespace cv = calls::v1;
using CallsClient = Client<cv::CallsService>;
using CallsStub = cv::CallsService::Stub;
using google::protobuf::Timestamp;

// "CALL_STATE_ENDED" → "ENDED".
std::string Short(const std::string& name, absl::string_view prefix) {
  return absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
}

// `s` padded, or cut with "…", to `width` characters (UTF-8 code points, so names in any
// script keep the columns).
std::string Cell(absl::string_view s, size_t width) {
  auto starts = [&](size_t i) { return (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80; };
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) chars += starts(i) ? 1 : 0;
  if (chars <= width) return absl::StrCat(s, std::string(width - chars, ' '));
  size_t kept = 0, i = 0;
  for (; i < s.size(); ++i) {
    if (starts(i) && kept++ == width - 1) break;
  }
  return absl::StrCat(s.substr(0, i), "…");
}

std::string Or(const std::string& value, const char* fallback) {
  return value.empty() ? fallback : value;
}

// Talk time as the Calls page shows it: MM:SS, H:MM:SS past an hour.
std::string MmSs(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  int64_t h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
  return h > 0 ? absl::StrFormat("%d:%02d:%02d", h, m, s) : absl::StrFormat("%02d:%02d", m, s);
}

// Basis points as a percentage with one decimal, rounded half up: 6666 → "66.7 %".
std::string Percent(int32_t bps) {
  int32_t tenths = (bps + 5) / 10;
  return absl::StrCat(tenths / 10, ".", tenths % 10, " %");
}

std::string Amount(const events::v1::Money& m) {
  return core::Money(m.amount_micros(), m.currency_code().empty() ? "USD" : m.currency_code())
      .ToString();
}

std::string LocalTime(const Timestamp& t, absl::TimeZone zone) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", core::FromProto(t), zone);
}

// With the offset, for lines that do not name the zone in a header.
std::string LocalTimeWithOffset(const Timestamp& t, absl::TimeZone zone) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Ez", core::FromProto(t), zone);
}

// Who a contact is, in one short cell: the name, else the phone, else the WhatsApp id.
std::string ContactLabel(const events::v1::ContactRef& c) {
  if (!c.display_name().empty()) return c.display_name();
  if (!c.phone_e164().empty()) return c.phone_e164();
  return Or(c.wa_id().empty() ? c.user_id() : c.wa_id(), "-");
}

std::string Phone(const events::v1::ContactRef& c) {
  return Or(c.phone_e164().empty() ? c.wa_id() : c.phone_e164(), "-");
}

// The tenant's time zone (GetCallsSettings): the Calls page shows every time in it.
absl::StatusOr<absl::TimeZone> TenantZone(const CallsClient& client) {
  cv::GetCallsSettingsResponse resp;
  RETURN_IF_ERROR(client.Call(&CallsStub::GetCallsSettings, {}, &resp));
  absl::TimeZone zone;
  // A zone this machine's tz database lacks shows as UTC (the header says which).
  if (!absl::LoadTimeZone(resp.settings().time_zone(), &zone)) return absl::UTCTimeZone();
  return zone;
}

// The Calls page's columns, one call per row; rows start with the call id for other commands.
constexpr char kCallColumns[] = "  %-36s  %-*s  %-3s  %s  %s  %-8s  %-8s  %-7s  %s\n";

// A time column's header names the zone ("TIME (America/Sao_Paulo)"); its width fits both
// the header and a "2026-11-30 14:05:09".
std::string TimeHeader(const char* what, absl::TimeZone zone) {
  return absl::StrCat(what, " (", zone.name(), ")");
}

int TimeWidth(const char* what, absl::TimeZone zone) {
  return static_cast<int>(std::max<size_t>(19, TimeHeader(what, zone).size()));
}

void PrintCallHeader(absl::TimeZone zone) {
  std::printf(kCallColumns, "CALL", TimeWidth("TIME", zone), TimeHeader("TIME", zone).c_str(),
              "DIR", Cell("CONTACT", 20).c_str(), Cell("PHONE", 16).c_str(), "STATE", "DURATION",
              "COST", "AGENT");
}

void PrintCallRow(const cv::Call& c, absl::TimeZone zone) {
  std::printf(
      kCallColumns, c.call_id().c_str(), TimeWidth("TIME", zone),
      c.has_offered_time() ? LocalTime(c.offered_time(), zone).c_str() : "-",
      c.direction() == cv::CALL_DIRECTION_INBOUND    ? "in"
      : c.direction() == cv::CALL_DIRECTION_OUTBOUND ? "out"
                                                     : "?",
      Cell(Or(c.contact().display_name(), "-"), 20).c_str(), Cell(Phone(c.contact()), 16).c_str(),
      Short(cv::CallState_Name(c.state()), "CALL_STATE_").c_str(),
      (c.state() == cv::CALL_STATE_ENDED ? MmSs(c.duration().seconds()) : "-").c_str(),
      c.has_cost() ? Amount(c.cost()).c_str() : "-", Or(c.answered_by_agent_id(), "-").c_str());
}

// `calls get`: every field the call has.
void PrintCall(const cv::Call& c, absl::TimeZone zone) {
  auto line = [](const char* key, const std::string& value) {
    if (!value.empty()) std::printf("  %-18s %s\n", key, value.c_str());
  };
  auto when = [&](const char* key, bool has, const Timestamp& t) {
    if (has) line(key, LocalTimeWithOffset(t, zone));
  };
  line("call", c.call_id());
  line("tenant", c.tenant_id());
  line("meta call", c.meta_call_id());
  if (c.direction() != cv::CALL_DIRECTION_UNSPECIFIED) {
    line("direction", Short(cv::CallDirection_Name(c.direction()), "CALL_DIRECTION_"));
  }
  line("state", Short(cv::CallState_Name(c.state()), "CALL_STATE_"));
  std::string number = c.business_phone_number_id();
  if (!c.business_display_number().empty()) {
    absl::StrAppend(&number, " (", c.business_display_number(), ")");
  }
  line("business number", number);
  const auto& contact = c.contact();
  std::vector<std::string> who;
  for (const std::string& part : {contact.display_name(), contact.phone_e164()}) {
    if (!part.empty()) who.push_back(part);
  }
  if (!contact.wa_id().empty()) who.push_back(absl::StrCat("wa_id ", contact.wa_id()));
  if (!contact.user_id().empty()) who.push_back(absl::StrCat("user_id ", contact.user_id()));
  line("contact", absl::StrJoin(who, ", "));
  line("contact region", c.contact_region_code());
  line("team", c.team_id());
  line("offered to", absl::StrJoin(c.offered_agent_ids(), ", "));
  line("agent", c.answered_by_agent_id());
  when("offered", c.has_offered_time(), c.offered_time());
  when("ringing", c.has_ringing_time(), c.ringing_time());
  when("answered", c.has_answered_time(), c.answered_time());
  when("hang-up requested", c.has_hangup_requested_time(), c.hangup_requested_time());
  when("ended", c.has_ended_time(), c.ended_time());
  if (c.has_duration()) line("duration", MmSs(c.duration().seconds()));
  line("end reason", c.end_reason());
  if (c.meta_error_code() != 0) line("meta error code", absl::StrCat(c.meta_error_code()));
  if (c.disconnected_by() != cv::DISCONNECTOR_UNSPECIFIED) {
    line("disconnected by", Short(cv::Disconnector_Name(c.disconnected_by()), "DISCONNECTOR_"));
  }
  line("cost", c.has_cost() ? Amount(c.cost()) : "");
  if (c.sequence() != 0) line("sequence", absl::StrCat(c.sequence()));
}

void PrintNextPage(const std::string& token) {
  if (!token.empty()) std::printf("  next page: --page-token=%s\n", token.c_str());
}

// start, answer, reject and end print the call they leave behind as one row. The zone comes
// first: a mutation that succeeded must not end in an error.
template <typename Request, typename Response>
absl::Status CallCommand(const CallsClient& client,
                         grpc::Status (CallsStub::*rpc)(grpc::ClientContext*, const Request&,
                                                        Response*),
                         const Request& req) {
  ASSIGN_OR_RETURN(absl::TimeZone zone, TenantZone(client));
  Response resp;
  RETURN_IF_ERROR(client.Call(rpc, req, &resp));
  PrintCallRow(resp.call(), zone);
  return absl::OkStatus();
}

absl::Status StartCall(const Args& args, const CallsClient& client) {
  cv::StartCallRequest req;
  RETURN_IF_ERROR(NamedTarget(args, &req));
  req.set_agent_id(args.Flag("agent"));
  ASSIGN_OR_RETURN(eligibility::v1::CallKind kind, KindFlag(args));
  req.set_call_kind(kind);
  req.set_sdp_offer(args.Flag("sdp", kSdpOffer));
  req.set_request_id(RequestId(args));
  return CallCommand(client, &CallsStub::StartCall, req);
}

absl::Status AnswerCall(const Args& args, const CallsClient& client) {
  cv::AnswerCallRequest req;
  ASSIGN_OR_RETURN(*req.mutable_call_id(), Required(args, "call"));
  req.set_agent_id(args.Flag("agent"));
  req.set_sdp_answer(args.Flag("sdp", kSdpAnswer));
  req.set_request_id(RequestId(args));
  return CallCommand(client, &CallsStub::AnswerCall, req);
}

absl::Status RejectCall(const Args& args, const CallsClient& client) {
  cv::RejectCallRequest req;
  ASSIGN_OR_RETURN(*req.mutable_call_id(), Required(args, "call"));
  req.set_reason(args.Flag("reason"));
  req.set_request_id(RequestId(args));
  return CallCommand(client, &CallsStub::RejectCall, req);
}

absl::Status EndCall(const Args& args, const CallsClient& client) {
  cv::EndCallRequest req;
  ASSIGN_OR_RETURN(*req.mutable_call_id(), Required(args, "call"));
  req.set_request_id(RequestId(args));
  return CallCommand(client, &CallsStub::EndCall, req);
}

absl::Status GetCall(const Args& args, const CallsClient& client) {
  cv::GetCallRequest req;
  ASSIGN_OR_RETURN(*req.mutable_call_id(), Required(args, "call"));
  cv::GetCallResponse resp;
  RETURN_IF_ERROR(client.Call(&CallsStub::GetCall, req, &resp));
  ASSIGN_OR_RETURN(absl::TimeZone zone, TenantZone(client));
  PrintCall(resp.call(), zone);
  return absl::OkStatus();
}

absl::Status ListCalls(const Args& args, const CallsClient& client) {
  cv::ListCallsRequest req;
  req.set_filter(args.Flag("filter"));
  req.set_query(args.Flag("query"));
  ASSIGN_OR_RETURN(int32_t page_size, CountFlag(args, "page-size"));
  req.set_page_size(page_size);
  req.set_page_token(args.Flag("page-token"));
  cv::ListCallsResponse resp;
  RETURN_IF_ERROR(client.Call(&CallsStub::ListCalls, req, &resp));
  ASSIGN_OR_RETURN(absl::TimeZone zone, TenantZone(client));
  if (resp.calls().empty()) {
    std::printf("  no calls\n");
  } else {
    PrintCallHeader(zone);
    for (const auto& call : resp.calls()) PrintCallRow(call, zone);
  }
  PrintNextPage(resp.next_page_token());
  return absl::OkStatus();
}

absl::Status CallStats(const Args& args, const CallsClient& client) {
  cv::GetCallStatsRequest req;
  ASSIGN_OR_RETURN(std::optional<absl::Time> from, TimeFlag(args, "from"));
  ASSIGN_OR_RETURN(std::optional<absl::Time> to, TimeFlag(args, "to"));
  if (from.has_value() != to.has_value()) {
    return UsageError("give both --from and --to, or neither");
  }
  if (from.has_value()) {
    *req.mutable_start_time() = core::ToProto(*from);
    *req.mutable_end_time() = core::ToProto(*to);
  }
  req.set_filter(args.Flag("filter"));
  cv::GetCallStatsResponse resp;
  RETURN_IF_ERROR(client.Call(&CallsStub::GetCallStats, req, &resp));
  ASSIGN_OR_RETURN(absl::TimeZone zone, TenantZone(client));
  int64_t talk = resp.total_duration().seconds();
  absl::PrintF("  period          %s to %s (%s)\n", LocalTime(resp.start_time(), zone),
               LocalTime(resp.end_time(), zone), zone.name());
  absl::PrintF(
      "  total calls     %d  (answered %d, missed %d, rejected %d, failed %d; "
      "inbound %d, outbound %d)\n",
      resp.total_calls(), resp.answered_calls(), resp.missed_calls(), resp.rejected_calls(),
      resp.failed_calls(), resp.inbound_calls(), resp.outbound_calls());
  absl::PrintF("  success rate    %s\n", Percent(resp.success_rate_bps()));
  absl::PrintF("  total minutes   %d.%d  (talk time %s, %s on average per answered call)\n",
               talk / 60, talk % 60 * 10 / 60, MmSs(talk), MmSs(resp.average_duration().seconds()));
  absl::PrintF("  billed minutes  %d\n", resp.billed_minutes());
  absl::PrintF("  total cost      %s\n", Amount(resp.total_cost()));
  return absl::OkStatus();
}

constexpr std::pair<const char*, cv::AnalyticsPeriod> kPeriods[] = {
    {"last_24_hours", cv::ANALYTICS_PERIOD_LAST_24_HOURS},
    {"last_7_days", cv::ANALYTICS_PERIOD_LAST_7_DAYS},
    {"last_30_days", cv::ANALYTICS_PERIOD_LAST_30_DAYS},
    {"this_month", cv::ANALYTICS_PERIOD_THIS_MONTH},
    {"last_month", cv::ANALYTICS_PERIOD_LAST_MONTH},
};

constexpr std::pair<const char*, cv::TimeGranularity> kGranularities[] = {
    {"hour", cv::TIME_GRANULARITY_HOUR},
    {"day", cv::TIME_GRANULARITY_DAY},
    {"week", cv::TIME_GRANULARITY_WEEK},
    {"month", cv::TIME_GRANULARITY_MONTH},
};

absl::Status CallAnalytics(const Args& args, const CallsClient& client) {
  cv::GetCallAnalyticsRequest req;
  ASSIGN_OR_RETURN(cv::AnalyticsPeriod period,
                   EnumFlag(args, "period", kPeriods, cv::ANALYTICS_PERIOD_LAST_7_DAYS));
  ASSIGN_OR_RETURN(cv::TimeGranularity granularity,
                   EnumFlag(args, "granularity", kGranularities, cv::TIME_GRANULARITY_UNSPECIFIED));
  req.set_period(period);
  req.set_granularity(granularity);
  req.set_filter(args.Flag("filter"));
  cv::GetCallAnalyticsResponse resp;
  RETURN_IF_ERROR(client.Call(&CallsStub::GetCallAnalytics, req, &resp));
  ASSIGN_OR_RETURN(absl::TimeZone zone, TenantZone(client));
  absl::PrintF("  period        %s to %s (%s), by %s\n", LocalTime(resp.start_time(), zone),
               LocalTime(resp.end_time(), zone), zone.name(),
               absl::AsciiStrToLower(
                   Short(cv::TimeGranularity_Name(resp.granularity()), "TIME_GRANULARITY_")));
  absl::PrintF("  %-19s  %5s  %8s  %6s  %8s  %6s  %4s  %4s  %8s  %s\n", "BUCKET", "CALLS",
               "ANSWERED", "MISSED", "REJECTED", "FAILED", "IN", "OUT", "TALK", "COST");
  auto row = [&](const std::string& label, const cv::CallBucket& b) {
    absl::PrintF("  %-19s  %5d  %8d  %6d  %8d  %6d  %4d  %4d  %8s  %s\n", label, b.total_calls(),
                 b.answered_calls(), b.missed_calls(), b.rejected_calls(), b.failed_calls(),
                 b.inbound_calls(), b.outbound_calls(), MmSs(b.total_duration().seconds()),
                 Amount(b.total_cost()));
  };
  int shown = 0;
  for (const auto& b : resp.buckets()) {
    if (b.total_calls() == 0) continue;  // the page's chart draws the empty ones; a list need not
    row(LocalTime(b.start_time(), zone), b);
    ++shown;
  }
  if (shown == 0) std::printf("  (no calls in this period)\n");
  row("total", resp.totals());
  absl::PrintF("  success rate  %s    average duration  %s\n", Percent(resp.success_rate_bps()),
               MmSs(resp.average_duration().seconds()));
  if (!resp.top_contacts().empty()) std::printf("  top contacts\n");
  for (const auto& t : resp.top_contacts()) {
    absl::PrintF("    %s  %s  %4d %-5s  %s\n", Cell(ContactLabel(t.contact()), 20),
                 Cell(Phone(t.contact()), 16), t.call_count(),
                 t.call_count() == 1 ? "call" : "calls", MmSs(t.total_duration().seconds()));
  }
  return absl::OkStatus();
}

absl::Status ExportCalls(const Args& args, const CallsClient& client) {
  cv::ExportCallsRequest req;
  req.set_filter(args.Flag("filter"));
  req.set_query(args.Flag("query"));
  req.set_time_zone(args.Flag("time-zone"));
  std::string path = args.Flag("out");
  FILE* out = stdout;
  if (!path.empty()) {
    out = std::fopen(path.c_str(), "wb");
    if (out == nullptr) {
      return core::Error(absl::StatusCode::kFailedPrecondition, "CANNOT_WRITE",
                         absl::StrCat("cannot open ", path, " for writing"));
    }
  }
  std::unique_ptr<grpc::ClientContext> ctx = client.Context(kExportDeadline);
  auto reader = client.stub().ExportCalls(ctx.get(), req);
  cv::ExportCallsResponse chunk;
  int64_t bytes = 0;
  bool written = true;
  while (written && reader->Read(&chunk)) {
    written = std::fwrite(chunk.data().data(), 1, chunk.data().size(), out) == chunk.data().size();
    bytes += static_cast<int64_t>(chunk.data().size());
  }
  if (!written) ctx->TryCancel();  // stop the stream; Finish() then reports CANCELLED
  absl::Status s = runtime::FromGrpcStatus(reader->Finish());
  written = (out == stdout ? std::fflush(out) : std::fclose(out)) == 0 && written;
  if (!written) {
    return core::Error(
        absl::StatusCode::kDataLoss, "CANNOT_WRITE",
        absl::StrCat("writing the CSV to ", path.empty() ? "stdout" : path, " failed"));
  }
  RETURN_IF_ERROR(s);
  if (!path.empty()) {
    absl::PrintF("  wrote %d bytes of CSV to %s\n", bytes, path);
  }
  return absl::OkStatus();
}

// ---- notes, callbacks, permission requests, settings -----------------------------------------

void PrintNote(const cv::CallNote& n, absl::TimeZone zone) {
  std::string edited;
  if (n.has_update_time() && core::FromProto(n.update_time()) != core::FromProto(n.create_time())) {
    edited = absl::StrCat(" (edited ", LocalTime(n.update_time(), zone), ")");
  }
  std::printf("  %s  %s%s  %s  on call %s\n    %s\n", n.note_id().c_str(),
              LocalTimeWithOffset(n.create_time(), zone).c_str(), edited.c_str(),
              n.author_agent_id().c_str(), n.call_id().c_str(),
              absl::StrReplaceAll(n.text(), {{"\n", "\n    "}}).c_str());
}

absl::Status NotesCommand(const Args& args, const CallsClient& client) {
  std::string verb = args.Word(2);
  if (verb != "add" && verb != "list" && verb != "edit" && verb != "delete") {
    return UsageError("calls notes: add, list, edit or delete");
  }
  ASSIGN_OR_RETURN(absl::TimeZone zone, TenantZone(client));
  if (verb == "add") {
    cv::AddCallNoteRequest req;
    ASSIGN_OR_RETURN(*req.mutable_call_id(), Required(args, "call"));
    ASSIGN_OR_RETURN(*req.mutable_text(), Required(args, "text"));
    req.set_request_id(RequestId(args));
    cv::AddCallNoteResponse resp;
    RETURN_IF_ERROR(client.Call(&CallsStub::AddCallNote, req, &resp));
    PrintNote(resp.note(), zone);
  } else if (verb == "list") {
    cv::ListCallNotesRequest req;
    if (args.Has("call") == args.Has("contact")) {
      return UsageError("calls notes list needs --call or --contact (one of them)");
    }
    if (args.Has("call")) {
      ASSIGN_OR_RETURN(*req.mutable_call_id(), Required(args, "call"));
    } else {
      ASSIGN_OR_RETURN(*req.mutable_contact()->mutable_wa_id(), Required(args, "contact"));
    }
    ASSIGN_OR_RETURN(int32_t page_size, CountFlag(args, "page-size"));
    req.set_page_size(page_size);
    req.set_page_token(args.Flag("page-token"));
    cv::ListCallNotesResponse resp;
    RETURN_IF_ERROR(client.Call(&CallsStub::ListCallNotes, req, &resp));
    if (resp.notes().empty()) std::printf("  no notes\n");
    for (const auto& n : resp.notes()) PrintNote(n, zone);
    PrintNextPage(resp.next_page_token());
  } else if (verb == "edit") {
    cv::UpdateCallNoteRequest req;
    ASSIGN_OR_RETURN(*req.mutable_note_id(), Required(args, "note"));
    ASSIGN_OR_RETURN(*req.mutable_text(), Required(args, "text"));
    req.set_request_id(RequestId(args));
    cv::UpdateCallNoteResponse resp;
    RETURN_IF_ERROR(client.Call(&CallsStub::UpdateCallNote, req, &resp));
    PrintNote(resp.note(), zone);
  } else {
    cv::DeleteCallNoteRequest req;
    ASSIGN_OR_RETURN(*req.mutable_note_id(), Required(args, "note"));
    req.set_request_id(RequestId(args));
    cv::DeleteCallNoteResponse resp;
    RETURN_IF_ERROR(client.Call(&CallsStub::DeleteCallNote, req, &resp));
    std::printf("  note %s deleted\n", req.note_id().c_str());
  }
  return absl::OkStatus();
}

constexpr char kCallbackColumns[] = "  %-36s  %-*s  %-9s  %s  %-16s  %-10s  %s\n";

void PrintCallbackHeader(absl::TimeZone zone) {
  std::printf(kCallbackColumns, "CALLBACK", TimeWidth("DUE", zone), TimeHeader("DUE", zone).c_str(),
              "STATE", Cell("CONTACT", 20).c_str(), "NUMBER", "AGENT", "NOTE");
}

void PrintCallbackRow(const cv::Callback& cb, absl::TimeZone zone) {
  std::vector<std::string> note;
  if (!cb.note().empty()) note.push_back(cb.note());
  if (!cb.completed_call_id().empty()) {
    note.push_back(absl::StrCat("[by call ", cb.completed_call_id(), "]"));
  }
  if (!cb.cancel_reason().empty()) {
    note.push_back(absl::StrCat("[canceled: ", cb.cancel_reason(), "]"));
  }
  std::printf(kCallbackColumns, cb.callback_id().c_str(), TimeWidth("DUE", zone),
              LocalTime(cb.due_time(), zone).c_str(),
              Short(cv::CallbackState_Name(cb.state()), "CALLBACK_STATE_").c_str(),
              Cell(ContactLabel(cb.contact()), 20).c_str(), cb.business_phone_number_id().c_str(),
              Or(cb.assigned_agent_id(), "any").c_str(), absl::StrJoin(note, " ").c_str());
}

absl::Status CallbacksCommand(const Args& args, const CallsClient& client) {
  std::string verb = args.Word(2);
  if (verb != "schedule" && verb != "list" && verb != "complete" && verb != "cancel") {
    return UsageError("calls callbacks: schedule, list, complete or cancel");
  }
  ASSIGN_OR_RETURN(absl::TimeZone zone, TenantZone(client));
  if (verb == "schedule") {
    cv::ScheduleCallbackRequest req;
    RETURN_IF_ERROR(NamedTarget(args, &req));
    if (args.Has("in") == args.Has("at")) return UsageError("give --in=10m or --at=RFC3339");
    absl::Time due;
    if (args.Has("in")) {
      absl::Duration in;
      if (!absl::ParseDuration(args.Flag("in"), &in) || in <= absl::ZeroDuration()) {
        return UsageError("--in must be a positive duration such as 10m or 1h30m");
      }
      due = absl::Now() + in;
    } else {
      ASSIGN_OR_RETURN(std::optional<absl::Time> at, TimeFlag(args, "at"));
      if (!at.has_value()) return UsageError("--at must be RFC 3339");
      due = *at;
    }
    *req.mutable_due_time() = core::ToProto(due);
    req.set_assigned_agent_id(args.Flag("agent"));
    req.set_note(args.Flag("note"));
    req.set_source_call_id(args.Flag("source-call"));
    req.set_request_id(RequestId(args));
    cv::ScheduleCallbackResponse resp;
    RETURN_IF_ERROR(client.Call(&CallsStub::ScheduleCallback, req, &resp));
    PrintCallbackRow(resp.callback(), zone);
  } else if (verb == "list") {
    cv::ListCallbacksRequest req;
    req.set_filter(args.Flag("filter"));
    ASSIGN_OR_RETURN(int32_t page_size, CountFlag(args, "page-size"));
    req.set_page_size(page_size);
    req.set_page_token(args.Flag("page-token"));
    cv::ListCallbacksResponse resp;
    RETURN_IF_ERROR(client.Call(&CallsStub::ListCallbacks, req, &resp));
    if (resp.callbacks().empty()) {
      std::printf("  no callbacks\n");
    } else {
      PrintCallbackHeader(zone);
      for (const auto& cb : resp.callbacks()) PrintCallbackRow(cb, zone);
    }
    PrintNextPage(resp.next_page_token());
  } else if (verb == "complete") {
    cv::CompleteCallbackRequest req;
    ASSIGN_OR_RETURN(*req.mutable_callback_id(), Required(args, "callback"));
    req.set_call_id(args.Flag("call"));
    req.set_request_id(RequestId(args));
    cv::CompleteCallbackResponse resp;
    RETURN_IF_ERROR(client.Call(&CallsStub::CompleteCallback, req, &resp));
    PrintCallbackRow(resp.callback(), zone);
  } else {
    cv::CancelCallbackRequest req;
    ASSIGN_OR_RETURN(*req.mutable_callback_id(), Required(args, "callback"));
    req.set_reason(args.Flag("reason"));
    req.set_request_id(RequestId(args));
    cv::CancelCallbackResponse resp;
    RETURN_IF_ERROR(client.Call(&CallsStub::CancelCallback, req, &resp));
    PrintCallbackRow(resp.callback(), zone);
  }
  return absl::OkStatus();
}

absl::Status RequestPermission(const Args& args, const CallsClient& client) {
  cv::RequestCallPermissionRequest req;
  RETURN_IF_ERROR(Target(args, &req));
  ASSIGN_OR_RETURN(*req.mutable_body_text(), Required(args, "text"));
  req.set_request_id(RequestId(args));
  ASSIGN_OR_RETURN(absl::TimeZone zone, TenantZone(client));
  cv::RequestCallPermissionResponse resp;
  RETURN_IF_ERROR(client.Call(&CallsStub::RequestCallPermission, req, &resp));
  std::printf("  permission request sent to %s at %s\n", req.contact().wa_id().c_str(),
              LocalTimeWithOffset(resp.request_time(), zone).c_str());
  return absl::OkStatus();
}

absl::Status Settings(const Args& args, const CallsClient& client) {
  cv::CallsSettings settings;
  if (!args.Has("time-zone") && !args.Has("language")) {
    cv::GetCallsSettingsResponse resp;
    RETURN_IF_ERROR(client.Call(&CallsStub::GetCallsSettings, {}, &resp));
    settings = resp.settings();
  } else {
    cv::UpdateCallsSettingsRequest req;
    if (args.Has("time-zone")) {
      req.mutable_settings()->set_time_zone(args.Flag("time-zone"));
      req.mutable_update_mask()->add_paths("time_zone");
    }
    if (args.Has("language")) {
      req.mutable_settings()->set_language(args.Flag("language"));
      req.mutable_update_mask()->add_paths("language");
    }
    cv::UpdateCallsSettingsResponse resp;
    RETURN_IF_ERROR(client.Call(&CallsStub::UpdateCallsSettings, req, &resp));
    settings = resp.settings();
  }
  std::printf("  time zone  %s\n  language   %s\n", settings.time_zone().c_str(),
              settings.language().c_str());
  return absl::OkStatus();
}

int CallsCommand(const Args& args, const std::shared_ptr<grpc::Channel>& channel) {
  using Handler = absl::Status (*)(const Args&, const CallsClient&);
  static const std::map<std::string, Handler> kVerbs = {
      {"start", StartCall},
      {"answer", AnswerCall},
      {"reject", RejectCall},
      {"end", EndCall},
      {"get", GetCall},
      {"list", ListCalls},
      {"stats", CallStats},
      {"analytics", CallAnalytics},
      {"export", ExportCalls},
      {"notes", NotesCommand},
      {"callbacks", CallbacksCommand},
      {"permission", RequestPermission},
      {"settings", Settings},
  };
  auto verb = kVerbs.find(args.Word(1));
  if (verb == kVerbs.end()) return UnknownCommand();
  auto client = CallsClient::Connect(args, channel);
  if (!client.ok()) return Fail(client.status());
  return Done(verb->second(args, *client));
}

// ---- numbers and eligibility -----------------------------------------------------------------

int NumbersCommand(const Args& args, const std::shared_ptr<grpc::Channel>& channel) {
  using Stub = webhooks::v1::WebhooksService::Stub;
  std::string verb = args.Word(1);
  if (verb != "register" && verb != "list" && verb != "delete") return UnknownCommand();
  auto client = Client<webhooks::v1::WebhooksService>::Connect(args, channel);
  if (!client.ok()) return Fail(client.status());
  auto print = [](const webhooks::v1::PhoneNumber& n) {
    std::printf("  %-18s waba %-18s %-18s app %s\n", n.phone_number_id().c_str(),
                n.waba_id().c_str(), n.display_phone_number().c_str(),
                n.app_id().empty() ? "(default)" : n.app_id().c_str());
  };
  absl::Status s;
  if (verb == "register") {
    webhooks::v1::RegisterPhoneNumberRequest req;
    req.set_phone_number_id(args.Flag("phone-number-id"));
    req.set_waba_id(args.Flag("waba-id"));
    req.set_display_phone_number(args.Flag("display"));
    req.set_app_id(args.Flag("app"));
    webhooks::v1::RegisterPhoneNumberResponse resp;
    s = client->Call(&Stub::RegisterPhoneNumber, req, &resp);
    if (s.ok()) print(resp.phone_number());
  } else if (verb == "list") {
    webhooks::v1::ListPhoneNumbersResponse resp;
    s = client->Call(&Stub::ListPhoneNumbers, {}, &resp);
    if (s.ok()) {
      for (const auto& n : resp.phone_numbers()) print(n);
    }
  } else {
    webhooks::v1::DeletePhoneNumberRequest req;
    req.set_phone_number_id(args.Flag("phone-number-id"));
    webhooks::v1::DeletePhoneNumberResponse resp;
    s = client->Call(&Stub::DeletePhoneNumber, req, &resp);
  }
  return Done(s);
}

namespace ev = eligibility::v1;

std::string Time(const Timestamp& t) {
  return absl::FormatTime("%H:%M:%S", absl::FromUnixSeconds(t.seconds()), absl::LocalTimeZone());
}

void PrintReasons(const char* title, const google::protobuf::RepeatedPtrField<ev::Reason>& rs) {
  for (const auto& r : rs) {
    std::printf(
        "    %-8s %-26s %s%s\n", title, r.code().c_str(), r.message().c_str(),
        r.has_clears_time() ? absl::StrCat(" (clears ", Time(r.clears_time()), ")").c_str() : "");
  }
}

absl::Status Eligibility(const Args& args, const Client<ev::EligibilityService>& client) {
  using Stub = ev::EligibilityService::Stub;
  std::string verb = args.Word(1);
  if (verb == "check") {
    ev::CheckEligibilityRequest req;
    RETURN_IF_ERROR(Target(args, &req));
    ASSIGN_OR_RETURN(ev::CallKind kind, KindFlag(args));
    req.set_call_kind(kind);
    req.set_agent_id(args.Flag("agent"));
    ev::CheckEligibilityResponse resp;
    RETURN_IF_ERROR(client.Call(&Stub::CheckEligibility, req, &resp));
    std::printf("  %s%s\n", resp.eligible() ? "ELIGIBLE" : "BLOCKED",
                resp.degraded() ? " (degraded)" : "");
    PrintReasons("blocked", resp.blocking_reasons());
    PrintReasons("warning", resp.warnings());
    return absl::OkStatus();
  }
  if (verb == "reserve") {
    ev::ReserveCallRequest req;
    RETURN_IF_ERROR(Target(args, &req));
    ASSIGN_OR_RETURN(ev::CallKind kind, KindFlag(args));
    req.set_call_kind(kind);
    req.set_request_id(RequestId(args));
    ev::ReserveCallResponse resp;
    RETURN_IF_ERROR(client.Call(&Stub::ReserveCall, req, &resp));
    std::printf("  %s %s\n", resp.granted() ? "GRANTED" : "DENIED", resp.reservation_id().c_str());
    PrintReasons("blocked", resp.blocking_reasons());
    return absl::OkStatus();
  }
  if (verb == "message") {
    ev::RecordInboundMessageRequest req;
    RETURN_IF_ERROR(Target(args, &req));
    req.set_text(args.Flag("text"));
    req.set_meta_message_id(absl::StrCat("wamid.", core::NewId()));
    ev::RecordInboundMessageResponse resp;
    RETURN_IF_ERROR(client.Call(&Stub::RecordInboundMessage, req, &resp));
    std::printf("  signal: %s\n", ev::MessageSignal_Name(resp.signal()).c_str());
    return absl::OkStatus();
  }
  if (verb == "consent") {
    ev::RecordConsentRequest req;
    RETURN_IF_ERROR(Target(args, &req));
    std::string c = args.Flag("consent", "meta_permission");
    req.set_kind(c == "long_term"        ? ev::CONSENT_KIND_LONG_TERM
                 : c == "call_request"   ? ev::CONSENT_KIND_CALL_REQUEST
                 : c == "offer_accepted" ? ev::CONSENT_KIND_AGENT_OFFER_ACCEPTED
                                         : ev::CONSENT_KIND_META_CALL_PERMISSION);
    req.set_source(ev::CONSENT_SOURCE_API);
    ev::RecordConsentResponse resp;
    RETURN_IF_ERROR(client.Call(&Stub::RecordConsent, req, &resp));
    std::printf("  recorded: %s\n", ev::ConsentAction_Name(resp.entry().action()).c_str());
    return absl::OkStatus();
  }
  // verb == "offer"
  ev::RecordCallOfferRequest req;
  RETURN_IF_ERROR(Target(args, &req));
  req.set_agent_id(args.Flag("agent", Env("SWITCHBOARD_SUBJECT", "operator")));
  ev::RecordCallOfferResponse resp;
  return client.Call(&Stub::RecordCallOffer, req, &resp);
}

int EligibilityCommand(const Args& args, const std::shared_ptr<grpc::Channel>& channel) {
  std::string verb = args.Word(1);
  if (verb != "check" && verb != "reserve" && verb != "message" && verb != "consent" &&
      verb != "offer") {
    return UnknownCommand();
  }
  auto client = Client<ev::EligibilityService>::Connect(args, channel);
  if (!client.ok()) return Fail(client.status());
  return Done(Eligibility(args, *client));
}

// Publishes a missed outbound call as the calls service does, without placing one: the demo's
// suspension scene needs five in a row, faster than Meta's ring timeout would give them.
int DevCommand(const Args& args) {
  if (args.Word(1) != "missed-call") return UnknownCommand();
  std::string brokers = args.Flag("kafka", Env("SWITCHBOARD_KAFKA"));
  std::string contact = args.Flag("contact");
  std::string number = args.Flag("number");
  if (brokers.empty() || contact.empty() || number.empty()) {
    return Fail(UsageError("--contact, --number and SWITCHBOARD_KAFKA are required"));
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
  if (args.words.empty() || args.Has("help")) {
    std::fputs(kUsage, args.words.empty() && !args.Has("help") ? stderr : stdout);
    return args.Has("help") ? 0 : 2;
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
