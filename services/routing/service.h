// switchboard.routing.v1.RoutingService. Skeleton: the handlers come with the service's issue, each
// a few lines over the feature classes (the way services/calls/service.cc is written); until
// then every method answers UNIMPLEMENTED after authentication, like every call.
#pragma once

#include "switchboard/routing/v1/routing_service.grpc.pb.h"

namespace switchboard::routing {

class Service final : public v1::RoutingService::Service {};

}  // namespace switchboard::routing
