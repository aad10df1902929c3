// switchboard.billing.v1.BillingService. Skeleton: the handlers come with the service's issue, each
// a few lines over the feature classes (the way services/calls/service.cc is written); until
// then every method answers UNIMPLEMENTED after authentication, like every call.
#pragma once

#include "switchboard/billing/v1/billing_service.grpc.pb.h"

namespace switchboard::billing {

class Service final : public v1::BillingService::Service {};

}  // namespace switchboard::billing
