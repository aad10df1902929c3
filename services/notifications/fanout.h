// Appends the suite's events to the notification streams (ADR 0017): consumed once per
// deployment (consumer groups notifications.offers, .calls, .usage and .suspensions, shared by
// the replicas), turned into entries by rules/streams.h and
// stored, de-duplicated by event id, by store/streams.h, whose publication every replica's hub
// hears. An event that arrives late (a replay after a crash) appends only what rules/current.h
// says is still current: its removals always, an alert or a call in progress only within the
// retention.
#pragma once

#include "libs/core/clock.h"
#include "libs/kafka/dispatch.h"
#include "libs/redis/redis.h"
#include "services/notifications/store/streams.h"

namespace switchboard::notifications {

class Fanout {
 public:
  Fanout(redis::Pool& redis, store::Retention retention, const core::Clock& clock)
      : redis_(redis), retention_(retention), clock_(clock) {}

  absl::Status OnOffer(const routing::v1::CallOffer& offer, const kafka::Message& m);
  absl::Status OnCallState(const calls::v1::CallStateChanged& event, const kafka::Message& m);
  absl::Status OnCallbackDue(const calls::v1::CallbackDue& event, const kafka::Message& m);
  absl::Status OnUsage(const billing::v1::UsageUpdated& event, const kafka::Message& m);
  absl::Status OnSuspension(const eligibility::v1::CallingSuspensionChanged& event,
                            const kafka::Message& m);

 private:
  absl::Status Append(const events::v1::EventHeader& header, const kafka::Message& m,
                      std::vector<rules::Entry> entries);

  redis::Pool& redis_;
  const store::Retention retention_;
  const core::Clock& clock_;
};

}  // namespace switchboard::notifications
