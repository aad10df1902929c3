// switchboard.notifications.v1.NotificationsService. Skeleton: the handlers come with the service's
// issue, each a few lines over the feature classes (the way services/calls/service.cc is written);
// until then every method answers UNIMPLEMENTED after authentication, like every call.
#pragma once

#include "switchboard/notifications/v1/notifications_service.grpc.pb.h"

namespace switchboard::notifications {

class Service final : public v1::NotificationsService::Service {};

}  // namespace switchboard::notifications
