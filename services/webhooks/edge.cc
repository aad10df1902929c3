#include "services/webhooks/edge.h"

#include <openssl/crypto.h>

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/trace.h"
#include "libs/pg/outbox.h"
#include "libs/whatsapp/signature.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace switchboard::webhooks {
namespace {

constexpr size_t kMaxChallengeBytes = 1024;

// KEYS: per item, its seen key then its entity's sequence key. ARGV: claim token, lease (ms),
// sequence TTL (s). Per item: n > 0 claimed with sequence n; 0 already done; -1 claimed by
// another request still in flight; -2 a repeat within this same request.
const redis::Script kClaim(R"lua(
local out = {}
for i = 1, #KEYS, 2 do
  local v = redis.call('GET', KEYS[i])
  if v == 'done' then
    out[#out + 1] = 0
  elseif v == ARGV[1] then
    out[#out + 1] = -2
  elseif v then
    out[#out + 1] = -1
  else
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
    local seq = redis.call('INCR', KEYS[i + 1])
    redis.call('EXPIRE', KEYS[i + 1], ARGV[3])
    out[#out + 1] = seq
  end
end
return out
)lua");

// Releases a claim if it is still ours (a failed publish), so Meta's retry can publish.
const redis::Script kRelease(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");

// The event's kind, as metrics and dead letters name it: its field of the `event` oneof
// ("call_connected", "inbound_message", ...), "unknown" when none is set.
const char* KindName(const v1::WhatsAppEvent& e) {
  const google::protobuf::FieldDescriptor* field =
      v1::WhatsAppEvent::descriptor()->FindFieldByNumber(e.event_case());
  return field != nullptr ? field->name().c_str() : "unknown";
}

bool SameSecret(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

struct Edge::Metrics {
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Family<prometheus::Counter>& skipped;
  prometheus::Family<prometheus::Counter>& clamped;
  prometheus::Counter& dedup_unavailable;
  prometheus::Histogram& seconds;

  explicit Metrics(prometheus::Registry& r)
      : requests(prometheus::BuildCounter()
                     .Name("switchboard_webhook_requests_total")
                     .Help("Webhook HTTP requests by outcome")
                     .Register(r)),
        events(prometheus::BuildCounter()
                   .Name("switchboard_webhook_events_total")
                   .Help("Webhook items by kind and outcome (published, duplicate, "
                         "unknown_number, app_mismatch, failed, dead_lettered)")
                   .Register(r)),
        skipped(prometheus::BuildCounter()
                    .Name("switchboard_webhook_skipped_total")
                    .Help("Parts of webhooks tolerated and skipped (unknown fields and kinds, "
                          "message statuses, items without ids)")
                    .Register(r)),
        clamped(prometheus::BuildCounter()
                    .Name("switchboard_webhook_clamped_times_total")
                    .Help("Webhook items dated after they were received, whose times were set "
                          "to the receive time")
                    .Register(r)),
        dedup_unavailable(prometheus::BuildCounter()
                              .Name("switchboard_webhook_dedup_unavailable_total")
                              .Help("Webhook items published without de-duplication because "
                                    "Redis was unavailable")
                              .Register(r)
                              .Add({})),
        seconds(prometheus::BuildHistogram()
                    .Name("switchboard_webhook_request_seconds")
                    .Help("Time to answer a webhook POST")
                    .Register(r)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005,
                                                                     0.01, 0.025, 0.05, 0.1, 0.25,
                                                                     0.5, 1, 2.5})) {}

  void Request(const std::string& outcome) { requests.Add({{"outcome", outcome}}).Increment(); }
  void Event(const char* kind, const char* outcome) {
    events.Add({{"kind", kind}, {"outcome", outcome}}).Increment();
  }
};

// One item on its way out.
struct Edge::Target {
  Item* item;
  NumberOwner owner;
  std::string seen_key;
  std::string seq_key;
  int64_t sequence = 0;
  bool publish = false;  // claimed (or de-duplication unavailable)
  bool claimed = false;  // holds a Redis claim to finish
};

// Delivery reports of one POST. When the POST stops waiting, the stragglers finish their
// claims themselves.
struct Edge::Batch {
  absl::Mutex mu;
  int pending ABSL_GUARDED_BY(mu) = 0;
  bool abandoned ABSL_GUARDED_BY(mu) = false;
  std::vector<int> delivered ABSL_GUARDED_BY(mu);  // -1 pending, 0 failed, 1 delivered
};

Edge::Edge(const whatsapp::Credentials& credentials, Registry& registry, redis::Pool* redis,
           kafka::Producer& producer, const core::Clock& clock, prometheus::Registry& metrics,
           EdgeOptions options)
    : credentials_(credentials),
      registry_(registry),
      redis_(redis),
      producer_(producer),
      clock_(clock),
      options_(options),
      metrics_(std::make_unique<Metrics>(metrics)) {
  marker_ = std::thread([this] { MarkLoop(); });
}

Edge::~Edge() {
  {
    absl::MutexLock lock(&mark_mu_);
    stopping_ = true;
  }
  marker_.join();
}

void Edge::MarkLoop() {
  std::string ttl = absl::StrCat(absl::ToInt64Seconds(options_.dedup_ttl));
  for (;;) {
    std::vector<std::string> keys;
    {
      absl::MutexLock lock(&mark_mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mark_mu_) {
        return stopping_ || !to_mark_.empty();
      };
      mark_mu_.Await(absl::Condition(&ready));
      if (to_mark_.empty() && stopping_) return;
      keys.swap(to_mark_);
    }
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(keys.size());
    for (auto& k : keys) cmds.push_back({"SET", std::move(k), "done", "EX", ttl});
    absl::StatusOr<std::vector<redis::Reply>> r = redis_->Pipeline(cmds);
    if (!r.ok()) {
      // The events are in Kafka; the claims expire with their lease, and a retry after that
      // publishes again, which consumers absorb.
      log::Warning("webhook de-dup marks not written",
                   {{"keys", absl::StrCat(cmds.size())}, {"error", r.status().ToString()}});
    }
  }
}

void Edge::CountRefusal(int status) {
  switch (status) {
    case 413:
      metrics_->Request("too_large");
      break;
    case 400:
      metrics_->Request("truncated");
      break;
    case 431:
      metrics_->Request("headers_too_large");
      break;
    case 408:
      metrics_->Request("too_slow");
      break;
    default:
      metrics_->Request("refused");
      break;
  }
}

http::Response Edge::Handle(const http::Request& request) {
  absl::string_view path = request.path();
  if (!absl::ConsumePrefix(&path, kWebhookPath)) return http::Response::Text(404, "not found\n");
  std::string app_id;
  if (absl::ConsumePrefix(&path, "/"))
    app_id = std::string(path);
  else if (!path.empty())
    return http::Response::Text(404, "not found\n");
  const whatsapp::MetaApp* app = credentials_.App(app_id);
  if (app == nullptr) {
    metrics_->Request("unknown_app");
    return http::Response::Text(404, "not found\n");
  }
  if (request.method() == "GET") return Verify(*app, request);
  if (request.method() == "POST") {
    // Meta sends no trace context; a proxy in front may. Every event of the delivery carries it.
    core::TraceScope trace(core::ContinueTrace(request.Header("traceparent").value_or("")));
    absl::Time began = absl::Now();
    http::Response r = Receive(*app, request);
    metrics_->seconds.Observe(absl::ToDoubleSeconds(absl::Now() - began));
    return r;
  }
  metrics_->Request("method_not_allowed");
  http::Response r = http::Response::Text(405, "use GET or POST\n");
  r.headers.emplace_back("Allow", "GET, POST");
  return r;
}

http::Response Edge::Verify(const whatsapp::MetaApp& app, const http::Request& request) {
  std::optional<std::string> mode = request.QueryParam("hub.mode");
  std::optional<std::string> token = request.QueryParam("hub.verify_token");
  std::optional<std::string> challenge = request.QueryParam("hub.challenge");
  if (mode != "subscribe" || !token.has_value() || !challenge.has_value() ||
      challenge->size() > kMaxChallengeBytes || app.verify_token.empty() ||
      !SameSecret(*token, app.verify_token)) {
    metrics_->Request("verify_refused");
    log::Warning("webhook subscription handshake refused",
                 {{"app", app.id}, {"remote", request.remote_addr()}});
    return http::Response::Text(403, "verification failed\n");
  }
  metrics_->Request("verified");
  log::Info("webhook subscription verified", {{"app", app.id}});
  return http::Response::Text(200, *challenge);
}

http::Response Edge::Receive(const whatsapp::MetaApp& app, const http::Request& request) {
  // Never log the body or anything from it that names a person.
  std::optional<std::string> signature = request.Header(whatsapp::kSignatureHeader);
  if (!signature.has_value()) {
    metrics_->Request("missing_signature");
    log::Warning("webhook without signature", {{"app", app.id}, {"remote", request.remote_addr()}});
    return http::Response::Text(401, "missing X-Hub-Signature-256\n");
  }
  if (!whatsapp::VerifySignature(app.app_secret, request.body(), *signature)) {
    metrics_->Request("bad_signature");
    log::Warning("webhook with a bad signature", {{"app", app.id},
                                                  {"remote", request.remote_addr()},
                                                  {"bytes", absl::StrCat(request.body().size())}});
    return http::Response::Text(403, "bad signature\n");
  }
  std::string content_type = absl::AsciiStrToLower(request.Header("Content-Type").value_or(""));
  if (!absl::StartsWith(content_type, "application/json")) {
    metrics_->Request("wrong_content_type");
    return http::Response::Text(415, "expected application/json\n");
  }
  absl::StatusOr<Parsed> parsed = ParseWebhook(request.body());
  if (!parsed.ok()) {
    metrics_->Request("malformed");
    log::Warning("webhook body refused", {{"app", app.id},
                                          {"reason", core::ReasonOf(parsed.status())},
                                          {"bytes", absl::StrCat(request.body().size())}});
    return http::Response::Text(400, absl::StrCat(core::ReasonOf(parsed.status()), "\n"));
  }
  for (const auto& [kind, n] : parsed->skipped)
    metrics_->skipped.Add({{"kind", kind}}).Increment(n);

  std::vector<Target> targets;
  const absl::Time received = clock_.Now();
  for (Item& item : parsed->items) {
    const v1::WhatsAppEvent& e = item.event;
    absl::StatusOr<std::optional<NumberOwner>> owner =
        e.phone_number_id().empty() ? registry_.ByWaba(e.waba_id(), e.display_phone_number())
                                    : registry_.ByPhoneNumberId(e.phone_number_id());
    if (!owner.ok()) {
      metrics_->Request("retry_later");
      log::Warning("webhook not accepted: number registry unavailable",
                   {{"error", owner.status().ToString()}});
      return http::Response::Text(503, "try again\n");
    }
    if (!owner->has_value()) {
      metrics_->Event(KindName(e), "unknown_number");
      log::Warning("webhook for an unregistered number dropped",
                   {{"phone_number_id", e.phone_number_id()}, {"waba_id", e.waba_id()}});
      continue;
    }
    if ((*owner)->app_id != app.id) {
      metrics_->Event(KindName(e), "app_mismatch");
      log::Warning("webhook signed by another app than the number's dropped",
                   {{"phone_number_id", e.phone_number_id()}, {"app", app.id}});
      continue;
    }
    if (item.event.phone_number_id().empty() && !(*owner)->phone_number_id.empty()) {
      // A WABA-level change resolved to one number: it is that number's event.
      item.event.set_phone_number_id((*owner)->phone_number_id);
      item.event.mutable_header()->set_entity_id((*owner)->phone_number_id);
    }
    if (item.event.phone_number_id().empty() && IsCallEvent(item.event)) {
      // A call must have its business number (Graph requests go to it): without one the item
      // is as unroutable as one for an unknown number.
      metrics_->Event(KindName(e), "unknown_number");
      log::Warning("call webhook whose business number cannot be resolved dropped",
                   {{"waba_id", e.waba_id()}});
      continue;
    }
    if (ClampTimes(item.event, received)) {
      metrics_->clamped.Add({{"kind", KindName(e)}}).Increment();
    }
    targets.push_back(Target{.item = &item, .owner = **owner});
  }
  int status = targets.empty() ? 200 : Publish(targets, core::NewId());
  metrics_->Request(status == 200 ? "accepted" : "retry_later");
  if (status == 200) return http::Response::Text(200, "ok\n");
  return http::Response::Text(status, "try again\n");
}

int Edge::Publish(std::vector<Target>& targets, const std::string& correlation_id) {
  absl::Time now = clock_.Now();
  // Claim, per tenant (one script call touches one tenant's keys).
  std::map<std::string, std::vector<Target*>> by_tenant;
  for (Target& t : targets) {
    const std::string& tenant = t.owner.tenant_id;
    t.seen_key = absl::StrCat("sb:wh:{", tenant, "}:seen:", t.item->event_id);
    t.seq_key = absl::StrCat("sb:wh:{", tenant, "}:seq:", t.item->event.header().entity_id());
    by_tenant[tenant].push_back(&t);
  }
  std::string token = core::NewId();
  bool busy = false;
  for (auto& [tenant, group] : by_tenant) {
    std::vector<std::string> keys;
    for (Target* t : group) {
      keys.push_back(t->seen_key);
      keys.push_back(t->seq_key);
    }
    absl::StatusOr<redis::Reply> r =
        redis_ == nullptr
            ? absl::StatusOr<redis::Reply>(absl::UnavailableError("no redis"))
            : kClaim.Run(
                  *redis_, keys,
                  {token, absl::StrCat(absl::ToInt64Milliseconds(options_.claim_lease)),
                   absl::StrCat(absl::ToInt64Seconds(options_.dedup_ttl + absl::Hours(24)))});
    if (!r.ok() || r->elements.size() != group.size()) {
      if (redis_ != nullptr) {
        log::Warning("webhook de-duplication unavailable; publishing anyway",
                     {{"error", r.ok() ? "short reply" : r.status().ToString()}});
      }
      for (Target* t : group) {
        t->publish = true;
        metrics_->dedup_unavailable.Increment();
      }
      continue;
    }
    for (size_t i = 0; i < group.size(); ++i) {
      int64_t v = r->elements[i].integer;
      Target* t = group[i];
      if (v > 0) {
        t->publish = t->claimed = true;
        t->sequence = v;
      } else if (v == 0) {
        metrics_->Event(KindName(t->item->event), "duplicate");
      } else if (v == -1) {
        busy = true;  // another request is publishing it: let Meta retry for the verdict
      }
    }
  }

  // Stamp the items; one too large to be a Kafka record never will be: it is kept for an
  // operator (dead letter) and acknowledged, rather than refused to Meta for a week.
  std::vector<std::string> payloads(targets.size());
  std::vector<std::string> done_keys;
  for (size_t i = 0; i < targets.size(); ++i) {
    Target& t = targets[i];
    if (!t.publish) continue;
    v1::WhatsAppEvent& e = t.item->event;
    auto* h = e.mutable_header();
    h->set_tenant_id(t.owner.tenant_id);
    h->set_sequence(t.sequence);
    *h->mutable_occurred_time() = core::ToProto(now);
    h->set_correlation_id(correlation_id);
    payloads[i] = e.SerializeAsString();
    if (payloads[i].size() <= options_.max_event_bytes) continue;
    absl::Status kept = registry_.DeadLetter(t.owner.tenant_id, t.item->event_id, KindName(e),
                                             "TOO_LARGE_FOR_KAFKA", payloads[i], now);
    if (!kept.ok()) {
      log::Warning("oversized webhook item not kept; Meta will retry",
                   {{"error", kept.ToString()}});
      if (t.claimed) Finish(t.seen_key, token, false);
      busy = true;
    } else {
      metrics_->Event(KindName(e), "dead_lettered");
      log::Error("webhook item too large to publish; kept as a dead letter",
                 {{"event_id", t.item->event_id},
                  {"tenant", t.owner.tenant_id},
                  {"bytes", absl::StrCat(payloads[i].size())}});
      if (t.claimed) done_keys.push_back(t.seen_key);
    }
    t.publish = false;
  }

  std::vector<Target*> out;
  std::vector<kafka::Event> events;
  for (size_t i = 0; i < targets.size(); ++i) {
    Target& t = targets[i];
    if (!t.publish) continue;
    kafka::Event event{.id = t.item->event_id,
                       .type = v1::WhatsAppEvent::descriptor()->full_name(),
                       .source = "//switchboard/webhooks",
                       .time = now,
                       .key = t.item->event.header().entity_id(),
                       .payload = std::move(payloads[i])};
    if (std::string trace = core::CurrentTraceparent(); !trace.empty()) {
      event.extensions["traceparent"] = std::move(trace);
    }
    out.push_back(&t);
    events.push_back(std::move(event));
  }
  std::vector<int> delivered = options_.journal ? Journal(events) : Deliver(out, events, token);
  bool all_delivered = true;
  // Finish what was reported; the rest finish in their delivery callbacks.
  for (size_t i = 0; i < out.size(); ++i) {
    Target* t = out[i];
    const char* kind = KindName(t->item->event);
    if (delivered[i] == 1) {
      metrics_->Event(kind, "published");
      if (t->claimed) {
        done_keys.push_back(t->seen_key);
      }
    } else {
      all_delivered = false;
      if (delivered[i] == 0) {
        metrics_->Event(kind, "failed");
        if (t->claimed) Finish(t->seen_key, token, false);
      }
    }
  }
  if (!done_keys.empty() && redis_ != nullptr) {
    // Written by the marker thread, batched with other requests' marks, a millisecond or so
    // after this answer. Until then the claim stands, so a retry meanwhile gets 503, not a
    // second copy; only a crash in between lets one retry through (consumers absorb it).
    absl::MutexLock lock(&mark_mu_);
    for (auto& k : done_keys) to_mark_.push_back(std::move(k));
  }
  if (!all_delivered) {
    log::Warning(
        options_.journal ? "webhook not journalled; Meta will retry"
                         : "webhook not acknowledged by Kafka in time; Meta will retry",
        {{"items", absl::StrCat(out.size())},
         {"timeout_ms", absl::StrCat(absl::ToInt64Milliseconds(options_.publish_timeout))}});
    return 503;
  }
  return busy ? 503 : 200;
}

std::vector<int> Edge::Deliver(const std::vector<Target*>& out,
                               const std::vector<kafka::Event>& events, const std::string& token) {
  auto batch = std::make_shared<Batch>();
  {
    absl::MutexLock lock(&batch->mu);
    batch->pending = static_cast<int>(out.size());
    batch->delivered.assign(out.size(), -1);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    std::string seen_key = out[i]->claimed ? out[i]->seen_key : "";
    producer_.Publish(kafka::kWhatsAppEvents, events[i],
                      [this, batch, i, seen_key, token](absl::Status s) {
                        bool finish_here = false;
                        {
                          absl::MutexLock lock(&batch->mu);
                          batch->delivered[i] = s.ok() ? 1 : 0;
                          batch->pending--;
                          finish_here = batch->abandoned;
                        }
                        if (finish_here && !seen_key.empty()) Finish(seen_key, token, s.ok());
                      });
  }
  absl::MutexLock lock(&batch->mu);
  auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(batch->mu) { return batch->pending == 0; };
  batch->mu.AwaitWithTimeout(absl::Condition(&done), options_.publish_timeout);
  if (batch->pending > 0) batch->abandoned = true;
  return batch->delivered;
}

std::vector<int> Edge::Journal(const std::vector<kafka::Event>& events) {
  // An item already journalled (a retry whose Redis claim was lost) is skipped, not refused:
  // the row there is the same event. One statement, so all of the POST's items or none.
  absl::Status s = registry_.pool().InOneStatement([&](pg::Conn& tx) {
    return pg::Outbox::EnqueueAll(tx, kafka::kWhatsAppEvents, events,
                                  pg::Outbox::OnDuplicate::kSkip);
  });
  if (!s.ok()) log::Warning("webhook journal write failed", {{"error", s.ToString()}});
  return std::vector<int>(events.size(), s.ok() ? 1 : 0);
}

void Edge::Finish(const std::string& seen_key, const std::string& token, bool delivered) {
  if (redis_ == nullptr) return;
  absl::Status s = delivered
                       ? redis_
                             ->Command({"SET", seen_key, "done", "EX",
                                        absl::StrCat(absl::ToInt64Seconds(options_.dedup_ttl))})
                             .status()
                       : kRelease.Run(*redis_, {seen_key}, {token}).status();
  if (!s.ok()) {
    // A claim that cannot be released expires with its lease.
    log::Warning("webhook de-dup claim not finished", {{"error", s.ToString()}});
  }
}

}  // namespace switchboard::webhooks
