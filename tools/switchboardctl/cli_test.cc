#include "tools/switchboardctl/cli.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/core/error.h"
#include "switchboard/calls/v1/calls_service.pb.h"
#include "tools/switchboardctl/commands.h"
#include "tools/switchboardctl/run_result.h"

namespace switchboard::cli {
namespace {

// Output of one stream, in memory.
class Capture {
 public:
  Capture() : file_(open_memstream(&buf_, &size_)) { REQUIRE(file_ != nullptr); }
  ~Capture() {
    if (file_ != nullptr) std::fclose(file_);
    std::free(buf_);
  }
  std::FILE* file() { return file_; }
  std::string Take() {
    std::fclose(file_);
    file_ = nullptr;
    return std::string(buf_, size_);
  }

 private:
  char* buf_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

// The variables that would change what the tests see (a shell that sourced .run/env).
void ClearEnvironment() {
  for (const char* name :
       {"SWITCHBOARD_OUTPUT", "SWITCHBOARD_TOKEN", "SWITCHBOARD_AUTH_SECRET", "SWITCHBOARD_ADDR",
        "SWITCHBOARD_KAFKA", "SWITCHBOARD_TENANT", "SWITCHBOARD_SUBJECT"}) {
    unsetenv(name);
  }
}

// Main() with main.cc's commands. Nothing here reaches a server: every run below stops at the
// command line, or before its first RPC.
Result Run(std::vector<std::string> argv) {
  ClearEnvironment();
  const std::vector<const Command*> commands = {
      &kTokenCommand,   &kHealthCommand,  &kCallsCommand,   &kEligibilityCommand,
      &kNumbersCommand, &kRoutingCommand, &kBillingCommand, &kDevCommand};
  Capture out, err;
  Result r;
  r.code = Main(argv, commands, out.file(), err.file());
  r.out = out.Take();
  r.err = err.Take();
  return r;
}

// A usage error: exit code 2, nothing on stdout, exactly this one line on stderr.
void CheckUsageError(const std::vector<std::string>& argv, const std::string& what) {
  INFO(absl::StrJoin(argv, " "));
  Result r = Run(argv);
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == absl::StrCat("switchboardctl: ", what, " (see --help)\n"));
}

TEST_CASE("Parse takes flags wherever they stand and keeps values with '='") {
  absl::StatusOr<Args> args =
      Parse({"--addr=h:1", "calls", "list", "--filter=state = MISSED", "--anonymous", "--x="});
  REQUIRE(args.ok());
  CHECK(args->words == std::vector<std::string>{"calls", "list"});
  CHECK(args->Flag("addr") == "h:1");
  CHECK(args->Flag("filter") == "state = MISSED");
  CHECK(args->Has("anonymous"));
  CHECK(args->bare.count("anonymous") == 1);
  CHECK(args->Has("x"));
  CHECK(args->bare.count("x") == 0);
  CHECK(args->Flag("missing", "fallback") == "fallback");

  absl::StatusOr<Args> rest = Parse({"calls", "--", "--not-a-flag"});
  REQUIRE(rest.ok());
  CHECK(rest->words == std::vector<std::string>{"calls", "--not-a-flag"});

  CHECK(Parse({"-h"})->Has("help"));
  CHECK(IsUsageError(Parse({"calls", "-v"}).status()));
  CHECK(IsUsageError(Parse({"--=x"}).status()));
}

TEST_CASE("An unknown flag is a usage error: one line on stderr, exit code 2") {
  CheckUsageError({"calls", "list", "--bogus=1"}, "calls list: unknown flag --bogus");
  CheckUsageError({"--bogus", "health"}, "health: unknown flag --bogus");
  CheckUsageError({"eligibility", "check", "--contact=1", "--number=2", "--kind=user_requested",
                   "--knd=agent_offered"},
                  "eligibility check: unknown flag --knd");
  CheckUsageError({"calls", "list", "-v"}, "unknown flag -v (flags are --name=value)");
}

TEST_CASE("A flag of another command, or a global the command does not use, is refused") {
  CheckUsageError({"calls", "list", "--call=c1"}, "calls list: unknown flag --call");
  CheckUsageError({"calls", "get", "--call=c1", "--request-id=r1"},
                  "calls get: unknown flag --request-id");
  CheckUsageError({"health", "--token=t"}, "health: unknown flag --token");
  CheckUsageError({"token", "--addr=127.0.0.1:1"}, "token: unknown flag --addr");
  CheckUsageError({"dev", "missed-call", "--contact=1", "--number=2", "--anonymous"},
                  "dev missed-call: unknown flag --anonymous");
}

TEST_CASE("A missing required flag, a value flag without its value, a switch with one") {
  CheckUsageError({"calls", "get"}, "--call is required");
  CheckUsageError({"calls", "get", "--call="}, "--call is required");
  CheckUsageError({"calls", "start", "--contact=5511966881746"}, "--number is required");
  CheckUsageError({"calls", "permission", "--contact=1", "--number=2"}, "--text is required");
  CheckUsageError({"numbers", "register", "--phone-number-id=1", "--waba-id=2"},
                  "--display is required");
  CheckUsageError({"calls", "get", "--call"}, "--call needs a value: --call=...");
  CheckUsageError({"calls", "list", "--anonymous=yes"}, "--anonymous takes no value");
  CheckUsageError({"calls", "list", "--anonymous", "--token=t"},
                  "give --token or --anonymous, not both");
  CheckUsageError({"calls", "notes", "list"},
                  "calls notes list needs --call or --contact (one of them)");
  CheckUsageError({"calls", "callbacks", "schedule", "--contact=1", "--number=2"},
                  "give --in=10m or --at=RFC3339");
}

TEST_CASE("Malformed values are usage errors, checked before any RPC") {
  // No token, secret or server: a value that got past the command line would fail with 1.
  CheckUsageError({"calls", "start", "--contact=1", "--number=2", "--kind=bogus"},
                  "--kind must be one of user_requested, agent_offered, long_term");
  CheckUsageError({"eligibility", "check", "--contact=1", "--number=2", "--kind=bogus"},
                  "--kind must be one of user_requested, agent_offered, long_term");
  CheckUsageError({"eligibility", "consent", "--contact=1", "--number=2", "--consent=maybe"},
                  "--consent must be one of meta_permission, long_term, call_request, "
                  "offer_accepted");
  CheckUsageError({"calls", "analytics", "--period=yesterday"},
                  "--period must be one of last_24_hours, last_7_days, last_30_days, "
                  "this_month, last_month");
  CheckUsageError({"calls", "analytics", "--granularity=minute"},
                  "--granularity must be one of hour, day, week, month");
  CheckUsageError({"calls", "list", "--page-size=-1"}, "--page-size must be a whole number >= 0");
  CheckUsageError({"calls", "list", "--page-size=ten"}, "--page-size must be a whole number >= 0");
  CheckUsageError({"calls", "stats", "--from=2026-11-01"},
                  "--from must be RFC 3339, e.g. 2026-11-01T00:00:00Z");
  CheckUsageError({"calls", "stats", "--from=2026-11-01T00:00:00Z"},
                  "give both --from and --to, or neither");
  CheckUsageError({"calls", "callbacks", "schedule", "--contact=1", "--number=2", "--in=soon"},
                  "--in must be a positive duration such as 10m or 1h30m");
  CheckUsageError({"token", "--ttl=forever"}, "--ttl must be a duration such as 1h");
  CheckUsageError({"routing", "settings", "--cooldown=soon"},
                  "--cooldown must be a duration such as 30s");
  CheckUsageError({"routing", "settings", "--max-unanswered=many"},
                  "--max-unanswered must be a number or default");
  CheckUsageError({"calls", "list", "--output=xml"}, "--output must be table or json");
}

TEST_CASE("Unknown commands and verbs, and words a command does not take") {
  CheckUsageError({"bogus"}, "unknown command 'bogus'");
  CheckUsageError({"calls", "bogus"}, "unknown command 'calls bogus'");
  CheckUsageError({"calls"},
                  "calls: give one of start, answer, reject, end, get, list, stats, analytics, "
                  "export, notes, callbacks, permission, settings");
  CheckUsageError({"calls", "notes"}, "calls notes: give one of add, list, edit, delete");
  CheckUsageError({"calls", "list", "extra"}, "calls list: unexpected argument 'extra'");
  CheckUsageError({"token", "acme"}, "token: unexpected argument 'acme'");
  CheckUsageError({"dev"}, "dev: give one of missed-call, ended-call");
}

TEST_CASE("No command prints the usage on stderr with exit code 2") {
  Result r = Run({});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(absl::StartsWith(r.err, "usage: switchboardctl"));
}

TEST_CASE("--version prints the version and exits 0, wherever it stands") {
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"--version"}, {"calls", "list", "--version"}, {"--version", "--bogus"}}) {
    Result r = Run(argv);
    CHECK(r.code == 0);
    CHECK(r.out == "switchboardctl 0.1.0\n");
    CHECK(r.err.empty());
  }
}

TEST_CASE("--help lists every command, the output modes and the exit codes") {
  Result r = Run({"--help"});
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  for (const char* line : {"  token   --tenant=T",
                           "  health  [--service=NAME]",
                           "  calls start ",
                           "  calls answer ",
                           "  calls reject ",
                           "  calls end ",
                           "  calls get ",
                           "  calls list ",
                           "  calls stats ",
                           "  calls analytics ",
                           "  calls export ",
                           "  calls notes add ",
                           "  calls notes list ",
                           "  calls notes edit ",
                           "  calls notes delete ",
                           "  calls callbacks schedule ",
                           "  calls callbacks list ",
                           "  calls callbacks complete ",
                           "  calls callbacks cancel ",
                           "  calls permission ",
                           "  calls settings ",
                           "  eligibility check ",
                           "  eligibility reserve ",
                           "  eligibility message ",
                           "  eligibility consent ",
                           "  eligibility offer ",
                           "  numbers register ",
                           "  numbers list ",
                           "  numbers delete ",
                           "  dev missed-call ",
                           "\nexit codes:\n",
                           "\n  0  done\n",
                           "\n  1  the suite refused or failed",
                           "\n  2  a bad command line",
                           "--output=table|json",
                           "\n  json   ",
                           "SWITCHBOARD_OUTPUT",
                           "calls export writes CSV"}) {
    INFO(line);
    CHECK(absl::StrContains(r.out, line));
  }
  CHECK(Run({"calls", "--help"}).out == r.out);
}

TEST_CASE("--output, else SWITCHBOARD_OUTPUT, chooses the output mode") {
  ClearEnvironment();
  auto mode = [](std::vector<std::string> argv) { return OutputMode(*Parse(argv)); };
  CHECK(*mode({"calls", "list"}) == Output::kTable);
  CHECK(*mode({"--output=json"}) == Output::kJson);
  setenv("SWITCHBOARD_OUTPUT", "json", 1);
  CHECK(*mode({"calls", "list"}) == Output::kJson);
  CHECK(*mode({"--output=table"}) == Output::kTable);
  setenv("SWITCHBOARD_OUTPUT", "yaml", 1);
  CHECK(mode({"calls", "list"}).status().message() == "SWITCHBOARD_OUTPUT must be table or json");
  unsetenv("SWITCHBOARD_OUTPUT");
}

calls::v1::ListCallsResponse SomeCalls() {
  calls::v1::ListCallsResponse resp;
  calls::v1::Call* call = resp.add_calls();
  call->set_call_id("0b8e2a9c-5d1f-4e37-9a64-2c7f1e0d3b58");
  call->set_state(calls::v1::CALL_STATE_ENDED);
  call->set_direction(calls::v1::CALL_DIRECTION_INBOUND);
  call->mutable_contact()->set_display_name("Carla \"C\" Souza");
  call->mutable_duration()->set_seconds(330);
  call->mutable_cost()->set_amount_micros(30000);
  call->mutable_cost()->set_currency_code("USD");
  resp.set_next_page_token("page-2");
  return resp;
}

TEST_CASE("JSON output is the response message on one line, protobuf's JSON mapping") {
  calls::v1::ListCallsResponse resp = SomeCalls();
  absl::StatusOr<std::string> json = ToJson(resp);
  REQUIRE(json.ok());
  CHECK(json->find('\n') == std::string::npos);
  CHECK(absl::StrContains(*json, R"("callId":"0b8e2a9c-5d1f-4e37-9a64-2c7f1e0d3b58")"));
  CHECK(absl::StrContains(*json, R"("state":"CALL_STATE_ENDED")"));
  CHECK(absl::StrContains(*json, R"("displayName":"Carla \"C\" Souza")"));
  CHECK(absl::StrContains(*json, R"("duration":"330s")"));
  CHECK(absl::StrContains(*json, R"("amountMicros":"30000")"));
  CHECK(absl::StrContains(*json, R"("nextPageToken":"page-2")"));
  // The whole message, nothing else: it reads back as the same response.
  calls::v1::ListCallsResponse back;
  REQUIRE(google::protobuf::util::JsonStringToMessage(*json, &back).ok());
  CHECK(google::protobuf::util::MessageDifferencer::Equals(back, resp));

  Capture out;
  Args args;
  args.output = Output::kJson;
  args.out = out.file();
  REQUIRE(PrintJson(args, resp).ok());
  CHECK(out.Take() == *json + "\n");
}

TEST_CASE("Errors as text: code, message, reason and metadata") {
  absl::Status refused =
      core::Error(absl::StatusCode::kFailedPrecondition, "CALL_NOT_RINGING",
                  "the call is not ringing", {{"call_id", "c1"}, {"state", "ENDED"}});
  CHECK(ErrorText(refused) ==
        "error: FAILED_PRECONDITION the call is not ringing reason=CALL_NOT_RINGING "
        "call_id=c1 state=ENDED");
  CHECK(ErrorText(absl::UnavailableError("failed to connect")) ==
        "error: UNAVAILABLE failed to connect");
}

TEST_CASE("A failure to reach the suite names the address; a service's refusal is left as is") {
  absl::Status transport = NameAddress(absl::UnavailableError("connection refused"), "h:50051");
  CHECK(transport.code() == absl::StatusCode::kUnavailable);
  CHECK(transport.message() == "cannot reach h:50051: connection refused");
  absl::Status down = core::Unavailable("DEPENDENCY_DOWN", "redis is down");
  CHECK(NameAddress(down, "h:50051") == down);
  absl::Status refused = absl::PermissionDeniedError("no");
  CHECK(NameAddress(refused, "h:50051") == refused);
}

TEST_CASE("Errors as JSON: every key present, strings escaped") {
  absl::Status refused = core::Error(absl::StatusCode::kFailedPrecondition, "CALL_NOT_RINGING",
                                     "the call \"c1\" is not ringing", {{"state", "ENDED"}});
  CHECK(ErrorJson(refused) ==
        R"({"code":"FAILED_PRECONDITION","message":"the call \"c1\" is not ringing",)"
        R"("reason":"CALL_NOT_RINGING","metadata":{"state":"ENDED"}})");
  CHECK(ErrorJson(absl::UnavailableError("down")) ==
        R"({"code":"UNAVAILABLE","message":"down","reason":"","metadata":{}})");
}

TEST_CASE("Fail prints by the output mode; usage errors stay one line of text") {
  absl::Status refused = core::Error(absl::StatusCode::kPermissionDenied, "ADMIN_ONLY", "admins");
  for (Output mode : {Output::kTable, Output::kJson}) {
    Capture err;
    Args args;
    args.output = mode;
    args.err = err.file();
    CHECK(Fail(args, refused) == 1);
    CHECK(Fail(args, UsageError("--call is required")) == 2);
    CHECK(Done(args, absl::OkStatus()) == 0);
    std::string printed = err.Take();
    const std::string first = mode == Output::kJson ? ErrorJson(refused) : ErrorText(refused);
    CHECK(printed == first + "\nswitchboardctl: --call is required (see --help)\n");
  }
}

TEST_CASE("A refusal before the first RPC exits 1, as text or JSON") {
  // No --token and no SWITCHBOARD_AUTH_SECRET: the token is missing, which the first RPC
  // reports; the address is never dialled.
  Result text = Run({"calls", "list", "--addr=127.0.0.1:1"});
  CHECK(text.code == 1);
  CHECK(text.out.empty());
  CHECK(text.err ==
        "error: INVALID_ARGUMENT no token: set --token/SWITCHBOARD_TOKEN or "
        "SWITCHBOARD_AUTH_SECRET reason=MISSING_SECRET\n");
  Result json = Run({"calls", "list", "--addr=127.0.0.1:1", "--output=json"});
  CHECK(json.code == 1);
  CHECK(json.out.empty());
  CHECK(json.err ==
        R"({"code":"INVALID_ARGUMENT","message":"no token: set --token/SWITCHBOARD_TOKEN or )"
        R"(SWITCHBOARD_AUTH_SECRET","reason":"MISSING_SECRET","metadata":{}})"
        "\n");
}

TEST_CASE("token mints a token from the secret, the bare token in either mode") {
  ClearEnvironment();
  Result r = Run({"token", "--tenant=acme", "--subject=agent-7", "--roles=agent",
                  "--auth-secret=0123456789abcdef0123", "--output=json"});
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  // A JWT: three base64url parts, one line.
  CHECK(std::count(r.out.begin(), r.out.end(), '.') == 2);
  CHECK(absl::EndsWith(r.out, "\n"));
  CHECK(r.out.find('{') == std::string::npos);

  // The demo mints an expired token this way.
  Result expired = Run({"token", "--ttl=-1m", "--auth-secret=0123456789abcdef0123"});
  CHECK(expired.code == 0);
  CHECK(expired.err.empty());
  // No secret: the suite's kind of refusal (1), not a bad command line.
  Result no_secret = Run({"token"});
  CHECK(no_secret.code == 1);
  CHECK(absl::StrContains(no_secret.err, "reason=MISSING_SECRET"));
}

}  // namespace
}  // namespace switchboard::cli
