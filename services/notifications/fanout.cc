#include "services/notifications/fanout.h"

#include "libs/auth/token.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "services/notifications/rules/current.h"

namespace switchboard::notifications {

absl::Status Fanout::Append(const events::v1::EventHeader& header, const kafka::Message& m,
                            std::vector<rules::Entry> entries) {
  if (!auth::IsValidTenantId(header.tenant_id())) {
    return core::InvalidArgument("INCOMPLETE_EVENT", "event without a valid tenant");
  }
  const absl::Time now = clock_.Now();
  entries = rules::CurrentEntries(std::move(entries), rules::EventTime(header, m.event.time, now),
                                  now, retention_.age);
  if (entries.empty()) return absl::OkStatus();
  for (rules::Entry& entry : entries) {
    if (!entry.notification.has_value()) continue;
    entry.notification->set_event_id(m.event.id);
    if (!entry.notification->has_occurred_time()) {
      *entry.notification->mutable_occurred_time() = core::ToProto(m.event.time);
    }
  }
  return store::Append(redis_, m.event.id, entries, retention_, store::NewEpoch()).status();
}

absl::Status Fanout::OnOffer(const routing::v1::CallOffer& offer, const kafka::Message& m) {
  return Append(offer.header(), m, rules::FromOffer(offer));
}

absl::Status Fanout::OnCallState(const calls::v1::CallStateChanged& event,
                                 const kafka::Message& m) {
  return Append(event.header(), m, rules::FromCallState(event));
}

absl::Status Fanout::OnCallbackDue(const calls::v1::CallbackDue& event, const kafka::Message& m) {
  return Append(event.header(), m, rules::FromCallbackDue(event));
}

absl::Status Fanout::OnUsage(const billing::v1::UsageUpdated& event, const kafka::Message& m) {
  return Append(event.header(), m, rules::FromUsage(event));
}

absl::Status Fanout::OnSuspension(const eligibility::v1::CallingSuspensionChanged& event,
                                  const kafka::Message& m) {
  return Append(event.header(), m, rules::FromSuspension(event));
}

}  // namespace switchboard::notifications
