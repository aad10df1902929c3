// `switchboardctl notifications ...`: the notifications service's stream
// (switchboard.notifications.v1.NotificationsService.Subscribe), one line per notification, as
// an agent's browser or a supervisor's dashboard receives it; and the WhatsApp notices admins
// get (Get/UpdateNoticeSettings).
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
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

void PrintNotices(const Args& args, const nv::NoticeSettings& s) {
  if (s.business_phone_number_id().empty()) {
    Print(args, "WhatsApp notices to admins: off\n");
    return;
  }
  std::string to;
  for (const std::string& wa_id : s.recipient_wa_ids()) {
    absl::StrAppend(&to, to.empty() ? "" : ", ", wa_id);
  }
  Print(args,
        absl::StrFormat("WhatsApp notices to admins from %s\n", s.business_phone_number_id()));
  Print(args, absl::StrFormat("  to           %s\n", to.empty() ? "nobody" : to));
  Print(args, absl::StrFormat("  usage        %s\n", s.usage_alerts() ? "on" : "off"));
  Print(args, absl::StrFormat("  suspension   %s\n", s.suspension_alerts() ? "on" : "off"));
  Print(args, absl::StrFormat("  template     %s\n",
                              s.fallback_template().name().empty()
                                  ? "none (outside a recipient's 24 h window nothing is sent)"
                                  : absl::StrCat(s.fallback_template().name(), " (",
                                                 s.fallback_template().language_code(), ")")));
  if (s.has_update_time()) {
    Print(args,
          absl::StrFormat("  updated      %s by %s\n",
                          absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                                           core::FromProto(s.update_time()), absl::UTCTimeZone()),
                          s.updated_by()));
  }
}

absl::Status Notices(const Args& args, const NotificationsClient& client) {
  return client.Show(
      args, &nv::NotificationsService::Stub::GetNoticeSettings, nv::GetNoticeSettingsRequest(),
      [&](const nv::GetNoticeSettingsResponse& r) { PrintNotices(args, r.settings()); });
}

absl::StatusOr<bool> OnOff(const Args& args, const std::string& name) {
  const std::string v = args.Flag(name);
  if (v == "on" || v == "true") return true;
  if (v == "off" || v == "false") return false;
  return UsageError(absl::StrCat("--", name, " must be on or off"));
}

// Starts from the settings as they are, so only the flags given change.
absl::Status SetNotices(const Args& args, const NotificationsClient& client) {
  if (args.Word(2) == "off") {
    nv::UpdateNoticeSettingsRequest off;
    off.mutable_settings();
    return client.Show(
        args, &nv::NotificationsService::Stub::UpdateNoticeSettings, off,
        [&](const nv::UpdateNoticeSettingsResponse& r) { PrintNotices(args, r.settings()); });
  }
  nv::GetNoticeSettingsResponse current;
  RETURN_IF_ERROR(client.Call(&nv::NotificationsService::Stub::GetNoticeSettings,
                              nv::GetNoticeSettingsRequest(), &current));
  nv::UpdateNoticeSettingsRequest req;
  nv::NoticeSettings& s = *req.mutable_settings();
  s = current.settings();
  s.clear_update_time();
  s.clear_updated_by();
  if (args.Has("number")) s.set_business_phone_number_id(args.Flag("number"));
  if (args.Has("to")) {
    s.clear_recipient_wa_ids();
    for (absl::string_view wa_id : absl::StrSplit(args.Flag("to"), ',', absl::SkipEmpty())) {
      s.add_recipient_wa_ids(std::string(absl::StripAsciiWhitespace(wa_id)));
    }
  }
  if (args.Has("usage")) {
    ASSIGN_OR_RETURN(bool on, OnOff(args, "usage"));
    s.set_usage_alerts(on);
  }
  if (args.Has("suspension")) {
    ASSIGN_OR_RETURN(bool on, OnOff(args, "suspension"));
    s.set_suspension_alerts(on);
  }
  if (args.Has("template")) {
    const std::string t = args.Flag("template");
    if (t.empty() || t == "none") {
      s.clear_fallback_template();
    } else {
      std::pair<std::string, std::string> parts = absl::StrSplit(t, absl::MaxSplits(':', 1));
      if (parts.second.empty()) return UsageError("--template must be NAME:LANGUAGE or none");
      s.mutable_fallback_template()->set_name(parts.first);
      s.mutable_fallback_template()->set_language_code(parts.second);
    }
  }
  return client.Show(
      args, &nv::NotificationsService::Stub::UpdateNoticeSettings, req,
      [&](const nv::UpdateNoticeSettingsResponse& r) { PrintNotices(args, r.settings()); });
}

constexpr char kUsage[] =
    R"(  notifications watch [--agent=A] [--stream=agent|tenant] [--resume=ID] [--count=N]
                [--for=30s]                                 an agent's (or with --stream=tenant
                                                            a supervisor's) live stream, a line
                                                            per notification; --resume continues
                                                            after a notification id
  notifications notices                                     the WhatsApp notices admins get
  notifications notices set [--number=ID] [--to=WA_ID,...] [--usage=on|off]
                [--suspension=on|off] [--template=NAME:LANG|none]
                                                            change them (admin); flags not given
                                                            keep their value
  notifications notices off                                 no notices (admin)
)";

int RunNotifications(const Args& args) {
  static const std::vector<Verb<nv::NotificationsService>> kVerbs = {
      {"watch", {.optional = {"agent", "stream", "resume", "count", "for"}}, Watch},
      {"notices", {}, Notices},
      {"notices set",
       {.optional = {"number", "to", "usage", "suspension", "template"}},
       SetNotices},
      {"notices off", {}, SetNotices},
  };
  return RunVerbs(args, kVerbs);
}

}  // namespace

const Command kNotificationsCommand = {"notifications", kUsage, RunNotifications};

}  // namespace switchboard::cli
