// The WhatsApp notices a tenant's admins get (NoticeSettings): which settings are valid, and
// which messages an event asks for. Pure: the caller loads the settings and enqueues the
// messages.
//
//   RETURN_IF_ERROR(rules::ValidateNoticeSettings(req.settings()));
//   for (Notice& n : rules::NoticesFor(settings, usage_updated, event_id)) enqueue(n);
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"

namespace switchboard::notifications::rules {

inline constexpr int kMaxNoticeRecipients = 10;

// INVALID_ARGUMENT with the field in the metadata (see UpdateNoticeSettings in the proto).
// Does not ask whether the number is the tenant's: the caller does.
absl::Status ValidateNoticeSettings(const v1::NoticeSettings& settings);

// One message for one recipient, with the event id it is published under: the same source
// event gives the same ids, so a redelivery or a replay is de-duplicated by the sender.
struct Notice {
  std::string event_id;
  v1::OutboundMessageRequested message;
};

// The notices for a usage update: one per recipient when billing raised an alert (`alert` set,
// once per month and threshold) and the settings ask for usage alerts; none otherwise.
// `source_event_id`: the update's ce_id. Headers are left for the caller.
std::vector<Notice> NoticesFor(const v1::NoticeSettings& settings,
                               const billing::v1::UsageUpdated& event,
                               absl::string_view source_event_id);
std::vector<Notice> NoticesFor(const v1::NoticeSettings& settings,
                               const eligibility::v1::CallingSuspensionChanged& event,
                               absl::string_view source_event_id);

// The human text of a suspension, as the stream's SuspensionAlert and the notice show it.
std::string SuspensionText(const eligibility::v1::CallingSuspensionChanged& event);

}  // namespace switchboard::notifications::rules
