#include "services/eligibility/rules/facts.h"

#include <catch2/catch.hpp>

namespace switchboard::eligibility::rules {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1796000000);

TEST_CASE("a message opens the window; its signal counts as the rules say") {
  ContactFacts f;
  CHECK(ApplyInboundMessage(f, Signal::kCallRequest, kT0));
  CHECK(f.last_inbound_message == kT0);
  CHECK(f.call_requested == kT0);
  // An older message delivered late moves nothing back.
  CHECK(ApplyInboundMessage(f, Signal::kNone, kT0 - absl::Hours(1)) == false);
  CHECK(f.last_inbound_message == kT0);
  CHECK(ApplyInboundMessage(f, Signal::kOptOut, kT0 + absl::Minutes(1)));
  CHECK(f.opted_out == kT0 + absl::Minutes(1));
}

TEST_CASE("a reply counts only when an offer was pending") {
  ContactFacts f;
  CHECK_FALSE(ApplyInboundMessage(f, Signal::kAffirmative, kT0));
  CHECK_FALSE(f.offer_accepted.has_value());
  ApplyCallOffer(f, kT0 + absl::Minutes(1));
  // A "yes" written before the offer is not an answer to it.
  CHECK_FALSE(ApplyInboundMessage(f, Signal::kAffirmative, kT0 + absl::Seconds(30)));
  CHECK(ApplyInboundMessage(f, Signal::kAffirmative, kT0 + absl::Minutes(2)));
  CHECK(f.offer_accepted == kT0 + absl::Minutes(2));
  CHECK(ApplyInboundMessage(f, Signal::kDecline, kT0 + absl::Minutes(3)));
  CHECK(f.declined == kT0 + absl::Minutes(3));
}

TEST_CASE("Meta's permission replies: grant, automatic revoke, user decline") {
  ContactFacts f;
  f.consecutive_unanswered = 3;
  ApplyPermissionReply(f, {.accept = true, .expires = kT0 + absl::Hours(24 * 7), .at = kT0});
  CHECK(f.permission == Permission::kTemporary);
  CHECK(f.permission_expires == kT0 + absl::Hours(24 * 7));
  CHECK(f.consecutive_unanswered == 0);
  CHECK(f.last_inbound_message == kT0);
  ApplyPermissionReply(f, {.accept = false, .automatic = true, .at = kT0 + absl::Hours(1)});
  CHECK(f.permission_revoked);
  ApplyPermissionReply(f, {.accept = true, .at = kT0 + absl::Hours(2)});
  CHECK(f.permission == Permission::kPermanent);
  CHECK_FALSE(f.permission_revoked);
  ApplyPermissionReply(f, {.accept = false, .at = kT0 + absl::Hours(3)});
  CHECK(f.permission == Permission::kNone);
  CHECK(f.declined == kT0 + absl::Hours(3));
}

TEST_CASE("permission replies are ordered by Meta's time; a revoke opens no window") {
  ContactFacts f;
  // The automatic revoke (newer) arrives first, then the older permanent grant.
  ApplyPermissionReply(f, {.accept = false, .automatic = true, .at = kT0 + absl::Hours(2)});
  CHECK(f.permission_revoked);
  CHECK_FALSE(f.last_inbound_message.has_value());  // Meta's revoke is not the user writing
  ApplyPermissionReply(f, {.accept = true, .at = kT0});
  CHECK(f.permission_revoked);  // the older grant does not undo the newer revoke
  CHECK(f.permission == Permission::kNone);
  CHECK(f.last_inbound_message == kT0);  // but the user did write then
  // A newer grant does.
  ApplyPermissionReply(f, {.accept = true, .at = kT0 + absl::Hours(3)});
  CHECK_FALSE(f.permission_revoked);
  CHECK(f.permission == Permission::kPermanent);
  // An older decline does not take it back either.
  ApplyPermissionReply(f, {.accept = false, .at = kT0 + absl::Hours(1)});
  CHECK(f.permission == Permission::kPermanent);
  // Nor does an older permission recorded through the API.
  ApplyConsent(f, ConsentKind::kMetaPermission, kT0, kT0 + absl::Hours(24));
  CHECK(f.permission == Permission::kPermanent);
}

TEST_CASE("consents, opt-outs and outbound outcomes") {
  ContactFacts f;
  ApplyConsent(f, ConsentKind::kLongTerm, kT0, std::nullopt);
  CHECK(f.long_term_consent == kT0);
  ApplyConsent(f, ConsentKind::kMetaPermission, kT0, kT0 + absl::Hours(1));
  CHECK(f.permission == Permission::kTemporary);
  ApplyOutboundCallOutcome(f, /*missed=*/true);
  ApplyOutboundCallOutcome(f, /*missed=*/true);
  CHECK(f.consecutive_unanswered == 2);
  ApplyOutboundCallOutcome(f, /*missed=*/false);
  CHECK(f.consecutive_unanswered == 0);
  ApplyOptOut(f, kT0);
  ApplyDecline(f, kT0);
  CHECK(f.opted_out == kT0);
  CHECK(f.declined == kT0);
}

}  // namespace
}  // namespace switchboard::eligibility::rules
