#include "services/gateway/rules/sse.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace switchboard::gateway::rules {

std::string SseEvent(const notifications::v1::Notification& n) {
  std::string name = "notification";
  const google::protobuf::OneofDescriptor* oneof = n.GetDescriptor()->FindOneofByName("payload");
  if (const auto* field = n.GetReflection()->GetOneofFieldDescriptor(n, oneof); field != nullptr) {
    name = field->name() == "subscription_started" ? "started" : field->name();
  }
  // Protobuf's JSON printer writes one line: nothing in `data:` can end the event early.
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(n, &json).ok()) json = "{}";
  std::string out;
  if (!n.notification_id().empty()) absl::StrAppend(&out, "id: ", n.notification_id(), "\n");
  absl::StrAppend(&out, "event: ", name, "\ndata: ", json, "\n\n");
  return out;
}

}  // namespace switchboard::gateway::rules
