#include "libs/kafka/dispatch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/core/error.h"

namespace switchboard::kafka {

absl::Status NotHandled(absl::string_view type) {
  return core::Error(absl::StatusCode::kFailedPrecondition, kEventNotHandled,
                     absl::StrCat("no handler for events of type ", type),
                     {{"ce_type", std::string(type)}});
}

absl::Status Unparsable(const Message& message) {
  return core::InvalidArgument("UNPARSABLE_EVENT",
                               absl::StrCat("the payload does not parse as ", message.event.type),
                               {{"ce_type", message.event.type}, {"ce_id", message.event.id}});
}

absl::Status Dispatch::BatchRefused(absl::string_view type) {
  return core::Error(absl::StatusCode::kAborted, kBatchRefused,
                     absl::StrCat("a record of type ", type, " is handled one at a time"),
                     {{"ce_type", std::string(type)}});
}

std::vector<std::string> Dispatch::Types() const {
  std::vector<std::string> types;
  for (const auto& [type, handler] : handlers_) types.push_back(type);
  std::sort(types.begin(), types.end());
  return types;
}

absl::Status Dispatch::operator()(const Message& message) const {
  auto it = handlers_.find(message.event.type);
  if (it == handlers_.end()) return NotHandled(message.event.type);
  return it->second(message);
}

BatchHandler Dispatch::AsBatchHandler() const {
  if (!batch_) return nullptr;
  absl::flat_hash_set<std::string> handled;
  for (const auto& [type, handler] : handlers_) handled.insert(type);
  return [batch = batch_, handled = std::move(handled)](const std::vector<Message>& records) {
    return batch(records, handled);
  };
}

Handler Dispatch::AsHandler() const {
  auto shared = std::make_shared<Dispatch>(*this);
  return [shared](const Message& m) { return (*shared)(m); };
}

}  // namespace switchboard::kafka
