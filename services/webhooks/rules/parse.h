// Meta's webhook JSON → typed WhatsAppEvent items (whatsapp_events.proto). Pure: no I/O, no
// clock; the edge adds the tenant, sequence and times. Tolerant by design: unknown fields,
// unknown kinds and items missing their ids are skipped and counted, never an error; only a
// body that is not a JSON object of Meta's envelope fails.
//
//   ASSIGN_OR_RETURN(webhooks::Parsed parsed, webhooks::ParseWebhook(request.body()));
//   for (const webhooks::Item& item : parsed.items) ...
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"

namespace switchboard::webhooks {

// One event to publish.
struct Item {
  // header.entity_id (the Kafka key) is set; tenant, sequence and times are not.
  v1::WhatsAppEvent event;
  // ce_id, derived from Meta's ids so a redelivery yields the same value (de-dup key).
  std::string event_id;
};

struct Parsed {
  std::vector<Item> items;
  // What was skipped, by kind, e.g. {"message_status", 2}, {"unknown_field", 1},
  // {"unknown_call_event", 1}, {"invalid_item", 1}. Bounded label set (metric-safe).
  std::map<std::string, int> skipped;
};

// INVALID_ARGUMENT with reason MALFORMED_JSON (not JSON) or NOT_A_WEBHOOK (JSON but not
// Meta's envelope). An envelope whose `object` is not "whatsapp_business_account" parses to
// no items with skipped {"unknown_object", 1}.
absl::StatusOr<Parsed> ParseWebhook(absl::string_view body);

// Event times later than `received` (Meta's clock, or a forged body, dated ahead) become
// `received`: a message dated 30 days ahead must not open the service window until then.
// Expiration times (permission grants) are left alone. Returns whether anything changed.
bool ClampTimes(v1::WhatsAppEvent& event, absl::Time received);

// Whether the event is about a call (connect, terminate, status), which must name its number.
bool IsCallEvent(const v1::WhatsAppEvent& event);

}  // namespace switchboard::webhooks
