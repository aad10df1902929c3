// The outbound message queue: the WhatsApp messages other services ask for on
// whatsapp.outbound.v1 (routing's missed-call auto-replies and voicemail prompts, among others)
// sent through the Graph API, each at most once (ADR 0015):
//
// - a request is taken by its event id before Meta is asked, so a redelivery, a second replica
//   or a restart never sends it again;
// - Meta refusing with a temporary error (throttling, 5xx) gives it back for the consumer's
//   retry; any other refusal settles it as skipped, with Meta's reason;
// - a request whose Graph answer was lost (the connection dropped, the process died) is never
//   sent again: it is settled "unknown" and counted, since a missed-call reply sent twice is
//   worse than one an operator looks into.
//
// Free text goes inside the contact's 24 h customer-service window, the request's template
// outside it (rules/outbound.h); the window is kept from the contacts' webhooks.
//
//   Outbound outbound(pool, graph, clock, &metrics);
//   consumer of whatsapp.outbound.v1: outbound.OnRequested(request, message);
//   consumer of whatsapp.events.v1:   outbound.OnWhatsAppEvent(event, message);
#pragma once

#include "absl/status/status.h"
#include "libs/core/clock.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "libs/whatsapp/graph_client.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"

namespace switchboard::notifications {

class Outbound {
 public:
  // Null `metrics`: counts nothing.
  Outbound(pg::Pool& pool, whatsapp::Graph& graph, const core::Clock& clock,
           prometheus::Registry* metrics);

  absl::Status OnRequested(const v1::OutboundMessageRequested& request,
                           const kafka::Message& message);
  absl::Status OnWhatsAppEvent(const webhooks::v1::WhatsAppEvent& event,
                               const kafka::Message& message);
  // Settles as unknown the requests taken more than `after` ago and never settled (the process
  // died between taking one and hearing from Meta). Returns how many.
  absl::StatusOr<int64_t> SettleLost(absl::Duration after);

 private:
  void Count(const std::string& outcome);

  pg::Pool& pool_;
  whatsapp::Graph& graph_;
  const core::Clock& clock_;
  prometheus::Family<prometheus::Counter>* outcomes_ = nullptr;
};

}  // namespace switchboard::notifications
