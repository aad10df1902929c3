// `switchboardctl health`: grpc.health.v1 for the server and each target, and whether this
// address runs it. Needs no token.
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"

namespace switchboard::cli {
namespace {

using grpc::health::v1::HealthCheckResponse;

constexpr char kUsage[] =
    R"(  health  [--service=NAME]                                  serving status per target
)";

struct HealthVerb {
  absl::string_view name;
  FlagSet flags;
};

// One target's line: its status, "not running here" (NOT_FOUND), or why it is unreachable.
void PrintTarget(const Args& args, const std::string& name, const grpc::Status& s,
                 const HealthCheckResponse& resp) {
  if (args.json()) {
    nlohmann::ordered_json line;
    line["service"] = name;
    if (s.ok()) {
      line["status"] = HealthCheckResponse::ServingStatus_Name(resp.status());
    } else {
      line["error"] = {
          {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code()))},
          {"message", s.error_message()}};
    }
    absl::FPrintF(args.out, "%s\n",
                  line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    return;
  }
  std::string state;
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    state = "not running here";
  } else if (!s.ok()) {
    state = absl::StrCat("unreachable (", s.error_message(), ")");
  } else {
    state = HealthCheckResponse::ServingStatus_Name(resp.status());
  }
  absl::FPrintF(args.out, "  %-16s %s\n", name.empty() ? "(server)" : name, state);
}

int RunHealth(const Args& args) {
  static const std::vector<HealthVerb> kVerbs = {
      {"", {.optional = {"service"}, .globals = kAddress}},
  };
  if (absl::StatusOr<const HealthVerb*> verb = Select(args, kVerbs); !verb.ok()) {
    return Fail(args, verb.status());
  }
  auto stub = grpc::health::v1::Health::NewStub(Channel(args));
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
    HealthCheckResponse resp;
    grpc::Status s = stub->Check(&ctx, req, &resp);
    // A target this address does not run (NOT_FOUND) is not a failure.
    if (s.error_code() != grpc::StatusCode::NOT_FOUND &&
        (!s.ok() || resp.status() != HealthCheckResponse::SERVING)) {
      ++not_serving;
    }
    PrintTarget(args, name, s, resp);
  }
  return not_serving == 0 ? kExitOk : kExitFailed;
}

}  // namespace

const Command kHealthCommand = {"health", kUsage, RunHealth};

}  // namespace switchboard::cli
