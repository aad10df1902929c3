// `switchboardctl dev ...`: shortcuts for demos and tests that no public API offers. Talks to
// Kafka (SWITCHBOARD_KAFKA) directly, not to --addr.
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "libs/core/id.h"
#include "libs/kafka/kafka.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"

namespace switchboard::cli {
namespace {

constexpr char kUsage[] =
    R"(  dev missed-call     --contact=W --number=N                publish a missed outbound call on
                      calls.state.v1 (SWITCHBOARD_KAFKA) without placing it
)";

struct DevVerb {
  absl::string_view name;
  FlagSet flags;
  absl::Status (*run)(const Args&);
};

// Publishes a missed outbound call as the calls service does, without placing one: the demo's
// suspension scene needs five in a row, faster than Meta's ring timeout would give them.
absl::Status MissedCall(const Args& args) {
  std::string brokers = args.Flag("kafka", Env("SWITCHBOARD_KAFKA"));
  if (brokers.empty()) return UsageError("SWITCHBOARD_KAFKA (or --kafka) is required");
  calls::v1::CallStateChanged changed;
  changed.mutable_header()->set_tenant_id(args.Flag("tenant", Env("SWITCHBOARD_TENANT", "demo")));
  changed.set_state(calls::v1::CALL_STATE_MISSED);
  calls::v1::Call* call = changed.mutable_call();
  call->set_call_id(core::NewId());
  call->set_direction(calls::v1::CALL_DIRECTION_OUTBOUND);
  call->set_state(calls::v1::CALL_STATE_MISSED);
  call->set_business_phone_number_id(args.Flag("number"));
  call->mutable_contact()->set_wa_id(args.Flag("contact"));
  *call->mutable_ended_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
  changed.mutable_header()->set_entity_id(call->call_id());
  ASSIGN_OR_RETURN(std::unique_ptr<kafka::Producer> producer,
                   kafka::Producer::Create({.brokers = brokers}));
  RETURN_IF_ERROR(producer->PublishAndWait(
      kafka::kCallsState, kafka::MakeEvent(changed, call->call_id(), "switchboardctl"),
      absl::Seconds(10)));
  if (args.json()) return PrintJson(args, changed);
  absl::FPrintF(args.out, "  missed call %s published\n", call->call_id());
  return absl::OkStatus();
}

int RunDev(const Args& args) {
  static const std::vector<DevVerb> kVerbs = {
      {"missed-call",
       {.required = {"contact", "number"}, .optional = {"kafka", "tenant"}, .globals = kNoGlobals},
       MissedCall},
  };
  absl::StatusOr<const DevVerb*> verb = Select(args, kVerbs);
  if (!verb.ok()) return Fail(args, verb.status());
  return Done(args, (*verb)->run(args));
}

}  // namespace

const Command kDevCommand = {"dev", kUsage, RunDev};

}  // namespace switchboard::cli
