#include "tools/meta-sim/outbox.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "libs/whatsapp/signature.h"

namespace switchboard::metasim {

using Json = nlohmann::json;

Outbox::Outbox(OutboxOptions options) : options_(std::move(options)) {
  for (int i = 0; i < std::max(1, options_.senders); ++i) threads_.emplace_back([this] { Run(); });
}

Outbox::~Outbox() { Stop(); }

void Outbox::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::string Outbox::Envelope(const std::vector<std::pair<std::string, Json>>& changes) {
  Json entries = Json::array();
  std::vector<std::string> order;
  for (const auto& [waba, change] : changes) {
    auto it = std::find(order.begin(), order.end(), waba);
    if (it == order.end()) {
      order.push_back(waba);
      entries.push_back({{"id", waba}, {"changes", Json::array()}});
      it = order.end() - 1;
    }
    entries[it - order.begin()]["changes"].push_back(change);
  }
  return Json{{"object", "whatsapp_business_account"}, {"entry", std::move(entries)}}.dump();
}

void Outbox::Push(Delivery d) {
  d.first_enqueued = absl::Now();
  d.next_attempt = d.first_enqueued;
  for (int i = 0; i < faults_.duplicates; ++i) {
    queue_.push_back(d);
    ++stats_.duplicates;
  }
  queue_.push_back(std::move(d));
}

void Outbox::Enqueue(const WebhookTarget& target, const std::string& waba_id, Json change,
                     const ChangeTag& tag) {
  absl::MutexLock lock(&mu_);
  ++stats_.changes;
  Delivery d{.target = target, .changes = {{waba_id, std::move(change)}}, .tags = {tag}};
  if (faults_.hold_connect_until_terminate && !tag.call_id.empty()) {
    if (tag.event == "connect") {
      held_[tag.call_id].push_back(std::move(d));
      ++stats_.held;
      return;
    }
    if (tag.event == "terminate") {
      Push(std::move(d));
      auto it = held_.find(tag.call_id);
      if (it != held_.end()) {
        for (Delivery& h : it->second) Push(std::move(h));
        held_.erase(it);
      }
      return;
    }
  }
  Push(std::move(d));
}

void Outbox::SetFaults(WebhookFaults faults) {
  absl::MutexLock lock(&mu_);
  bool release = faults_.hold_connect_until_terminate && !faults.hold_connect_until_terminate;
  faults_ = faults;
  if (release) {
    for (auto& [id, held] : held_) {
      for (Delivery& h : held) Push(std::move(h));
    }
    held_.clear();
  }
}

OutboxStats Outbox::Stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

bool Outbox::DrainedLocked() const { return queue_.empty() && held_.empty() && in_flight_ == 0; }

bool Outbox::Drained() const {
  absl::MutexLock lock(&mu_);
  return DrainedLocked();
}

bool Outbox::WaitDrained(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(
      absl::Condition(
          +[](const Outbox* o) ABSL_NO_THREAD_SAFETY_ANALYSIS { return o->DrainedLocked(); }, this),
      timeout);
}

void Outbox::Run() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    // The first delivery that is due, in queue order; else wait for the earliest.
    absl::Time now = absl::Now();
    auto due = std::find_if(queue_.begin(), queue_.end(),
                            [&](const Delivery& d) { return d.next_attempt <= now; });
    if (due == queue_.end()) {
      absl::Time wake = absl::InfiniteFuture();
      for (const Delivery& d : queue_) wake = std::min(wake, d.next_attempt);
      size_t size = queue_.size();
      struct Probe {
        Outbox* o;
        size_t size;
      } probe{this, size};
      mu_.AwaitWithDeadline(absl::Condition(
                                +[](Probe* p) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                  return p->o->stop_ || p->o->queue_.size() != p->size;
                                },
                                &probe),
                            wake);
      continue;
    }
    Delivery d = std::move(*due);
    queue_.erase(due);
    if (d.attempts == 0 && faults_.batch_size > 1) {
      // Fresh deliveries for the same target ride along in one POST.
      for (auto it = queue_.begin();
           it != queue_.end() && static_cast<int>(d.changes.size()) < faults_.batch_size;) {
        if (it->attempts == 0 && it->next_attempt <= now && it->target.url == d.target.url &&
            it->target.app_secret == d.target.app_secret) {
          for (auto& c : it->changes) d.changes.push_back(std::move(c));
          for (auto& t : it->tags) d.tags.push_back(std::move(t));
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (d.body.empty()) d.body = Envelope(d.changes);
    if (d.attempts > 0) ++stats_.retries;
    if (d.attempts == 0 && d.changes.size() > 1) ++stats_.batched;
    ++d.attempts;
    ++stats_.posts;
    ++in_flight_;
    mu_.Unlock();

    http::ClientRequest request{
        .method = "POST",
        .url = d.target.url,
        .headers = {{"Content-Type", "application/json"},
                    {whatsapp::kSignatureHeader,
                     whatsapp::SignatureHeader(d.target.app_secret, d.body)}},
        .body = d.body,
        .timeout = options_.timeout,
    };
    if (options_.on_post) options_.on_post(d.tags, d.attempts);
    absl::StatusOr<http::ClientResponse> r = http_.Send(request);
    bool ok = r.ok() && r->status == 200;
    if (!ok) {
      log::Debug("webhook delivery failed",
                 {{"url", d.target.url},
                  {"attempt", d.attempts},
                  {"error", r.ok() ? std::string("HTTP ") + std::to_string(r->status)
                                   : r.status().ToString()}});
    }

    mu_.Lock();
    --in_flight_;
    if (ok) {
      ++stats_.delivered;
      continue;
    }
    ++stats_.failed;
    absl::Duration backoff = options_.retry_initial;
    for (int i = 1; i < d.attempts && backoff < options_.retry_max; ++i) backoff *= 2;
    backoff = std::min(backoff, options_.retry_max);
    d.next_attempt = absl::Now() + backoff;
    if (d.next_attempt - d.first_enqueued > options_.retry_for) {
      ++stats_.dropped;
      log::Warning("webhook dropped after retrying", {{"url", d.target.url}});
      continue;
    }
    queue_.push_back(std::move(d));
  }
}

}  // namespace switchboard::metasim
