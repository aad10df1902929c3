// switchboard.notifications.v1.NotificationsService over the callback API: a stream holds no
// thread while it waits (hub.h delivers into its bounded queue).
#pragma once

#include "libs/core/clock.h"
#include "services/notifications/hub.h"
#include "switchboard/notifications/v1/notifications_service.grpc.pb.h"

namespace switchboard::notifications {

// Messages a stream may have queued for its client before it is ended as a slow consumer.
inline constexpr size_t kStreamQueue = 256;

class Service final : public v1::NotificationsService::CallbackService {
 public:
  explicit Service(Hub& hub) : hub_(hub) {}

  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* ctx, const v1::SubscribeRequest* request) override;

 private:
  Hub& hub_;
};

}  // namespace switchboard::notifications
