// switchboard.notifications.v1.NotificationsService: Subscribe over the callback API (a stream
// holds no thread while it waits; hub.h delivers into its bounded queue), the notice settings
// as ordinary unary handlers (notices.h).
#pragma once

#include "libs/core/clock.h"
#include "services/notifications/hub.h"
#include "services/notifications/notices.h"
#include "switchboard/notifications/v1/notifications_service.grpc.pb.h"

namespace switchboard::notifications {

// Messages a stream may have queued for its client before it is ended as a slow consumer.
inline constexpr size_t kStreamQueue = 256;

// Subscribe on the callback API, the rest synchronous (CallbackService would make every method
// a callback one).
class Service final : public v1::NotificationsService::WithCallbackMethod_Subscribe<
                          v1::NotificationsService::Service> {
 public:
  Service(Hub& hub, Notices& notices) : hub_(hub), notices_(notices) {}

  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* ctx, const v1::SubscribeRequest* request) override;
  grpc::Status GetNoticeSettings(grpc::ServerContext* ctx,
                                 const v1::GetNoticeSettingsRequest* request,
                                 v1::GetNoticeSettingsResponse* response) override;
  grpc::Status UpdateNoticeSettings(grpc::ServerContext* ctx,
                                    const v1::UpdateNoticeSettingsRequest* request,
                                    v1::UpdateNoticeSettingsResponse* response) override;

 private:
  Hub& hub_;
  Notices& notices_;
};

}  // namespace switchboard::notifications
