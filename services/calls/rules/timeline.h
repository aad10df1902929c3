// The system message a finished call leaves in the contact's conversation ("Missed call from
// Ana Souza", "Outgoing call, 5:30"), in the tenant's language. Pure: rules/events.h adds the
// event header, and the journal publishes it on conversations.timeline.v1 with the call's final
// state.
//
//   if (auto entry = timeline::EntryFor(call, settings.language)) Enqueue(*entry);
#pragma once

#include <optional>

#include "absl/strings/string_view.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls::timeline {

// The languages with their own texts: en, es, pt, fr, de, hi, id. Others read English.
bool IsSupportedLanguage(absl::string_view language);

// The entry for a call in a terminal state (ENDED, MISSED, REJECTED, FAILED); nullopt while
// the call is live. Fills contact, call_id, kind, text, duration (ENDED only), direction,
// business_phone_number_id and agent_id; not the header.
//
// Kinds: MISSED inbound -> MISSED_INBOUND; ENDED -> COMPLETED_INBOUND / COMPLETED_OUTBOUND;
// MISSED outbound -> UNANSWERED_OUTBOUND; REJECTED -> REJECTED; FAILED -> FAILED.
// English texts ({name} is display_name, else phone_e164, else "+" + wa_id, else
// "a contact"/the language's equivalent; {duration} is format::Duration without a leading zero
// in the minutes, "5:30", "0:45", "1:02:03"):
//   MISSED_INBOUND         "Missed call from {name}"
//   COMPLETED_INBOUND      "Incoming call, {duration}"
//   COMPLETED_OUTBOUND     "Outgoing call, {duration}"
//   UNANSWERED_OUTBOUND    "Outgoing call, not answered"
//   REJECTED               inbound "Declined call from {name}"; outbound "Outgoing call, declined"
//   FAILED                 inbound "Incoming call failed"; outbound "Outgoing call failed"
// `language` is an ISO 639-1 code, optionally with a region ("pt-BR" reads as "pt").
std::optional<v1::TimelineEntry> EntryFor(const v1::Call& call, absl::string_view language);

}  // namespace switchboard::calls::timeline
