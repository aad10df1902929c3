// The plumbing every switchboardctl command shares: the command line (words and --name=value
// flags, checked against what each command declares), the output mode, errors and exit codes,
// bearer tokens, and Client<Service>, which gives each RPC a fresh context with the caller's
// token and a deadline. A service's commands live in their own file and reach the suite only
// through this header.
//
//   const std::vector<Verb<calls::v1::CallsService>> kVerbs = {
//       {"get", {.required = {"call"}}, GetCall}, ...};
//   int RunCalls(const Args& args) { return RunVerbs(args, kVerbs); }
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "libs/core/status_macros.h"
#include "libs/runtime/grpc.h"

namespace switchboard::cli {

// The suite's version (libs/runtime/app.cc); the CLI is built and released with it.
inline constexpr char kVersion[] = "0.1.0";

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the suite refused or failed
inline constexpr int kExitUsage = 2;   // a bad command line

// An RPC answers within this; `calls export` streams for longer (its own deadline).
inline constexpr absl::Duration kDeadline = absl::Seconds(10);

enum class Output { kTable, kJson };

// One invocation: the words (`calls notes list`), the flags, the output mode and where to write.
struct Args {
  std::vector<std::string> words;
  // --name=value; a flag given without "=" (a switch such as --anonymous) has "".
  std::map<std::string, std::string> flags;
  // The flags given without "=", so a value flag missing its value is reported.
  std::set<std::string> bare;
  Output output = Output::kTable;
  std::FILE* out = stdout;
  std::FILE* err = stderr;

  std::string Flag(const std::string& name, const std::string& fallback = "") const {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  }
  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  // The i-th word, or "" past the end.
  std::string Word(size_t i) const { return i < words.size() ? words[i] : ""; }
  bool json() const { return output == Output::kJson; }
};

// Splits a command line (without the program name) into words and flags. "--name=value" and
// "--name" are flags, wherever they stand; "--" makes the rest words. A flag repeated keeps its
// last value. "-h" is --help; any other word that starts with "-" is a usage error.
absl::StatusOr<Args> Parse(const std::vector<std::string>& argv);

// --output, else SWITCHBOARD_OUTPUT, else table.
absl::StatusOr<Output> OutputMode(const Args& args);

// The value of environment variable `name`, or `fallback` when it is unset or empty.
std::string Env(const char* name, const char* fallback = "");

// ---- errors ------------------------------------------------------------------------------------

// A bad command line rather than a refusal by the suite: Fail() prints it as one line,
// `switchboardctl: <message> (see --help)`, and returns kExitUsage.
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);

// `error: CODE message reason=R key=value…`: the code, message, and the reason and metadata of
// the error's ErrorInfo, as --output=table prints it on stderr.
std::string ErrorText(const absl::Status& status);
// {"code":"FAILED_PRECONDITION","message":"…","reason":"…","metadata":{…}}, as --output=json
// prints it on stderr (reason "" and metadata {} when the error carries none).
std::string ErrorJson(const absl::Status& status);

// Prints `status` on args.err as its kind and the output mode say, and returns the exit code.
int Fail(const Args& args, const absl::Status& status);
// kExitOk for OK, else Fail().
int Done(const Args& args, const absl::Status& status);

// ---- flags -------------------------------------------------------------------------------------

// Groups of global flags a command may take besides its own. --output, --help and --version
// are taken by every command.
enum Globals : unsigned {
  kNoGlobals = 0,
  kAddress = 1 << 0,   // --addr
  kIdentity = 1 << 1,  // --token, --anonymous, --tenant, --subject, --roles, --auth-secret
  kRpc = kAddress | kIdentity,
};

// What one command accepts. Every flag it does not list (and no global it takes) is refused.
struct FlagSet {
  std::vector<absl::string_view> required;  // --name=VALUE, given and not empty
  std::vector<absl::string_view> optional;  // --name=VALUE
  unsigned globals = kRpc;
};

// Refuses a flag `command` (e.g. "calls list") does not take, a value flag without its value, a
// switch with one, and a missing required flag.
absl::Status CheckFlags(const Args& args, const FlagSet& flags, absl::string_view command);

// The index of the verb that args.words[1..] name ("list", "notes add", "" for none), or a usage
// error listing what `args.words[0]` offers.
absl::StatusOr<size_t> MatchVerb(const Args& args, const std::vector<absl::string_view>& verbs);

// "calls notes list": the command the words name, for messages.
std::string CommandName(const Args& args);

// Finds the verb args.words names among `verbs` (each with .name and .flags) and checks its
// flags.
template <typename V>
absl::StatusOr<const V*> Select(const Args& args, const std::vector<V>& verbs) {
  std::vector<absl::string_view> names;
  names.reserve(verbs.size());
  for (const V& v : verbs) names.push_back(v.name);
  ASSIGN_OR_RETURN(size_t i, MatchVerb(args, names));
  RETURN_IF_ERROR(CheckFlags(args, verbs[i].flags, CommandName(args)));
  return &verbs[i];
}

// A whole number >= 0; 0 when the flag is not given.
absl::StatusOr<int32_t> CountFlag(const Args& args, const std::string& name);
// RFC 3339; nullopt when the flag is not given.
absl::StatusOr<std::optional<absl::Time>> TimeFlag(const Args& args, const std::string& name);

// A flag naming one value of an enum, e.g. --kind=agent_offered; `fallback` when not given.
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

// The idempotency key of a mutation: --request-id, else a fresh UUID.
std::string RequestId(const Args& args);

// The contact (--contact, its WhatsApp id) and the business number (--number) a command is
// about; both are the command's required flags.
template <typename Request>
void Target(const Args& args, Request* req) {
  req->mutable_contact()->set_wa_id(args.Flag("contact"));
  req->set_business_phone_number_id(args.Flag("number"));
}

// --page-size and --page-token, into a list request.
template <typename Request>
absl::Status Page(const Args& args, Request* req) {
  ASSIGN_OR_RETURN(int32_t page_size, CountFlag(args, "page-size"));
  req->set_page_size(page_size);
  req->set_page_token(args.Flag("page-token"));
  return absl::OkStatus();
}

// Target, plus what the Calls page shows of the contact (--phone, --name) when given.
template <typename Request>
void NamedTarget(const Args& args, Request* req) {
  Target(args, req);
  req->mutable_contact()->set_phone_e164(args.Flag("phone"));
  req->mutable_contact()->set_display_name(args.Flag("name"));
}

// ---- output ------------------------------------------------------------------------------------

// Writes `text` on args.out as it is.
void Print(const Args& args, absl::string_view text);

// `message` as one line of JSON (protobuf's JSON mapping: lowerCamelCase names, fields at their
// default value left out).
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);
// ToJson() and a newline on args.out.
absl::Status PrintJson(const Args& args, const google::protobuf::Message& message);

// ---- the suite ---------------------------------------------------------------------------------

// A bearer token for --tenant/--subject/--roles (SWITCHBOARD_TENANT, SWITCHBOARD_SUBJECT;
// defaults demo, operator, admin) signed with --auth-secret or SWITCHBOARD_AUTH_SECRET.
absl::StatusOr<std::string> Mint(const Args& args, absl::Duration ttl);
// --token, else SWITCHBOARD_TOKEN, else Mint() for ten minutes.
absl::StatusOr<std::string> Token(const Args& args);

// --addr, else SWITCHBOARD_ADDR, else 127.0.0.1:50051.
std::string Address(const Args& args);
std::shared_ptr<grpc::Channel> Channel(const Args& args);

// UNAVAILABLE without a reason comes from the transport, not from a service: prefixes its message
// with "cannot reach `address`: ". Anything else is returned as it is.
absl::Status NameAddress(const absl::Status& status, absl::string_view address);

// One service's stub and what every RPC to it carries: the caller's bearer token (none with
// --anonymous) and a deadline. Each RPC gets a fresh ClientContext, so a command may make several.
// A missing token is reported by the first RPC, so flags are checked before it.
//
//   Client<calls::v1::CallsService> client(args, Channel(args));
//   RETURN_IF_ERROR(client.Call(&calls::v1::CallsService::Stub::GetCall, req, &resp));
template <typename Service>
class Client {
 public:
  using Stub = typename Service::Stub;

  Client(const Args& args, const std::shared_ptr<grpc::Channel>& channel)
      : stub_(Service::NewStub(channel)),
        token_(args.Has("anonymous") ? absl::StatusOr<std::string>("") : Token(args)),
        address_(Address(args)) {}

  // The context of one RPC (streams use it directly).
  absl::StatusOr<std::unique_ptr<grpc::ClientContext>> Context(
      absl::Duration deadline = kDeadline) const {
    if (!token_.ok()) return token_.status();
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token_->empty()) ctx->AddMetadata("authorization", absl::StrCat("Bearer ", *token_));
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return ctx;
  }

  // One unary RPC, its failure as the suite's status (reason and metadata included).
  template <typename Request, typename Response>
  absl::Status Call(grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                    const std::type_identity_t<Request>& req, Response* resp) const {
    ASSIGN_OR_RETURN(std::unique_ptr<grpc::ClientContext> ctx, Context());
    return ToStatus((stub_.get()->*rpc)(ctx.get(), req, resp));
  }

  // One unary RPC whose answer is printed: as it is, in JSON, with --output=json, else as
  // `table` writes it (a function of the response returning void or absl::Status).
  //
  //   return client.Show(args, &Stub::GetCall, req, [&](const GetCallResponse& r) { ... });
  template <typename Request, typename Response, typename Table>
  absl::Status Show(const Args& args,
                    grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                    const std::type_identity_t<Request>& req, const Table& table) const {
    Response resp;
    RETURN_IF_ERROR(Call(rpc, req, &resp));
    if (args.json()) return PrintJson(args, resp);
    if constexpr (std::is_void_v<std::invoke_result_t<const Table&, const Response&>>) {
      table(resp);
      return absl::OkStatus();
    } else {
      return table(resp);
    }
  }

  // An RPC's outcome as the suite's status; a failure to reach the suite names the address.
  absl::Status ToStatus(const grpc::Status& status) const {
    return NameAddress(runtime::FromGrpcStatus(status), address_);
  }

  Stub& stub() const { return *stub_; }

 private:
  std::unique_ptr<Stub> stub_;
  absl::StatusOr<std::string> token_;
  std::string address_;
};

// One command of a service: its words after the service's name, its flags, and its handler.
template <typename Service>
struct Verb {
  absl::string_view name;
  FlagSet flags;
  absl::Status (*run)(const Args&, const Client<Service>&);
};

// What a service's entry point does: select the verb, check its flags, run it against --addr.
template <typename Service>
int RunVerbs(const Args& args, const std::vector<Verb<Service>>& verbs) {
  absl::StatusOr<const Verb<Service>*> verb = Select(args, verbs);
  if (!verb.ok()) return Fail(args, verb.status());
  Client<Service> client(args, Channel(args));
  return Done(args, (*verb)->run(args, client));
}

// ---- dispatch ----------------------------------------------------------------------------------

// One top-level command (a service's commands, or token, health, dev): its first word, its
// lines of --help, and its entry point.
struct Command {
  absl::string_view name;
  absl::string_view usage;
  int (*run)(const Args&);
};

// The whole --help: synopsis, every command's section, output modes, exit codes, environment.
std::string Usage(const std::vector<const Command*>& commands);

// Runs the command line `argv` (without the program name): --help, --version, or the command
// its first word names. Returns the exit code.
int Main(const std::vector<std::string>& argv, const std::vector<const Command*>& commands,
         std::FILE* out = stdout, std::FILE* err = stderr);

}  // namespace switchboard::cli
