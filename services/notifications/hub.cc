#include "services/notifications/hub.h"

#include "absl/strings/str_format.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace switchboard::notifications {

struct Hub::Subscription {
  Subscription(uint64_t id, Spec spec, std::shared_ptr<Sink> sink)
      : id(id),
        spec(std::move(spec)),
        key(store::StreamKey(this->spec.stream)),
        sink(std::move(sink)) {}

  const uint64_t id;
  const Spec spec;
  const std::string key;
  const std::shared_ptr<Sink> sink;

  absl::Mutex mu;
  // Opened: live appends go straight out. Until then they wait in `pending`.
  bool ready ABSL_GUARDED_BY(mu) = false;
  bool ended ABSL_GUARDED_BY(mu) = false;
  // The position of the last notification sent (or of the last reset).
  std::optional<rules::Position> position ABSL_GUARDED_BY(mu);
  std::vector<store::Published> pending ABSL_GUARDED_BY(mu);
  // Appends were dropped while opening: open again.
  bool overflowed ABSL_GUARDED_BY(mu) = false;
};

Hub::Hub(redis::Pool& redis, const core::Clock& clock, prometheus::Registry* metrics,
         Options options)
    : redis_(redis), clock_(clock), options_(std::move(options)) {
  if (metrics == nullptr) return;
  open_gauge_ = &prometheus::BuildGauge()
                     .Name("switchboard_notifications_subscriptions")
                     .Help("Notification streams open on this replica.")
                     .Register(*metrics)
                     .Add({});
  ended_ = &prometheus::BuildCounter()
                .Name("switchboard_notifications_streams_ended_total")
                .Help(
                    "Notification streams the server ended, by reason: slow_consumer, "
                    "token_expired, draining.")
                .Register(*metrics);
  resets_ = &prometheus::BuildCounter()
                 .Name("switchboard_notifications_resets_total")
                 .Help("Resets sent on notification streams, by reason.")
                 .Register(*metrics);
  delivered_ = &prometheus::BuildCounter()
                    .Name("switchboard_notifications_delivered_total")
                    .Help("Notifications queued to subscribers on this replica.")
                    .Register(*metrics)
                    .Add({});
}

Hub::~Hub() { Stop(); }

void Hub::Start() {
  listener_ = std::make_unique<redis::Subscriber>(
      redis_.options(), store::Channel(redis_.options().db),
      [this](std::string message) { OnPublished(std::move(message)); }, [this] { OnListening(); });
  housekeeper_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(options_.tick)) Housekeep();
  });
}

void Hub::Stop() {
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (const auto& [id, sub] : by_id_) subs.push_back(sub);
  }
  if (listener_) listener_->Stop();
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (housekeeper_.joinable()) housekeeper_.join();
  for (const auto& sub : subs) {
    absl::MutexLock lock(&sub->mu);
    End(*sub, core::Unavailable("SERVER_DRAINING", "the server is shutting down; reconnect"),
        "draining");
  }
}

absl::StatusOr<uint64_t> Hub::Subscribe(Spec spec, std::shared_ptr<Sink> sink) {
  std::shared_ptr<Subscription> sub;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return core::Unavailable("SERVER_DRAINING", "the server is shutting down; reconnect");
    }
    sub = std::make_shared<Subscription>(next_id_++, std::move(spec), std::move(sink));
    by_id_[sub->id] = sub;
    by_key_[sub->key].push_back(sub);
  }
  if (open_gauge_ != nullptr) open_gauge_->Increment();
  if (absl::Status opened = Open(sub, /*first=*/true); !opened.ok()) {
    Unsubscribe(sub->id);
    return opened;
  }
  return sub->id;
}

void Hub::Unsubscribe(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto& list = by_key_[it->second->key];
  std::erase(list, it->second);
  if (list.empty()) by_key_.erase(it->second->key);
  by_id_.erase(it);
  reopen_.erase(id);
  if (open_gauge_ != nullptr) open_gauge_->Decrement();
}

int64_t Hub::subscriptions() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(by_id_.size());
}

bool Hub::listening() const { return listener_ != nullptr && listener_->subscribed(); }

absl::Status Hub::Open(const std::shared_ptr<Subscription>& sub, bool first) {
  std::optional<rules::Position> resume;
  v1::ResetReason forced = v1::RESET_REASON_UNSPECIFIED;
  {
    absl::MutexLock lock(&sub->mu);
    if (sub->ended) return absl::OkStatus();
    if (sub->position.has_value()) {
      resume = sub->position;
    } else if (!sub->spec.resume_after_id.empty()) {
      resume = rules::ParseId(sub->spec.resume_after_id);
      if (!resume.has_value()) forced = v1::RESET_REASON_RESUME_ID_INVALID;
    }
  }
  ASSIGN_OR_RETURN(store::Opened opened,
                   store::Open(redis_, sub->spec.stream, resume, options_.max_replay,
                               options_.retention, store::NewEpoch()));
  absl::MutexLock lock(&sub->mu);
  if (sub->ended) return absl::OkStatus();
  if (first) {
    v1::SubscribeResponse started;
    v1::SubscriptionStarted* s = started.mutable_notification()->mutable_subscription_started();
    *started.mutable_notification()->mutable_occurred_time() = core::ToProto(clock_.Now());
    s->set_agent_id(sub->spec.stream.agent_id);
    s->set_resumed(opened.resumed);
    Push(*sub, std::move(started));
  }
  if (opened.resumed) {
    for (const auto& [entry_id, notification] : opened.missed) {
      Send(*sub, {opened.position.epoch, entry_id}, notification);
      if (sub->ended) return absl::OkStatus();
    }
  } else {
    v1::ResetReason reason = forced != v1::RESET_REASON_UNSPECIFIED ? forced : opened.reason;
    v1::SubscribeResponse message;
    v1::Notification* n = message.mutable_notification();
    n->set_notification_id(rules::FormatId(opened.position));
    *n->mutable_occurred_time() = core::ToProto(clock_.Now());
    *n->mutable_reset() = rules::BuildReset(reason, opened.snapshot, clock_.Now());
    if (resets_ != nullptr) {
      resets_->Add({{"reason", v1::ResetReason_Name(reason)}}).Increment();
    }
    Push(*sub, std::move(message));
  }
  sub->position = opened.position;
  if (sub->ended) return absl::OkStatus();
  if (sub->overflowed) {
    // Appends were dropped while this read ran: read again from here.
    sub->pending.clear();
    sub->overflowed = false;
    absl::MutexLock hub_lock(&mu_);
    reopen_.insert(sub->id);
    return absl::OkStatus();
  }
  sub->ready = true;
  std::vector<store::Published> waiting = std::move(sub->pending);
  sub->pending.clear();
  for (const store::Published& published : waiting) {
    Deliver(*sub, published);
    if (!sub->ready) break;  // another epoch: opened again
  }
  return absl::OkStatus();
}

void Hub::Deliver(Subscription& sub, const store::Published& published) {
  if (sub.ended) return;
  if (!sub.ready) {
    if (static_cast<int>(sub.pending.size()) >= options_.max_pending) {
      sub.overflowed = true;
    } else {
      sub.pending.push_back(published);
    }
    return;
  }
  if (!sub.position.has_value() || published.position.epoch != sub.position->epoch) {
    // The stream was created anew (expired or emptied): what this client saw is gone.
    sub.ready = false;
    absl::MutexLock hub_lock(&mu_);
    reopen_.insert(sub.id);
    return;
  }
  if (!rules::EntryIdLess(sub.position->entry_id, published.position.entry_id)) return;
  Send(sub, published.position, published.notification);
  sub.position = published.position;
}

void Hub::Send(Subscription& sub, const rules::Position& position, absl::string_view notification) {
  v1::SubscribeResponse message;
  if (!message.mutable_notification()->ParseFromArray(notification.data(),
                                                      static_cast<int>(notification.size()))) {
    log::Error("unreadable notification in the store", {{"stream", sub.key}});
    return;
  }
  const v1::NotificationKind kind = rules::KindOf(message.notification());
  if (!sub.spec.kinds.empty() && kind != v1::NOTIFICATION_KIND_UNSPECIFIED &&
      !sub.spec.kinds.contains(kind)) {
    return;
  }
  message.mutable_notification()->set_notification_id(rules::FormatId(position));
  Push(sub, std::move(message));
}

void Hub::Push(Subscription& sub, v1::SubscribeResponse message) {
  if (sub.ended) return;
  if (!sub.sink->Push(std::move(message))) {
    End(sub,
        core::Error(absl::StatusCode::kResourceExhausted, "SLOW_CONSUMER",
                    "the client did not read its notifications fast enough; resume from the "
                    "last notification_id"),
        "slow_consumer");
    return;
  }
  if (delivered_ != nullptr) delivered_->Increment();
}

void Hub::End(Subscription& sub, absl::Status status, absl::string_view why) {
  if (sub.ended) return;
  sub.ended = true;
  sub.pending.clear();
  sub.sink->End(std::move(status));
  if (ended_ != nullptr) ended_->Add({{"reason", std::string(why)}}).Increment();
}

void Hub::OnPublished(std::string message) {
  std::optional<store::Published> published = store::ParsePublished(message);
  if (!published.has_value()) return;
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    absl::MutexLock lock(&mu_);
    auto it = by_key_.find(published->stream_key);
    if (it == by_key_.end()) return;
    subs = it->second;
  }
  for (const auto& sub : subs) {
    absl::MutexLock lock(&sub->mu);
    Deliver(*sub, *published);
  }
}

void Hub::OnListening() {
  // Whatever was published while nobody listened is in the store: every subscription reads
  // again from its position, its live appends waiting meanwhile.
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, sub] : by_id_) subs.push_back(sub);
  }
  for (const auto& sub : subs) {
    {
      absl::MutexLock lock(&sub->mu);
      if (!sub->position.has_value()) continue;  // still opening: it reads the store itself
      sub->ready = false;
    }
    absl::MutexLock lock(&mu_);
    reopen_.insert(sub->id);
  }
}

void Hub::Housekeep() {
  std::vector<std::shared_ptr<Subscription>> reopen, all;
  {
    absl::MutexLock lock(&mu_);
    for (uint64_t id : reopen_) {
      if (auto it = by_id_.find(id); it != by_id_.end()) reopen.push_back(it->second);
    }
    reopen_.clear();
    for (const auto& [id, sub] : by_id_) all.push_back(sub);
  }
  for (const auto& sub : reopen) {
    if (absl::Status s = Open(sub, /*first=*/false); !s.ok()) {
      log::Warning("notification stream not re-read; retrying",
                   {{"stream", sub->key}, {"error", s.ToString()}});
      absl::MutexLock lock(&mu_);
      reopen_.insert(sub->id);
    }
  }
  const absl::Time now = clock_.Now();
  for (const auto& sub : all) {
    if (sub->spec.expires > now) continue;
    absl::MutexLock lock(&sub->mu);
    End(*sub,
        core::Error(absl::StatusCode::kUnauthenticated, "TOKEN_EXPIRED",
                    "the stream's token expired; reconnect with a fresh one"),
        "token_expired");
  }
}

}  // namespace switchboard::notifications
