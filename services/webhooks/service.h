// switchboard.webhooks.v1.WebhooksService: the tenant's registry of business numbers and their
// calling settings (pushed to Meta). The tenant is always the caller's.
#pragma once

#include <functional>

#include "services/webhooks/registry.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"

namespace switchboard::whatsapp {
class Credentials;
}

namespace switchboard::webhooks {

// Sends a number's calling settings to Meta (POST /<id>/settings).
using PushSettings =
    std::function<absl::Status(const std::string& phone_number_id, const v1::CallingSettings&)>;

// INVALID_ARGUMENT INVALID_CALL_HOURS unless Meta would take them: a valid IANA zone when
// enabled, HHMM times with open < close, at most 2 non-overlapping ranges per weekday, at most
// 20 holidays with valid dates.
absl::Status ValidateCallingSettings(const v1::CallingSettings& settings);

class Service final : public v1::WebhooksService::Service {
 public:
  Service(Registry& registry, const whatsapp::Credentials& credentials, PushSettings push);

  grpc::Status RegisterPhoneNumber(grpc::ServerContext* ctx,
                                   const v1::RegisterPhoneNumberRequest* req,
                                   v1::RegisterPhoneNumberResponse* resp) override;
  grpc::Status ListPhoneNumbers(grpc::ServerContext* ctx, const v1::ListPhoneNumbersRequest* req,
                                v1::ListPhoneNumbersResponse* resp) override;
  grpc::Status DeletePhoneNumber(grpc::ServerContext* ctx, const v1::DeletePhoneNumberRequest* req,
                                 v1::DeletePhoneNumberResponse* resp) override;
  grpc::Status UpdateCallingSettings(grpc::ServerContext* ctx,
                                     const v1::UpdateCallingSettingsRequest* req,
                                     v1::UpdateCallingSettingsResponse* resp) override;

 private:
  Registry& registry_;
  const whatsapp::Credentials& credentials_;
  PushSettings push_;
};

}  // namespace switchboard::webhooks
