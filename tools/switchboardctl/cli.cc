#include "tools/switchboardctl/cli.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "libs/auth/token.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "nlohmann/json.hpp"

namespace switchboard::cli {
namespace {

// The reason that marks a usage error; it never leaves the process.
constexpr char kUsageReason[] = "CLI_USAGE";

constexpr char kSynopsis[] =
    R"(usage: switchboardctl [--addr=host:port] [--token=T|--anonymous] [--output=table|json]
                      COMMAND [flags]
       switchboardctl --help | --version

commands:
)";

constexpr char kFooter[] =
    R"(  (W: the contact's WhatsApp id, N: the business number's phone_number_id)
  (K: user_requested, agent_offered, long_term; default user_requested)

output (--output=MODE or SWITCHBOARD_OUTPUT):
  table  the default: the rows and lines shown above, for people
  json   each RPC response as one line of JSON (protobuf's JSON mapping: lowerCamelCase names,
         fields at their default value left out); list commands print the whole response,
         next_page_token included; health prints one line per target, dev missed-call the
         event it published. Errors go to stderr as
         {"code":"FAILED_PRECONDITION","message":"...","reason":"...","metadata":{...}}.
         calls export writes CSV, and token the bare token, in either mode.

exit codes:
  0  done
  1  the suite refused or failed: `error: CODE message reason=R key=value...` on stderr (JSON
     with --output=json); for health, a target that is not serving or not reachable
  2  a bad command line: an unknown command or flag, a flag the command does not take, a
     missing required flag or a malformed value (one line on stderr)

environment: SWITCHBOARD_ADDR, SWITCHBOARD_TOKEN, SWITCHBOARD_AUTH_SECRET (or --auth-secret),
             SWITCHBOARD_TENANT, SWITCHBOARD_SUBJECT, SWITCHBOARD_OUTPUT,
             SWITCHBOARD_KAFKA (dev missed-call)
)";

// Flags every command takes; --output is validated by Main().
bool TakenEverywhere(absl::string_view name) {
  return name == "output" || name == "help" || name == "version";
}

bool IsIdentity(absl::string_view name) {
  return name == "token" || name == "anonymous" || name == "tenant" || name == "subject" ||
         name == "roles" || name == "auth-secret";
}

// Flags without a value.
bool IsSwitch(absl::string_view name) {
  return name == "anonymous" || name == "help" || name == "version";
}

bool Contains(const std::vector<absl::string_view>& names, absl::string_view name) {
  for (absl::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<Args> Parse(const std::vector<std::string>& argv) {
  Args a;
  bool flags_done = false;
  for (const std::string& arg : argv) {
    if (flags_done) {
      a.words.push_back(arg);
    } else if (arg == "--") {
      flags_done = true;
    } else if (absl::StartsWith(arg, "--")) {
      std::pair<std::string, std::string> kv =
          absl::StrSplit(arg.substr(2), absl::MaxSplits('=', 1));
      if (kv.first.empty()) return UsageError(absl::StrCat("malformed flag '", arg, "'"));
      if (arg.find('=') == std::string::npos) {
        a.bare.insert(kv.first);
      } else {
        a.bare.erase(kv.first);
      }
      a.flags[kv.first] = kv.second;
    } else if (arg == "-h") {
      a.flags["help"] = "";
      a.bare.insert("help");
    } else if (arg.size() > 1 && arg[0] == '-') {
      return UsageError(absl::StrCat("unknown flag ", arg, " (flags are --name=value)"));
    } else {
      a.words.push_back(arg);
    }
  }
  return a;
}

absl::StatusOr<Output> OutputMode(const Args& args) {
  const bool flag = args.Has("output");
  std::string mode = flag ? args.Flag("output") : Env("SWITCHBOARD_OUTPUT");
  if (mode.empty() && !flag) return Output::kTable;
  if (mode == "table") return Output::kTable;
  if (mode == "json") return Output::kJson;
  return UsageError(
      absl::StrCat(flag ? "--output" : "SWITCHBOARD_OUTPUT", " must be table or json"));
}

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// ---- errors ------------------------------------------------------------------------------------

absl::Status UsageError(absl::string_view message) {
  return core::InvalidArgument(kUsageReason, message);
}

bool IsUsageError(const absl::Status& status) {
  return !status.ok() && core::ReasonOf(status) == kUsageReason;
}

std::string ErrorText(const absl::Status& status) {
  std::string reason = core::ReasonOf(status);
  std::string out =
      absl::StrCat("error: ", absl::StatusCodeToString(status.code()), " ", status.message());
  if (!reason.empty()) absl::StrAppend(&out, " reason=", reason);
  for (const auto& [key, value] : core::MetadataOf(status)) {
    absl::StrAppend(&out, " ", key, "=", value);
  }
  return out;
}

std::string ErrorJson(const absl::Status& status) {
  nlohmann::ordered_json error;
  error["code"] = absl::StatusCodeToString(status.code());
  error["message"] = std::string(status.message());
  error["reason"] = core::ReasonOf(status);
  error["metadata"] = nlohmann::ordered_json::object();
  for (const auto& [key, value] : core::MetadataOf(status)) error["metadata"][key] = value;
  // The suite's messages are UTF-8; anything else is replaced rather than thrown on.
  return error.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

int Fail(const Args& args, const absl::Status& status) {
  if (IsUsageError(status)) {
    absl::FPrintF(args.err, "switchboardctl: %s (see --help)\n", status.message());
    return kExitUsage;
  }
  absl::FPrintF(args.err, "%s\n", args.json() ? ErrorJson(status) : ErrorText(status));
  return kExitFailed;
}

int Done(const Args& args, const absl::Status& status) {
  return status.ok() ? kExitOk : Fail(args, status);
}

// ---- flags -------------------------------------------------------------------------------------

absl::Status CheckFlags(const Args& args, const FlagSet& flags, absl::string_view command) {
  for (const auto& [name, value] : args.flags) {
    const bool takes = TakenEverywhere(name) ||
                       ((flags.globals & kAddress) != 0 && name == "addr") ||
                       ((flags.globals & kIdentity) != 0 && IsIdentity(name)) ||
                       Contains(flags.required, name) || Contains(flags.optional, name);
    if (!takes) return UsageError(absl::StrCat(command, ": unknown flag --", name));
    const bool bare = args.bare.count(name) > 0;
    if (IsSwitch(name) && !bare) return UsageError(absl::StrCat("--", name, " takes no value"));
    if (!IsSwitch(name) && bare) {
      return UsageError(absl::StrCat("--", name, " needs a value: --", name, "=..."));
    }
  }
  for (absl::string_view name : flags.required) {
    if (args.Flag(std::string(name)).empty()) {
      return UsageError(absl::StrCat("--", name, " is required"));
    }
  }
  if (args.Has("token") && args.Has("anonymous")) {
    return UsageError("give --token or --anonymous, not both");
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> MatchVerb(const Args& args, const std::vector<absl::string_view>& verbs) {
  const std::string service = args.Word(0);
  const std::vector<std::string> given(args.words.begin() + (args.words.empty() ? 0 : 1),
                                       args.words.end());
  std::vector<std::vector<std::string>> split;
  for (absl::string_view v : verbs) {
    split.push_back(absl::StrSplit(v, ' ', absl::SkipEmpty()));
  }
  auto starts_with = [](const std::vector<std::string>& words,
                        const std::vector<std::string>& prefix) {
    return prefix.size() <= words.size() && std::equal(prefix.begin(), prefix.end(), words.begin());
  };
  for (size_t i = 0; i < split.size(); ++i) {
    if (split[i] == given) return i;
  }
  // "calls notes": a group; name what may follow.
  std::vector<std::string> next;
  for (const auto& words : split) {
    if (words.size() > given.size() && starts_with(words, given) &&
        std::find(next.begin(), next.end(), words[given.size()]) == next.end()) {
      next.push_back(words[given.size()]);
    }
  }
  std::string named = absl::StrJoin(args.words, " ");
  if (!next.empty()) {
    return UsageError(absl::StrCat(named, ": give one of ", absl::StrJoin(next, ", ")));
  }
  // "calls list extra": a verb, then words it does not take.
  for (size_t i = 0; i < split.size(); ++i) {
    if (starts_with(given, split[i])) {
      std::vector<std::string> extra(given.begin() + static_cast<std::ptrdiff_t>(split[i].size()),
                                     given.end());
      std::vector<std::string> verb = {service};
      verb.insert(verb.end(), split[i].begin(), split[i].end());
      return UsageError(absl::StrCat(absl::StrJoin(verb, " "), ": unexpected argument '",
                                     absl::StrJoin(extra, " "), "'"));
    }
  }
  return UsageError(absl::StrCat("unknown command '", named, "'"));
}

std::string CommandName(const Args& args) { return absl::StrJoin(args.words, " "); }

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

std::string RequestId(const Args& args) { return args.Flag("request-id", core::NewId()); }

// ---- output ------------------------------------------------------------------------------------

void Print(const Args& args, absl::string_view text) {
  std::fwrite(text.data(), 1, text.size(), args.out);
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print ", message.GetTypeName(), " as JSON: ", status.ToString()));
  }
  return json;
}

absl::Status PrintJson(const Args& args, const google::protobuf::Message& message) {
  ASSIGN_OR_RETURN(std::string json, ToJson(message));
  absl::FPrintF(args.out, "%s\n", json);
  return absl::OkStatus();
}

// ---- the suite ---------------------------------------------------------------------------------

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

std::string Address(const Args& args) {
  return args.Flag("addr", Env("SWITCHBOARD_ADDR", "127.0.0.1:50051"));
}

std::shared_ptr<grpc::Channel> Channel(const Args& args) {
  return grpc::CreateChannel(Address(args), grpc::InsecureChannelCredentials());
}

absl::Status NameAddress(const absl::Status& status, absl::string_view address) {
  if (status.code() != absl::StatusCode::kUnavailable || !core::ReasonOf(status).empty()) {
    return status;
  }
  return absl::UnavailableError(absl::StrCat("cannot reach ", address, ": ", status.message()));
}

// ---- dispatch ----------------------------------------------------------------------------------

std::string Usage(const std::vector<const Command*>& commands) {
  std::string usage = kSynopsis;
  for (const Command* c : commands) absl::StrAppend(&usage, c->usage);
  absl::StrAppend(&usage, kFooter);
  return usage;
}

int Main(const std::vector<std::string>& argv, const std::vector<const Command*>& commands,
         std::FILE* out, std::FILE* err) {
  Args args;
  if (absl::StatusOr<Args> parsed = Parse(argv); parsed.ok()) {
    args = *std::move(parsed);
  } else {
    args.err = err;
    return Fail(args, parsed.status());
  }
  args.out = out;
  args.err = err;
  if (args.Has("help")) {
    std::fputs(Usage(commands).c_str(), out);
    return kExitOk;
  }
  if (args.Has("version")) {
    absl::FPrintF(out, "switchboardctl %s\n", kVersion);
    return kExitOk;
  }
  absl::StatusOr<Output> output = OutputMode(args);
  if (!output.ok()) return Fail(args, output.status());
  args.output = *output;
  if (args.words.empty()) {
    std::fputs(Usage(commands).c_str(), err);
    return kExitUsage;
  }
  for (const Command* c : commands) {
    if (c->name == args.words[0]) return c->run(args);
  }
  return Fail(args, UsageError(absl::StrCat("unknown command '", args.words[0], "'")));
}

}  // namespace switchboard::cli
