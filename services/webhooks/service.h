// switchboard.webhooks.v1.WebhooksService: the tenant's registry of business numbers and their
// calling settings (pushed to Meta). The tenant is always the caller's; changes need the admin
// role. Handlers validate (rules/numbers.h), then read or write the registry (store/).
#pragma once

#include "libs/whatsapp/credentials.h"
#include "libs/whatsapp/graph_client.h"
#include "services/webhooks/store/registry.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"

namespace switchboard::webhooks {

class Service final : public v1::WebhooksService::Service {
 public:
  Service(Registry& registry, const whatsapp::Credentials& credentials, whatsapp::Graph& graph,
          const core::Clock& clock);

  grpc::Status RegisterPhoneNumber(grpc::ServerContext* ctx,
                                   const v1::RegisterPhoneNumberRequest* req,
                                   v1::RegisterPhoneNumberResponse* resp) override;
  grpc::Status ListPhoneNumbers(grpc::ServerContext* ctx, const v1::ListPhoneNumbersRequest* req,
                                v1::ListPhoneNumbersResponse* resp) override;
  grpc::Status ListDeadLetters(grpc::ServerContext* ctx, const v1::ListDeadLettersRequest* req,
                               v1::ListDeadLettersResponse* resp) override;
  grpc::Status GetPhoneNumber(grpc::ServerContext* ctx, const v1::GetPhoneNumberRequest* req,
                              v1::GetPhoneNumberResponse* resp) override;
  grpc::Status DeletePhoneNumber(grpc::ServerContext* ctx, const v1::DeletePhoneNumberRequest* req,
                                 v1::DeletePhoneNumberResponse* resp) override;
  grpc::Status UpdateCallingSettings(grpc::ServerContext* ctx,
                                     const v1::UpdateCallingSettingsRequest* req,
                                     v1::UpdateCallingSettingsResponse* resp) override;

 private:
  Registry& registry_;
  const whatsapp::Credentials& credentials_;
  whatsapp::Graph& graph_;
  const core::Clock& clock_;
};

}  // namespace switchboard::webhooks
