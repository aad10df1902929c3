// How what happens to a contact changes what eligibility knows about them (ContactFacts): an
// inbound message and its signal, Meta's permission replies, consents, offers, opt-outs and the
// outcome of outbound calls. Pure: the store applies these inside its transaction, so "why does
// eligibility think this contact consented" is answered here, without reading I/O code.
//
// Meta delivers out of order: every time field keeps the latest time it has seen.
//
//   ASSIGN_OR_RETURN(auto r, durable.Apply(contact, {.apply = [&](rules::ContactFacts& f) {
//     counted = rules::ApplyInboundMessage(f, signal, at);
//   }, ...}));
#pragma once

#include <optional>

#include "absl/time/time.h"
#include "services/eligibility/rules/eligibility.h"
#include "services/eligibility/rules/text_signals.h"

namespace switchboard::eligibility::rules {

// Sets `field` to `t` unless it holds a later time; returns whether it changed.
bool Later(std::optional<absl::Time>& field, absl::Time t);

// A message from the contact: the service window opens (or stays open) from `at`, and its
// signal is recorded. A call request and an opt-out always count; an affirmative or declining
// reply counts only when an agent's offer was pending at `at`. Returns whether the signal
// counted (kNone never does).
bool ApplyInboundMessage(ContactFacts& f, Signal signal, absl::Time at);

// Meta's call_permission_reply: an accept grants (temporary until `expires`, else permanent)
// and clears a revoke; an automatic reject is Meta revoking the permission (after unanswered
// calls); a reject by the user is a decline. Replies are ordered by Meta's time: one older than
// the last permission fact applied changes nothing. A reply opens the service window unless it
// is Meta's automatic revoke (not a message from the user).
struct PermissionReply {
  bool accept = false;
  bool automatic = false;
  std::optional<absl::Time> expires;  // temporary grants
  absl::Time at;
};
void ApplyPermissionReply(ContactFacts& f, const PermissionReply& reply);

// A consent recorded through the API (an agent, the inbox). A Meta permission recorded this way
// is ordered with the replies.
enum class ConsentKind { kCallRequest, kOfferAccepted, kLongTerm, kMetaPermission };
void ApplyConsent(ContactFacts& f, ConsentKind kind, absl::Time at,
                  std::optional<absl::Time> expires);

void ApplyCallOffer(ContactFacts& f, absl::Time at);
void ApplyOptOut(ContactFacts& f, absl::Time at);
void ApplyDecline(ContactFacts& f, absl::Time at);

// An outbound call ended unanswered (missed) or was answered: Meta revokes permission after
// consecutive unanswered calls, so they are counted, and an answer resets the count.
void ApplyOutboundCallOutcome(ContactFacts& f, bool missed);

}  // namespace switchboard::eligibility::rules
