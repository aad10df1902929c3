// Every top-level command of switchboardctl, one per file: main.cc lists them in its dispatch
// table, in the order --help shows them. A new service's commands are one more file defining
// one more of these, and one more line in that table.
//
//   const cli::Command kRouting = {"routing", kRoutingUsage, RunRouting};   // routing.cc
#pragma once

#include "absl/status/statusor.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"
#include "tools/switchboardctl/cli.h"

namespace switchboard::cli {

extern const Command kTokenCommand;          // token.cc: mint a bearer token
extern const Command kHealthCommand;         // health.cc: grpc.health.v1 per target
extern const Command kCallsCommand;          // calls.cc: the calls service
extern const Command kEligibilityCommand;    // eligibility.cc: the eligibility service
extern const Command kNumbersCommand;        // numbers.cc: the webhooks service's number registry
extern const Command kRoutingCommand;        // routing.cc: agents, teams, claims
extern const Command kBillingCommand;        // billing.cc: usage, plans, the ledger
extern const Command kNotificationsCommand;  // notifications.cc: live streams
extern const Command kDeadLettersCommand;    // deadletters.cc: poison records, and replay
extern const Command kDevCommand;            // dev.cc: shortcuts for demos and tests

// --kind (K in --help), taken by `calls start` and the eligibility commands (eligibility.cc).
absl::StatusOr<eligibility::v1::CallKind> KindFlag(const Args& args);

}  // namespace switchboard::cli
