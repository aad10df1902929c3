// `switchboardctl token`: mints a development bearer token from SWITCHBOARD_AUTH_SECRET, as the
// local stack's gateway would; no RPC.
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"

namespace switchboard::cli {
namespace {

constexpr char kUsage[] =
    R"(  token   --tenant=T --subject=S [--roles=a,b] [--ttl=1h]   mint a bearer token
)";

struct TokenVerb {
  absl::string_view name;
  FlagSet flags;
};

int RunToken(const Args& args) {
  static const std::vector<TokenVerb> kVerbs = {
      {"",
       {.optional = {"tenant", "subject", "roles", "ttl", "auth-secret"}, .globals = kNoGlobals}},
  };
  if (absl::StatusOr<const TokenVerb*> verb = Select(args, kVerbs); !verb.ok()) {
    return Fail(args, verb.status());
  }
  absl::Duration ttl = absl::Hours(1);
  if (std::string t = args.Flag("ttl"); !t.empty() && !absl::ParseDuration(t, &ttl)) {
    return Fail(args, UsageError("--ttl must be a duration such as 1h"));
  }
  absl::StatusOr<std::string> token = Mint(args, ttl);
  if (!token.ok()) return Fail(args, token.status());
  // The bare token in either output mode: `--token=$(switchboardctl token ...)`.
  absl::FPrintF(args.out, "%s\n", *token);
  return kExitOk;
}

}  // namespace

const Command kTokenCommand = {"token", kUsage, RunToken};

}  // namespace switchboard::cli
