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
//
// A type may also be handled many records at a time (one transaction for a batch), on top of
// its one-record handler, which still takes every record the batch handler gives back:
//
//   handlers.OnBatch<calls::v1::CallStateChanged>(
//       [&](const std::vector<kafka::Typed<calls::v1::CallStateChanged>>& batch) { ... }, 500);
//   kafka::Consumer::Create(options, handlers.AsHandler(), handlers.AsBatchHandler());
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "libs/kafka/kafka.h"

namespace switchboard::kafka {

// The reason a handler gives for a record it does not handle; the consumer counts the record
// as skipped and moves on.
inline constexpr char kEventNotHandled[] = "EVENT_NOT_HANDLED";
absl::Status NotHandled(absl::string_view type);

// A record of a type the handler set declares but whose payload does not parse.
absl::Status Unparsable(const Message& message);

// One record of a batch, parsed, with the record it came from.
template <typename M>
struct Typed {
  M event;
  const Message* message;
};

// The reason a batch handler gives a batch back for the consumer to hand out one at a time.
inline constexpr char kBatchRefused[] = "BATCH_REFUSED";

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

  // Handles the batch's records of type M at once; records of types handled by no one are left
  // out (skipped). A batch with a record of another handled type, or one that does not parse,
  // is given back to the one-record handlers (which keep the order and say what is poison).
  // `max_batch`: the consumer's ConsumerOptions::max_batch. On must also be set for M.
  template <typename M>
  Dispatch& OnBatch(std::function<absl::Status(const std::vector<Typed<M>>&)> handler,
                    int max_batch) {
    max_batch_ = max_batch;
    const std::string type = M::descriptor()->full_name();
    batch_ = [type, handler = std::move(handler)](
                 const std::vector<Message>& records,
                 const absl::flat_hash_set<std::string>& handled) -> absl::Status {
      std::vector<Typed<M>> typed;
      typed.reserve(records.size());
      for (const Message& m : records) {
        if (m.event.type != type) {
          if (handled.contains(m.event.type)) return BatchRefused(m.event.type);
          continue;  // nobody handles it: skipped, as one at a time
        }
        Typed<M>& t = typed.emplace_back(Typed<M>{M(), &m});
        if (!t.event.ParseFromString(m.event.payload)) return BatchRefused(m.event.type);
      }
      if (typed.empty()) return absl::OkStatus();
      return handler(typed);
    };
    return *this;
  }

  // The ce_types handled, for logs and tests.
  std::vector<std::string> Types() const;

  absl::Status operator()(const Message& message) const;
  // A Consumer handler that dispatches (shares the handlers; the Dispatch may go).
  Handler AsHandler() const;
  // The batch handler, or null when OnBatch was not called; and its batch size (1 without).
  BatchHandler AsBatchHandler() const;
  int max_batch() const { return batch_ ? max_batch_ : 1; }

 private:
  static absl::Status BatchRefused(absl::string_view type);

  absl::flat_hash_map<std::string, std::function<absl::Status(const Message&)>> handlers_;
  std::function<absl::Status(const std::vector<Message>&, const absl::flat_hash_set<std::string>&)>
      batch_;
  int max_batch_ = 1;
};

}  // namespace switchboard::kafka
