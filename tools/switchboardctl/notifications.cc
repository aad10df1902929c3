// `switchboardctl notifications ...`: the notifications service's stream
// (switchboard.notifications.v1.NotificationsService.Subscribe), one line per notification, as
// an agent's browser or a supervisor's dashboard receives it.
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "libs/core/proto_time.h"
#include "switchboard/notifications/v1/notifications_service.grpc.pb.h"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"

namespace switchboard::cli {
namespace {

namespace nv = notifications::v1;
using NotificationsClient = Client<nv::NotificationsService>;

std::string Short(const std::string& name, absl::string_view prefix) {
  return std::string(absl::StripPrefix(name, prefix));
}

// What one notification says, in a line.
std::string Line(const nv::Notification& n) {
  const std::string id = n.notification_id().empty() ? "-" : n.notification_id();
  switch (n.payload_case()) {
    case nv::Notification::kSubscriptionStarted:
      return absl::StrFormat("%-30s started      %s%s", id,
                             n.subscription_started().agent_id().empty()
                                 ? "tenant-wide"
                                 : "agent " + n.subscription_started().agent_id(),
                             n.subscription_started().resumed() ? ", resumed" : "");
    case nv::Notification::kReset: {
      std::string ringing;
      for (const auto& a : n.reset().ringing()) absl::StrAppend(&ringing, " ", a.call_id());
      return absl::StrFormat("%-30s reset        %s; ringing:%s; calls in progress: %d", id,
                             Short(nv::ResetReason_Name(n.reset().reason()), "RESET_REASON_"),
                             ringing.empty() ? " none" : ringing, n.reset().calls_size());
    }
    case nv::Notification::kIncomingCall: {
      const auto& a = n.incoming_call();
      std::string who =
          a.contact().display_name().empty() ? a.contact().wa_id() : a.contact().display_name();
      return absl::StrFormat("%-30s ringing      %s from %s until %s", id, a.call_id(), who,
                             absl::FormatTime("%H:%M:%S", core::FromProto(a.ring_deadline_time()),
                                              absl::UTCTimeZone()));
    }
    case nv::Notification::kAlertWithdrawn: {
      const auto& w = n.alert_withdrawn();
      return absl::StrFormat(
          "%-30s withdrawn    %s %s%s", id, w.call_id(),
          Short(nv::WithdrawnReason_Name(w.reason()), "WITHDRAWN_REASON_"),
          w.answered_by_agent_id().empty() ? "" : " by " + w.answered_by_agent_id());
    }
    case nv::Notification::kCallState: {
      const auto& c = n.call_state().call();
      return absl::StrFormat(
          "%-30s call         %s %s -> %s%s", id, c.call_id(),
          Short(calls::v1::CallState_Name(n.call_state().previous_state()), "CALL_STATE_"),
          Short(calls::v1::CallState_Name(c.state()), "CALL_STATE_"),
          c.answered_by_agent_id().empty() ? "" : " agent " + c.answered_by_agent_id());
    }
    case nv::Notification::kUsageAlert: {
      const auto& u = n.usage_alert();
      return absl::StrFormat("%-30s usage        %s %d / %d min (%d %%) %s", id, u.month(),
                             u.minutes_used(), u.minutes_limit(), u.percent_used(),
                             Short(billing::v1::UsageLevel_Name(u.level()), "USAGE_LEVEL_"));
    }
    case nv::Notification::kSuspensionAlert:
      return absl::StrFormat("%-30s suspension   %s %s", id,
                             n.suspension_alert().business_phone_number_id(),
                             n.suspension_alert().message());
    case nv::Notification::kCallbackDue:
      return absl::StrFormat("%-30s callback due %s for %s", id,
                             n.callback_due().callback().callback_id(),
                             n.callback_due().callback().contact().wa_id());
    default:
      return absl::StrFormat("%-30s (unknown)", id);
  }
}

// Prints the stream until it ends, --count notifications after the opening ones arrived, or
// --for passed.
absl::Status Watch(const Args& args, const NotificationsClient& client) {
  nv::SubscribeRequest req;
  req.set_agent_id(args.Flag("agent"));
  const std::string stream = args.Flag("stream", "agent");
  if (stream != "agent" && stream != "tenant") {
    return UsageError("--stream must be agent or tenant");
  }
  req.set_tenant_wide(stream == "tenant");
  req.set_resume_after_id(args.Flag("resume"));
  ASSIGN_OR_RETURN(int32_t count, CountFlag(args, "count"));
  absl::Duration limit = absl::Hours(24);
  if (args.Has("for") && !absl::ParseDuration(args.Flag("for"), &limit)) {
    return UsageError("--for must be a duration such as 30s");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<grpc::ClientContext> ctx, client.Context(limit));
  auto reader = client.stub().Subscribe(ctx.get(), req);
  nv::SubscribeResponse r;
  int32_t seen = 0;
  while (reader->Read(&r)) {
    const nv::Notification& n = r.notification();
    if (args.json()) {
      RETURN_IF_ERROR(PrintJson(args, n));
    } else {
      Print(args, Line(n) + "\n");
    }
    std::fflush(args.out);
    if (n.has_subscription_started() || n.has_reset()) continue;
    if (count > 0 && ++seen >= count) {
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  // Stopped on purpose: by --count, or at the end of --for.
  if ((count > 0 && seen >= count) || status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::OkStatus();
  }
  return client.ToStatus(status);
}

constexpr char kUsage[] =
    R"(  notifications watch [--agent=A] [--stream=agent|tenant] [--resume=ID] [--count=N]
                [--for=30s]                                 an agent's (or with --stream=tenant
                                                            a supervisor's) live stream, a line
                                                            per notification; --resume continues
                                                            after a notification id
)";

int RunNotifications(const Args& args) {
  static const std::vector<Verb<nv::NotificationsService>> kVerbs = {
      {"watch", {.optional = {"agent", "stream", "resume", "count", "for"}}, Watch},
  };
  return RunVerbs(args, kVerbs);
}

}  // namespace

const Command kNotificationsCommand = {"notifications", kUsage, RunNotifications};

}  // namespace switchboard::cli
