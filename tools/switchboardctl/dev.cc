// `switchboardctl dev ...`: shortcuts for demos and tests that no public API offers. Talks to
// Kafka (SWITCHBOARD_KAFKA) directly, not to --addr.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "libs/api/validate.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/kafka.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"

namespace switchboard::cli {
namespace {

constexpr char kUsage[] =
    R"(  dev missed-call     --contact=W --number=N                publish a missed outbound call on
                      calls.state.v1 (SWITCHBOARD_KAFKA) without placing it
  dev ended-call      --contact=W --number=N --ended=RFC3339 [--talk=90s]
                                                            publish an outbound call that ended
                                                            then with that talk time (a call of
                                                            an earlier month, for its invoice)
)";

struct DevVerb {
  absl::string_view name;
  FlagSet flags;
  absl::Status (*run)(const Args&);
};

// An outbound call to --contact from --number in `state`, as the calls service publishes it.
calls::v1::CallStateChanged OutboundCall(const Args& args, calls::v1::CallState state) {
  calls::v1::CallStateChanged changed;
  changed.mutable_header()->set_tenant_id(args.Flag("tenant", Env("SWITCHBOARD_TENANT", "demo")));
  changed.set_state(state);
  calls::v1::Call* call = changed.mutable_call();
  call->set_call_id(core::NewId());
  call->set_tenant_id(changed.header().tenant_id());
  call->set_direction(calls::v1::CALL_DIRECTION_OUTBOUND);
  call->set_state(state);
  call->set_business_phone_number_id(args.Flag("number"));
  call->mutable_contact()->set_wa_id(args.Flag("contact"));
  call->mutable_contact()->set_phone_e164(absl::StrCat("+", args.Flag("contact")));
  call->set_contact_region_code(api::RegionOf(call->contact().phone_e164()));
  *call->mutable_ended_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
  changed.mutable_header()->set_entity_id(call->call_id());
  return changed;
}

absl::Status Publish(const Args& args, const calls::v1::CallStateChanged& changed,
                     absl::string_view what) {
  std::string brokers = args.Flag("kafka", Env("SWITCHBOARD_KAFKA"));
  if (brokers.empty()) return UsageError("SWITCHBOARD_KAFKA (or --kafka) is required");
  ASSIGN_OR_RETURN(std::unique_ptr<kafka::Producer> producer,
                   kafka::Producer::Create({.brokers = brokers}));
  RETURN_IF_ERROR(producer->PublishAndWait(
      kafka::kCallsState, kafka::MakeEvent(changed, changed.call().call_id(), "switchboardctl"),
      absl::Seconds(10)));
  if (args.json()) return PrintJson(args, changed);
  absl::FPrintF(args.out, "  %s call %s published\n", what, changed.call().call_id());
  return absl::OkStatus();
}

// A missed outbound call, without placing one: the demo's suspension scene needs five in a
// row, faster than Meta's ring timeout would give them.
absl::Status MissedCall(const Args& args) {
  return Publish(args, OutboundCall(args, calls::v1::CALL_STATE_MISSED), "missed");
}

// An outbound call that ended at --ended after --talk: a call of an earlier month, whose
// invoice the demo shows without waiting for a month to end.
absl::Status EndedCall(const Args& args) {
  ASSIGN_OR_RETURN(std::optional<absl::Time> ended, TimeFlag(args, "ended"));
  absl::Duration talk = absl::Seconds(90);
  if (args.Has("talk") &&
      (!absl::ParseDuration(args.Flag("talk"), &talk) || talk < absl::ZeroDuration())) {
    return UsageError("--talk must be a duration such as 90s");
  }
  calls::v1::CallStateChanged changed = OutboundCall(args, calls::v1::CALL_STATE_ENDED);
  calls::v1::Call* call = changed.mutable_call();
  *call->mutable_ended_time() = core::ToProto(*ended);
  *call->mutable_answered_time() = core::ToProto(*ended - talk);
  *call->mutable_duration() = core::ToProto(talk);
  return Publish(args, changed, "ended");
}

int RunDev(const Args& args) {
  static const std::vector<DevVerb> kVerbs = {
      {"missed-call",
       {.required = {"contact", "number"}, .optional = {"kafka", "tenant"}, .globals = kNoGlobals},
       MissedCall},
      {"ended-call",
       {.required = {"contact", "number", "ended"},
        .optional = {"kafka", "tenant", "talk"},
        .globals = kNoGlobals},
       EndedCall},
  };
  absl::StatusOr<const DevVerb*> verb = Select(args, kVerbs);
  if (!verb.ok()) return Fail(args, verb.status());
  return Done(args, (*verb)->run(args));
}

}  // namespace

const Command kDevCommand = {"dev", kUsage, RunDev};

}  // namespace switchboard::cli
