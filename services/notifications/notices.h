// The tenant's WhatsApp notices to its admins: the settings (Get/UpdateNoticeSettings) and the
// consumers that turn billing's usage alerts and eligibility's suspensions into outbound
// message requests (rules/notices.h decides which), enqueued on whatsapp.outbound.v1 through
// the schema's outbox and sent by the outbound message queue (outbound.h) like any other.
//
// Each notice's event id is derived from the source event's and the recipient, so a redelivered
// or replayed source event enqueues the same ids again and the sender, which de-duplicates on
// them, sends each notice once. A source event that is no longer news (rules/current.h: a usage
// alert of a month that ended or older than `max_age`, a suspension already over) sends nothing,
// so a replay never reaches an admin added since.
//
//   Notices notices(pool, numbers, clock, retention.age);
//   consumer of billing.usage.v1:      notices.OnUsage(event, message);
//   consumer of eligibility.state.v1:  notices.OnSuspension(event, message);
#pragma once

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "libs/runtime/numbers.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"

namespace switchboard::notifications {

class Notices {
 public:
  Notices(pg::Pool& pool, runtime::Numbers& numbers, const core::Clock& clock,
          absl::Duration max_age)
      : pool_(pool), numbers_(numbers), clock_(clock), max_age_(max_age) {}

  // The caller's tenant's settings; the defaults (no notices) when never set.
  absl::StatusOr<v1::NoticeSettings> Get(const auth::Principal& caller);
  // Validates everything, checks the number is the caller's tenant's (`ctx` passes the token
  // on), then replaces the settings.
  absl::StatusOr<v1::NoticeSettings> Update(const grpc::ServerContextBase* ctx,
                                            const auth::Principal& caller,
                                            const v1::UpdateNoticeSettingsRequest& request);

  absl::Status OnUsage(const billing::v1::UsageUpdated& event, const kafka::Message& message);
  absl::Status OnSuspension(const eligibility::v1::CallingSuspensionChanged& event,
                            const kafka::Message& message);

 private:
  template <typename Event>
  absl::Status Enqueue(const Event& event, const kafka::Message& message);

  pg::Pool& pool_;
  runtime::Numbers& numbers_;
  const core::Clock& clock_;
  const absl::Duration max_age_;
};

}  // namespace switchboard::notifications
