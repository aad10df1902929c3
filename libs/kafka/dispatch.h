// Typed event handling: a consumer's handler that parses each record by its ce_type and hands
// it to the handler registered for that type. A topic carries several event types (calls.state.v1
// has CallStateChanged and CallbackDue); a type nobody here handles is skipped and counted
// (outcome "skipped"), never taken for poison. A record of a handled type that does not parse
// is poison (INVALID_ARGUMENT UNPARSABLE_EVENT).
//
//   kafka::Dispatch handlers;
//   handlers.On<calls::v1::CallStateChanged>(
//       [&](const calls::v1::CallStateChanged& e, const kafka::Message& m) { return Apply(e); });
//   ASSIGN_OR_RETURN(auto consumer, kafka::Consumer::Create(options, handlers.AsHandler()));
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "libs/kafka/kafka.h"

namespace switchboard::kafka {

// The reason a handler gives for a record it does not handle; the consumer counts the record
// as skipped and moves on.
inline constexpr char kEventNotHandled[] = "EVENT_NOT_HANDLED";
absl::Status NotHandled(absl::string_view type);

// A record of a type the handler set declares but whose payload does not parse.
absl::Status Unparsable(const Message& message);

class Dispatch {
 public:
  template <typename M>
  Dispatch& On(std::function<absl::Status(const M&, const Message&)> handler) {
    handlers_[M::descriptor()->full_name()] = [handler = std::move(handler)](const Message& m) {
      M parsed;
      if (!parsed.ParseFromString(m.event.payload)) return Unparsable(m);
      return handler(parsed, m);
    };
    return *this;
  }

  // The ce_types handled, for logs and tests.
  std::vector<std::string> Types() const;

  absl::Status operator()(const Message& message) const;
  // A Consumer handler that dispatches (shares the handlers; the Dispatch may go).
  Handler AsHandler() const;

 private:
  absl::flat_hash_map<std::string, std::function<absl::Status(const Message&)>> handlers_;
};

}  // namespace switchboard::kafka
