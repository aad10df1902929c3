#include "services/billing/ledger.h"

#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
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

void Ledger::Book(Booking& b, v1::UsageEntry& entry, absl::Time now) {
  if (entry.entry_id().empty()) entry.set_entry_id(core::NewId());
  entry.set_month(b.month.id);
  *entry.mutable_create_time() = core::ToProto(now);
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
}

absl::Status Ledger::Add(pg::Conn& tx, Booking& b, v1::UsageEntry& entry, absl::Time now) {
  Book(b, entry, now);
  RETURN_IF_ERROR(store::Append(tx, b.tenant, entry));
  const rules::Month current = rules::MonthOf(now, rules::ZoneOf(b.plan));
  if (b.month.id != current.id) RETURN_IF_ERROR(store::TouchMonth(tx, b.tenant, current, now));
  return absl::OkStatus();
}

absl::Status Ledger::Close(pg::Conn& tx, Booking& b, const std::string& call_id, absl::Time now) {
  const v1::UsageLevel previous = b.usage.announced;
  const v1::UsageLevel alert = rules::Settle(b.usage, b.plan);
  RETURN_IF_ERROR(store::SaveMonth(tx, b.tenant, b.month.id, b.usage, now));
  ASSIGN_OR_RETURN(int64_t sequence, store::NextSequence(tx, b.tenant));
  v1::UsageUpdated u = Announcement(b, previous, alert, call_id, sequence, now);
  return pg::Outbox::Enqueue(tx, kafka::kBillingUsage, u, b.tenant,
                             absl::StrCat("usage.", b.tenant, ".", sequence), now, kService);
}

v1::UsageUpdated Ledger::Announcement(const Booking& b, v1::UsageLevel previous,
                                      v1::UsageLevel alert, const std::string& call_id,
                                      int64_t sequence, absl::Time now) {
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
  return u;
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
  return pg::Outbox::Enqueue(tx, kafka::kBillingUsage, RatedEvent(tenant, entry, sequence, now),
                             tenant, event_id, now, kService);
}

v1::CallRated Ledger::RatedEvent(const std::string& tenant, const v1::UsageEntry& entry,
                                 int64_t sequence, absl::Time now) {
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
  return rated;
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
      replay = true;
      return Replay(tx, tenant, call.call_id(), duration, message.event.id, now, &quarantined);
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

absl::Status Ledger::Replay(pg::Conn& tx, const std::string& tenant, const std::string& call_id,
                            absl::Duration duration, const std::string& event_id, absl::Time now,
                            bool* quarantined) {
  // Rated before: the same talk time is a replay; another is kept aside, never overwriting.
  ASSIGN_OR_RETURN(std::optional<store::RatedCall> rated,
                   store::LockRatedCall(tx, tenant, call_id));
  if (!rated.has_value() || duration == rated->first_duration ||
      duration == rated->current_duration) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(bool settled, store::Settled(tx, tenant, call_id, duration));
  if (settled) return absl::OkStatus();
  *quarantined = true;
  ASSIGN_OR_RETURN(bool new_duration, store::Quarantine(tx, tenant, call_id, duration,
                                                        rated->current_duration, event_id, now));
  if (new_duration) {
    log::Warning("a rated call came again with another duration; kept aside",
                 {{"tenant", tenant},
                  {"call_id", call_id},
                  {"rated", absl::FormatDuration(rated->current_duration)},
                  {"received", absl::FormatDuration(duration)}});
  }
  return absl::OkStatus();
}

absl::Status Ledger::OnCallsEnded(
    const std::vector<kafka::Typed<calls::v1::CallStateChanged>>& batch) {
  // What the batch asks: each rateable call once (a later copy in the batch is a replay of
  // the first, checked after it).
  struct Item {
    const Call* call;
    const std::string* event_id;
    absl::Duration duration;
    bool fresh = false;
  };
  std::vector<Item> items, again;
  absl::flat_hash_set<std::string> seen;
  for (const auto& t : batch) {
    const Call& call = t.event.call();
    if (!rules::Rateable(call)) continue;
    if (!api::IsId(call.tenant_id()) || !api::IsId(call.call_id())) {
      // One at a time, where it is poison alone.
      return core::InvalidArgument("INCOMPLETE_EVENT", "an ended call without tenant or call id");
    }
    Item item{&call, &t.message->event.id, core::FromProto(call.duration())};
    (seen.insert(store::ClaimKey(call.tenant_id(), call.call_id())).second ? items : again)
        .push_back(item);
  }
  if (items.empty()) return absl::OkStatus();

  std::vector<rules::Rating> ratings;
  int replays = 0, quarantines = 0;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ratings.clear();
    replays = quarantines = 0;
    const absl::Time now = clock_.Now();
    std::vector<store::Claim> claims;
    claims.reserve(items.size());
    for (const Item& i : items) {
      claims.push_back({i.call->tenant_id(), i.call->call_id(), i.duration, core::NewId()});
    }
    ASSIGN_OR_RETURN(store::Claimed claimed, store::ClaimCalls(tx, claims, now));
    const auto& durations = claimed.before;  // rated before: another batch, another day
    for (Item& i : items) {
      i.fresh = claimed.fresh.contains(store::ClaimKey(i.call->tenant_id(), i.call->call_id()));
    }
    auto replay = [&](const Item& i) -> absl::Status {
      ++replays;
      auto d = durations.find(store::ClaimKey(i.call->tenant_id(), i.call->call_id()));
      if (d != durations.end() &&
          (i.duration == d->second.first || i.duration == d->second.current)) {
        return absl::OkStatus();
      }
      bool quarantined = false;
      RETURN_IF_ERROR(Replay(tx, i.call->tenant_id(), i.call->call_id(), i.duration, *i.event_id,
                             now, &quarantined));
      if (quarantined) ++quarantines;
      return absl::OkStatus();
    };

    // The fresh ones: their months locked together, in one order.
    std::vector<store::TenantMonth> lock, touch;
    std::vector<rules::Month> month_of(items.size());
    absl::flat_hash_map<std::string, v1::RatePlan> plans;
    for (size_t n = 0; n < items.size(); ++n) {
      const Item& i = items[n];
      if (!i.fresh) continue;
      const std::string& tenant = i.call->tenant_id();
      if (!plans.contains(tenant)) {
        ASSIGN_OR_RETURN(plans[tenant], plans_.Of(tx, tenant));
      }
      const absl::TimeZone zone = rules::ZoneOf(plans[tenant]);
      month_of[n] = rules::MonthOf(core::FromProto(i.call->ended_time()), zone);
      lock.push_back({tenant, month_of[n]});
      const rules::Month current = rules::MonthOf(now, zone);
      if (current.id != month_of[n].id) touch.push_back({tenant, current});  // bills it late
    }
    ASSIGN_OR_RETURN(auto sums, store::LockMonths(tx, lock, touch, now));

    // Rated in the batch's order, each month's sums moving as they go (tiers price by what the
    // month used before the call).
    std::map<std::string, Booking> bookings;  // by "<tenant>/<month>", in lock order
    std::map<std::string, std::string> last_call;
    std::vector<std::pair<std::string, v1::UsageEntry>> entries;
    for (size_t n = 0; n < items.size(); ++n) {
      const Item& i = items[n];
      if (!i.fresh) continue;
      const std::string& tenant = i.call->tenant_id();
      const std::string key = absl::StrCat(tenant, "/", month_of[n].id);
      auto [it, inserted] = bookings.try_emplace(key);
      Booking& b = it->second;
      if (inserted)
        b = Booking{
            .tenant = tenant, .plan = plans[tenant], .month = month_of[n], .usage = sums[key]};
      rules::Rating rating;
      ASSIGN_OR_RETURN(v1::UsageEntry entry, CallEntry(b, *i.call, &rating));
      entry.set_entry_id(claims[n].entry_id);  // the one its key names
      Book(b, entry, now);
      last_call[key] = i.call->call_id();
      entries.emplace_back(tenant, std::move(entry));
      ratings.push_back(rating);
    }
    RETURN_IF_ERROR(store::AppendAll(tx, entries));

    // The months saved and announced, and every rating announced: sequences in that order.
    std::vector<store::MonthSums> saved;
    std::vector<std::pair<v1::UsageLevel, v1::UsageLevel>> levels;  // previous, alert
    std::map<std::string, int64_t> count;
    for (const auto& [tenant, entry] : entries) ++count[tenant];
    for (auto& [key, b] : bookings) {
      const v1::UsageLevel previous = b.usage.announced;
      const v1::UsageLevel alert = rules::Settle(b.usage, b.plan);
      levels.emplace_back(previous, alert);
      saved.push_back({b.tenant, b.month.id, b.usage});
      ++count[b.tenant];
    }
    RETURN_IF_ERROR(store::SaveMonths(tx, saved, now));
    ASSIGN_OR_RETURN(auto next, store::NextSequences(tx, count));
    std::vector<kafka::Event> events;
    events.reserve(entries.size() + bookings.size());
    for (const auto& [tenant, entry] : entries) {
      kafka::Event e =
          kafka::MakeEvent(RatedEvent(tenant, entry, next[tenant]++, now), tenant, kService);
      e.id = absl::StrCat("rated.", tenant, ".", entry.call_id());
      e.time = now;
      events.push_back(std::move(e));
    }
    size_t n = 0;
    for (auto& [key, b] : bookings) {
      const int64_t sequence = next[b.tenant]++;
      const auto [previous, alert] = levels[n++];
      kafka::Event e = kafka::MakeEvent(
          Announcement(b, previous, alert, last_call[key], sequence, now), b.tenant, kService);
      e.id = absl::StrCat("usage.", b.tenant, ".", sequence);
      e.time = now;
      events.push_back(std::move(e));
    }
    RETURN_IF_ERROR(pg::Outbox::EnqueueAll(tx, kafka::kBillingUsage, events));

    for (const Item& i : items) {
      if (!i.fresh) RETURN_IF_ERROR(replay(i));
    }
    for (const Item& i : again) RETURN_IF_ERROR(replay(i));
    return absl::OkStatus();
  }));
  if (probe_ != nullptr) {
    for (const rules::Rating& r : ratings) probe_->Rated(r);
    for (int n = 0; n < replays; ++n) probe_->Replayed(n < quarantines);
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
