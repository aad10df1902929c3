#include "services/billing/ledger.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/api/events.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "libs/pg/outbox.h"
#include "services/billing/rules/plan.h"
#include "services/billing/store/store.h"
#include "switchboard/billing/v1/billing_events.pb.h"

namespace switchboard::billing {
namespace {

using calls::v1::Call;

constexpr char kService[] = "billing";
constexpr int64_t kMaxPurchase = 1'000'000;

events::v1::Money Micros(int64_t micros, const std::string& currency) {
  events::v1::Money m;
  m.set_amount_micros(micros);
  m.set_currency_code(currency);
  return m;
}

absl::Status RequireReason(const std::string& reason) {
  if (reason.empty()) {
    return core::InvalidArgument("MISSING_REASON", "say why (reason), for the ledger",
                                 {{"field", "reason"}});
  }
  return api::Text(reason, "reason", {.max_chars = 500});
}

absl::Status NotRated(const std::string& call_id) {
  return core::Error(absl::StatusCode::kNotFound, "CALL_NOT_RATED",
                     absl::StrCat("call ", call_id, " has no rating in the ledger"),
                     {{"call_id", call_id}});
}

// The call an entry rated, as much of it as rating reads.
Call CallOf(const v1::UsageEntry& entry, absl::Duration duration) {
  Call c;
  c.set_call_id(entry.call_id());
  c.set_state(calls::v1::CALL_STATE_ENDED);
  c.set_direction(entry.direction());
  c.set_business_phone_number_id(entry.business_phone_number_id());
  c.set_contact_region_code(entry.region_code());
  c.mutable_contact()->set_wa_id(entry.contact_number());
  *c.mutable_ended_time() = entry.ended_time();
  *c.mutable_answered_time() = entry.ended_time();
  *c.mutable_duration() = core::ToProto(duration);
  return c;
}

}  // namespace

Ledger::Ledger(pg::Pool& pool, Plans& plans, Invoices& invoices, const core::Clock& clock,
               LedgerProbe* probe)
    : pool_(pool), plans_(plans), invoices_(invoices), clock_(clock), probe_(probe) {}

v1::Usage Ledger::Show(const rules::MonthUsage& usage, const v1::RatePlan& plan,
                       const rules::Month& month) {
  v1::Usage out = rules::ToProto(usage, plan);
  out.set_month(month.id);
  *out.mutable_start_time() = core::ToProto(month.start);
  *out.mutable_end_time() = core::ToProto(month.end);
  return out;
}

absl::StatusOr<Ledger::Booking> Ledger::Open(pg::Conn& tx, const std::string& tenant,
                                             const v1::RatePlan& plan, const rules::Month& month,
                                             absl::Time now) {
  ASSIGN_OR_RETURN(rules::MonthUsage usage, store::LockMonth(tx, tenant, month, now));
  return Booking{.tenant = tenant, .plan = plan, .month = month, .usage = usage};
}

absl::Status Ledger::Add(pg::Conn& tx, Booking& b, v1::UsageEntry& entry, absl::Time now) {
  if (entry.entry_id().empty()) entry.set_entry_id(core::NewId());
  entry.set_month(b.month.id);
  *entry.mutable_create_time() = core::ToProto(now);
  RETURN_IF_ERROR(store::Append(tx, b.tenant, entry));
  const rules::Month current = rules::MonthOf(now, rules::ZoneOf(b.plan));
  if (b.month.id != current.id) RETURN_IF_ERROR(store::TouchMonth(tx, b.tenant, current, now));
  switch (entry.kind()) {
    case v1::USAGE_ENTRY_KIND_PURCHASE:
      b.usage.purchased_minutes += entry.minutes();
      break;
    case v1::USAGE_ENTRY_KIND_CALL:
      b.usage.minutes_used += entry.minutes();
      b.usage.call_cost_micros += entry.amount().amount_micros();
      ++b.usage.rated_calls;
      break;
    case v1::USAGE_ENTRY_KIND_REVERSAL:  // of a CALL or an ADJUSTMENT: minutes used and cost
    case v1::USAGE_ENTRY_KIND_ADJUSTMENT:
      b.usage.minutes_used += entry.minutes();
      b.usage.call_cost_micros += entry.amount().amount_micros();
      if (entry.kind() == v1::USAGE_ENTRY_KIND_REVERSAL && !entry.call_id().empty()) {
        --b.usage.rated_calls;
      }
      break;
    default:
      break;
  }
  return absl::OkStatus();
}

absl::Status Ledger::Close(pg::Conn& tx, Booking& b, const std::string& call_id, absl::Time now) {
  const v1::UsageLevel previous = b.usage.announced;
  const v1::UsageLevel alert = rules::Settle(b.usage, b.plan);
  RETURN_IF_ERROR(store::SaveMonth(tx, b.tenant, b.month.id, b.usage, now));
  ASSIGN_OR_RETURN(int64_t sequence, store::NextSequence(tx, b.tenant));
  const v1::Usage shown = Show(b.usage, b.plan, b.month);
  v1::UsageUpdated u;
  *u.mutable_header() = api::Header(b.tenant, b.tenant, sequence, now);
  u.set_month(b.month.id);
  u.set_minutes_used(shown.minutes_used());
  u.set_minutes_limit(shown.minutes_limit());
  u.set_percent_used(shown.percent_used());
  u.set_level(shown.level());
  u.set_previous_level(previous);
  u.set_usage_warning_percent(b.plan.usage_warning_percent());
  *u.mutable_call_cost() = shown.call_cost();
  u.set_call_id(call_id);
  u.set_alert(alert);
  *u.mutable_start_time() = shown.start_time();
  *u.mutable_end_time() = shown.end_time();
  if (alert != v1::USAGE_LEVEL_UNSPECIFIED) {
    log::Info("usage threshold crossed", {{"tenant", b.tenant},
                                          {"month", b.month.id},
                                          {"level", v1::UsageLevel_Name(alert)},
                                          {"percent", absl::StrCat(shown.percent_used())}});
    if (probe_ != nullptr) probe_->Alerted(alert);
  }
  return pg::Outbox::Enqueue(tx, kafka::kBillingUsage, u, b.tenant,
                             absl::StrCat("usage.", b.tenant, ".", sequence), now, kService);
}

absl::StatusOr<v1::UsageEntry> Ledger::CallEntry(const Booking& b, const Call& call,
                                                 rules::Rating* rating) {
  ASSIGN_OR_RETURN(*rating, rules::Rate(b.plan, call, b.usage.minutes_used));
  v1::UsageEntry e;
  e.set_kind(v1::USAGE_ENTRY_KIND_CALL);
  e.set_call_id(call.call_id());
  e.set_direction(call.direction());
  e.set_business_phone_number_id(call.business_phone_number_id());
  e.set_region_code(rating->region);
  *e.mutable_duration() = core::ToProto(rating->duration);
  *e.mutable_billed_duration() = core::ToProto(rating->billed);
  *e.mutable_price_per_minute() = Micros(rating->price_micros, rating->currency);
  e.set_minutes(rating->usage_minutes);
  *e.mutable_amount() = Micros(rating->cost_micros, rating->currency);
  *e.mutable_ended_time() = call.ended_time();
  e.set_free(rating->free);
  const std::string& phone = call.contact().phone_e164();
  e.set_contact_number(phone.empty() ? call.contact().wa_id()
                                     : std::string(absl::StripPrefix(phone, "+")));
  return e;
}

absl::Status Ledger::AnnounceRated(pg::Conn& tx, const std::string& tenant,
                                   const v1::UsageEntry& entry, const std::string& event_id,
                                   absl::Time now) {
  ASSIGN_OR_RETURN(int64_t sequence, store::NextSequence(tx, tenant));
  v1::CallRated rated;
  *rated.mutable_header() = api::Header(tenant, tenant, sequence, now);
  rated.set_call_id(entry.call_id());
  *rated.mutable_billed_duration() = entry.billed_duration();
  *rated.mutable_cost() = entry.amount();
  rated.set_usage_minutes(entry.minutes());
  rated.set_month(entry.month());
  rated.set_direction(entry.direction());
  rated.set_region_code(entry.region_code());
  *rated.mutable_price_per_minute() = entry.price_per_minute();
  rated.set_free(entry.free());
  return pg::Outbox::Enqueue(tx, kafka::kBillingUsage, rated, tenant, event_id, now, kService);
}

absl::Status Ledger::OnCallStateChanged(const calls::v1::CallStateChanged& changed,
                                        const kafka::Message& message) {
  const Call& call = changed.call();
  if (!rules::Rateable(call)) return absl::OkStatus();  // nothing to charge
  const std::string& tenant = call.tenant_id();
  if (!api::IsId(tenant) || !api::IsId(call.call_id())) {
    return core::InvalidArgument("INCOMPLETE_EVENT", "an ended call without tenant or call id");
  }
  const absl::Duration duration = core::FromProto(call.duration());
  bool replay = false, quarantined = false;
  rules::Rating rating;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    replay = quarantined = false;
    const absl::Time now = clock_.Now();
    const std::string entry_id = core::NewId();
    ASSIGN_OR_RETURN(bool first,
                     store::ClaimCall(tx, tenant, call.call_id(), duration, entry_id, now));
    if (!first) {
      // Rated before: the same talk time is a replay; another is kept aside, never overwriting.
      replay = true;
      ASSIGN_OR_RETURN(std::optional<store::RatedCall> rated,
                       store::LockRatedCall(tx, tenant, call.call_id()));
      if (!rated.has_value() || duration == rated->first_duration ||
          duration == rated->current_duration) {
        return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(bool settled, store::Settled(tx, tenant, call.call_id(), duration));
      if (settled) return absl::OkStatus();
      quarantined = true;
      ASSIGN_OR_RETURN(bool new_duration,
                       store::Quarantine(tx, tenant, call.call_id(), duration,
                                         rated->current_duration, message.event.id, now));
      if (new_duration) {
        log::Warning("a rated call came again with another duration; kept aside",
                     {{"tenant", tenant},
                      {"call_id", call.call_id()},
                      {"rated", absl::FormatDuration(rated->current_duration)},
                      {"received", absl::FormatDuration(duration)}});
      }
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(v1::RatePlan plan, plans_.Of(tx, tenant));
    const rules::Month month =
        rules::MonthOf(core::FromProto(call.ended_time()), rules::ZoneOf(plan));
    ASSIGN_OR_RETURN(Booking b, Open(tx, tenant, plan, month, now));
    ASSIGN_OR_RETURN(v1::UsageEntry entry, CallEntry(b, call, &rating));
    entry.set_entry_id(entry_id);
    RETURN_IF_ERROR(Add(tx, b, entry, now));
    RETURN_IF_ERROR(
        AnnounceRated(tx, tenant, entry, absl::StrCat("rated.", tenant, ".", call.call_id()), now));
    return Close(tx, b, call.call_id(), now);
  }));
  if (probe_ != nullptr) {
    if (replay) {
      probe_->Replayed(quarantined);
    } else {
      probe_->Rated(rating);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::PurchaseMinutesResponse> Ledger::Purchase(
    const auth::Principal& caller, const v1::PurchaseMinutesRequest& req) {
  RETURN_IF_ERROR(api::RequireRole(caller, "admin", "purchasing minutes"));
  RETURN_IF_ERROR(api::RequireId(req.request_id(), "request_id"));
  if (req.minutes() < 1 || req.minutes() > kMaxPurchase) {
    return core::InvalidArgument("INVALID_MINUTES", "minutes: from 1 to 1000000",
                                 {{"field", "minutes"}});
  }
  const std::string& tenant = caller.tenant_id;
  v1::PurchaseMinutesResponse resp;
  RETURN_IF_ERROR(pg::Once(pool_, tenant, req, &resp, [&](pg::Conn& tx) -> absl::Status {
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(v1::RatePlan plan, plans_.Of(tx, tenant));
    ASSIGN_OR_RETURN(Booking b,
                     Open(tx, tenant, plan, rules::MonthOf(now, rules::ZoneOf(plan)), now));
    v1::UsageEntry e;
    e.set_kind(v1::USAGE_ENTRY_KIND_PURCHASE);
    e.set_minutes(req.minutes());
    *e.mutable_price_per_minute() = plan.purchase_price_per_minute();
    *e.mutable_amount() = Micros(req.minutes() * plan.purchase_price_per_minute().amount_micros(),
                                 plan.purchase_price_per_minute().currency_code());
    e.set_actor(caller.subject);
    RETURN_IF_ERROR(Add(tx, b, e, now));
    RETURN_IF_ERROR(Close(tx, b, "", now));
    *resp.mutable_entry() = e;
    *resp.mutable_usage() = Show(b.usage, plan, b.month);
    return absl::OkStatus();
  }));
  return resp;
}

v1::UsageEntry Ledger::Reversal(const v1::UsageEntry& entry, const std::string& reason,
                                const std::string& actor, absl::Time now) const {
  v1::UsageEntry r = entry;
  r.clear_entry_id();
  r.set_kind(v1::USAGE_ENTRY_KIND_REVERSAL);
  r.set_reverses_entry_id(entry.entry_id());
  r.set_minutes(-entry.minutes());
  r.mutable_amount()->set_amount_micros(-entry.amount().amount_micros());
  r.set_reason(reason);
  r.set_actor(actor);
  *r.mutable_create_time() = core::ToProto(now);
  return r;
}

absl::StatusOr<v1::RefundCallResponse> Ledger::Refund(const auth::Principal& caller,
                                                      const v1::RefundCallRequest& req) {
  RETURN_IF_ERROR(api::RequireRole(caller, "admin", "refunding a call"));
  RETURN_IF_ERROR(api::RequireId(req.call_id(), "call_id"));
  RETURN_IF_ERROR(RequireReason(req.reason()));
  RETURN_IF_ERROR(api::RequireId(req.request_id(), "request_id"));
  const std::string& tenant = caller.tenant_id;
  v1::RefundCallResponse resp;
  RETURN_IF_ERROR(pg::Once(pool_, tenant, req, &resp, [&](pg::Conn& tx) -> absl::Status {
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(std::optional<store::RatedCall> rated,
                     store::LockRatedCall(tx, tenant, req.call_id()));
    if (!rated.has_value()) return NotRated(req.call_id());
    if (rated->refunded) {
      return core::Error(absl::StatusCode::kFailedPrecondition, "ALREADY_REFUNDED",
                         absl::StrCat("call ", req.call_id(), " was refunded before"),
                         {{"call_id", req.call_id()}});
    }
    ASSIGN_OR_RETURN(std::optional<v1::UsageEntry> current,
                     store::GetEntry(tx, tenant, rated->entry_id));
    if (!current.has_value()) return NotRated(req.call_id());
    ASSIGN_OR_RETURN(v1::RatePlan plan, plans_.Of(tx, tenant));
    ASSIGN_OR_RETURN(rules::Month month, rules::ParseMonth(current->month(), rules::ZoneOf(plan)));
    ASSIGN_OR_RETURN(Booking b, Open(tx, tenant, plan, month, now));
    v1::UsageEntry reversal = Reversal(*current, req.reason(), caller.subject, now);
    RETURN_IF_ERROR(Add(tx, b, reversal, now));
    RETURN_IF_ERROR(invoices_.CreditIfBilled(tx, tenant, *current, reversal, plan, now));
    rated->refunded = true;
    RETURN_IF_ERROR(store::SaveRatedCall(tx, tenant, req.call_id(), *rated));
    // Calls is told what the call costs now: nothing.
    v1::UsageEntry refunded = *current;
    refunded.mutable_amount()->set_amount_micros(0);
    refunded.set_minutes(0);
    RETURN_IF_ERROR(AnnounceRated(
        tx, tenant, refunded,
        absl::StrCat("rated.", tenant, ".", req.call_id(), ".", reversal.entry_id()), now));
    RETURN_IF_ERROR(Close(tx, b, req.call_id(), now));
    *resp.mutable_entry() = reversal;
    *resp.mutable_usage() = Show(b.usage, plan, b.month);
    return absl::OkStatus();
  }));
  return resp;
}

absl::StatusOr<v1::AdjustUsageResponse> Ledger::Adjust(const auth::Principal& caller,
                                                       const v1::AdjustUsageRequest& req) {
  RETURN_IF_ERROR(api::RequireRole(caller, "admin", "adjusting usage"));
  RETURN_IF_ERROR(RequireReason(req.reason()));
  RETURN_IF_ERROR(api::RequireId(req.request_id(), "request_id"));
  const bool correction = !req.call_id().empty();
  if (correction) {
    RETURN_IF_ERROR(api::RequireId(req.call_id(), "call_id"));
    const absl::Duration d = core::FromProto(req.duration());
    if (!req.has_duration() || d < absl::ZeroDuration() || d > rules::kMaxDuration) {
      return core::InvalidArgument("INVALID_DURATION", "duration: from 0 to 24 h",
                                   {{"field", "duration"}});
    }
    if (req.minutes() != 0 || req.has_amount()) {
      return core::InvalidArgument("INVALID_ADJUSTMENT",
                                   "a correction gives call_id and duration only",
                                   {{"field", "minutes"}});
    }
  } else if (req.minutes() == 0 && req.amount().amount_micros() == 0) {
    return core::InvalidArgument("INVALID_ADJUSTMENT",
                                 "an adjustment changes minutes, amount or both",
                                 {{"field", "minutes"}});
  } else if (req.minutes() < -kMaxPurchase * 10 || req.minutes() > kMaxPurchase * 10 ||
             req.amount().amount_micros() < -rules::kMaxPriceMicros * 1000 ||
             req.amount().amount_micros() > rules::kMaxPriceMicros * 1000) {
    return core::InvalidArgument("INVALID_ADJUSTMENT", "minutes or amount out of range",
                                 {{"field", "minutes"}});
  }
  const std::string& tenant = caller.tenant_id;
  v1::AdjustUsageResponse resp;
  RETURN_IF_ERROR(pg::Once(pool_, tenant, req, &resp, [&](pg::Conn& tx) -> absl::Status {
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(v1::RatePlan plan, plans_.Of(tx, tenant));
    if (!correction) {
      if (req.has_amount() &&
          req.amount().currency_code() != plan.price_per_minute().currency_code()) {
        return core::InvalidArgument("CURRENCY_MISMATCH",
                                     absl::StrCat("amount is in the plan's currency, ",
                                                  plan.price_per_minute().currency_code()),
                                     {{"field", "amount.currency_code"}});
      }
      ASSIGN_OR_RETURN(Booking b,
                       Open(tx, tenant, plan, rules::MonthOf(now, rules::ZoneOf(plan)), now));
      v1::UsageEntry e;
      e.set_kind(v1::USAGE_ENTRY_KIND_ADJUSTMENT);
      e.set_minutes(req.minutes());
      *e.mutable_amount() =
          Micros(req.amount().amount_micros(), plan.price_per_minute().currency_code());
      e.set_reason(req.reason());
      e.set_actor(caller.subject);
      RETURN_IF_ERROR(Add(tx, b, e, now));
      RETURN_IF_ERROR(Close(tx, b, "", now));
      *resp.add_entries() = e;
      *resp.mutable_usage() = Show(b.usage, plan, b.month);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<store::RatedCall> rated,
                     store::LockRatedCall(tx, tenant, req.call_id()));
    if (!rated.has_value()) return NotRated(req.call_id());
    ASSIGN_OR_RETURN(std::optional<v1::UsageEntry> current,
                     store::GetEntry(tx, tenant, rated->entry_id));
    if (!current.has_value()) return NotRated(req.call_id());
    ASSIGN_OR_RETURN(rules::Month month, rules::ParseMonth(current->month(), rules::ZoneOf(plan)));
    ASSIGN_OR_RETURN(Booking b, Open(tx, tenant, plan, month, now));
    // A refunded call was reversed already: the correction only rates it again.
    const bool reverse = !rated->refunded;
    v1::UsageEntry reversal = Reversal(*current, req.reason(), caller.subject, now);
    if (reverse) {
      RETURN_IF_ERROR(Add(tx, b, reversal, now));
      RETURN_IF_ERROR(invoices_.CreditIfBilled(tx, tenant, *current, reversal, plan, now));
    }
    const absl::Duration duration = core::FromProto(req.duration());
    rules::Rating rating;
    ASSIGN_OR_RETURN(v1::UsageEntry corrected, CallEntry(b, CallOf(*current, duration), &rating));
    corrected.set_reason(req.reason());
    corrected.set_actor(caller.subject);
    RETURN_IF_ERROR(Add(tx, b, corrected, now));
    rated->entry_id = corrected.entry_id();
    rated->current_duration = duration;
    rated->refunded = false;
    RETURN_IF_ERROR(store::SaveRatedCall(tx, tenant, req.call_id(), *rated));
    RETURN_IF_ERROR(store::SettleQuarantine(tx, tenant, req.call_id()));
    RETURN_IF_ERROR(AnnounceRated(
        tx, tenant, corrected,
        absl::StrCat("rated.", tenant, ".", req.call_id(), ".", corrected.entry_id()), now));
    RETURN_IF_ERROR(Close(tx, b, req.call_id(), now));
    if (reverse) *resp.add_entries() = reversal;
    *resp.add_entries() = corrected;
    *resp.mutable_usage() = Show(b.usage, plan, b.month);
    return absl::OkStatus();
  }));
  return resp;
}

}  // namespace switchboard::billing
