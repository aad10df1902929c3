#include "services/eligibility/rules/facts.h"

namespace switchboard::eligibility::rules {

bool Later(std::optional<absl::Time>& field, absl::Time t) {
  if (field.has_value() && *field >= t) return false;
  field = t;
  return true;
}

bool ApplyInboundMessage(ContactFacts& f, Signal signal, absl::Time at) {
  Later(f.last_inbound_message, at);
  const bool offer_pending = f.offer_made.has_value() && at >= *f.offer_made;
  switch (signal) {
    case Signal::kCallRequest:
      Later(f.call_requested, at);
      return true;
    case Signal::kOptOut:
      Later(f.opted_out, at);
      return true;
    case Signal::kAffirmative:
      if (offer_pending) Later(f.offer_accepted, at);
      return offer_pending;
    case Signal::kDecline:
      if (offer_pending) Later(f.declined, at);
      return offer_pending;
    case Signal::kNone:
      return false;
  }
  return false;
}

namespace {

// Whether a permission fact at `at` is newer than the last one applied (and records it).
bool NewerPermission(ContactFacts& f, absl::Time at) {
  if (f.permission_changed.has_value() && at < *f.permission_changed) return false;
  f.permission_changed = at;
  return true;
}

}  // namespace

void ApplyPermissionReply(ContactFacts& f, const PermissionReply& reply) {
  const bool revoke = !reply.accept && reply.automatic;
  if (!revoke) Later(f.last_inbound_message, reply.at);  // the user's reply opens the window
  if (!NewerPermission(f, reply.at)) return;
  if (reply.accept) {
    f.permission = reply.expires.has_value() ? Permission::kTemporary : Permission::kPermanent;
    f.permission_expires = reply.expires;
    f.permission_revoked = false;
    f.consecutive_unanswered = 0;
  } else if (reply.automatic) {
    f.permission_revoked = true;  // Meta revoked it (unanswered calls)
  } else {
    f.permission = Permission::kNone;
    f.permission_expires.reset();
    Later(f.declined, reply.at);
  }
}

void ApplyConsent(ContactFacts& f, ConsentKind kind, absl::Time at,
                  std::optional<absl::Time> expires) {
  switch (kind) {
    case ConsentKind::kCallRequest:
      Later(f.call_requested, at);
      break;
    case ConsentKind::kOfferAccepted:
      Later(f.offer_accepted, at);
      break;
    case ConsentKind::kLongTerm:
      Later(f.long_term_consent, at);
      break;
    case ConsentKind::kMetaPermission:
      if (!NewerPermission(f, at)) break;
      f.permission = expires.has_value() ? Permission::kTemporary : Permission::kPermanent;
      f.permission_expires = expires;
      f.permission_revoked = false;
      f.consecutive_unanswered = 0;
      break;
  }
}

void ApplyCallOffer(ContactFacts& f, absl::Time at) { Later(f.offer_made, at); }
void ApplyOptOut(ContactFacts& f, absl::Time at) { Later(f.opted_out, at); }
void ApplyDecline(ContactFacts& f, absl::Time at) { Later(f.declined, at); }

void ApplyOutboundCallOutcome(ContactFacts& f, bool missed) {
  f.consecutive_unanswered = missed ? f.consecutive_unanswered + 1 : 0;
}

}  // namespace switchboard::eligibility::rules
