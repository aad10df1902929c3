// Webhook delivery as Meta does it: each change is POSTed in the envelope
// {"object":"whatsapp_business_account","entry":[{"id":<WABA>,"changes":[...]}]} to the business
// number's callback URL, signed (X-Hub-Signature-256) with the app secret. At least once: on a
// non-200 or a transport error the same body is retried with exponential backoff; other
// deliveries are not held back meanwhile, so a retry can overtake nothing but be overtaken.
// Faults (duplicates, holding a call's connect until after its terminate, batching) are
// injected on demand for tests.
//
//   Outbox outbox({.retry_initial = absl::Milliseconds(20)});
//   outbox.Enqueue({.url = url, .app_secret = secret}, waba_id, change);
//   outbox.WaitDrained(absl::Seconds(5));
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/http/client.h"

namespace switchboard::metasim {

// What a change is, for the reorder fault and OutboxOptions::on_post.
struct ChangeTag {
  std::string call_id;  // empty: not a call event
  std::string event;    // "connect", "terminate", ...
};

struct OutboxOptions {
  absl::Duration timeout = absl::Seconds(5);  // per POST
  absl::Duration retry_initial = absl::Seconds(1);
  absl::Duration retry_max = absl::Minutes(5);
  absl::Duration retry_for = absl::Hours(24 * 7);  // then the delivery is dropped
  int senders = 1;  // POSTs in flight at once; 1 keeps the production order
  // Called on the sending thread just before each POST goes out, with the tags of the changes
  // it carries and its attempt (1: the first): when a webhook left "Meta", for load tests that
  // time what follows (tools/bench/pipeline_bench). Must be quick; must not call the outbox.
  std::function<void(const std::vector<ChangeTag>& changes, int attempt)> on_post;
};

struct WebhookFaults {
  int duplicates = 0;  // extra copies of every webhook (each delivered and retried on its own)
  bool hold_connect_until_terminate = false;  // a call's connect is sent after its terminate
  int batch_size = 1;  // changes per POST (for the same callback URL and app secret)
};

struct OutboxStats {
  int64_t changes = 0;     // webhooks (changes) produced
  int64_t posts = 0;       // POSTs attempted, retries included
  int64_t delivered = 0;   // POSTs answered 200
  int64_t failed = 0;      // POSTs answered non-200 or not answered
  int64_t retries = 0;     // attempts after a delivery's first
  int64_t duplicates = 0;  // extra copies added by the fault
  int64_t held = 0;        // connects held back by the reorder fault
  int64_t dropped = 0;     // deliveries given up after retry_for
  int64_t batched = 0;     // POSTs that carried more than one change
};

struct WebhookTarget {
  std::string url;
  std::string app_secret;
};

class Outbox {
 public:
  explicit Outbox(OutboxOptions options);
  ~Outbox();  // Stop()
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  void Enqueue(const WebhookTarget& target, const std::string& waba_id, nlohmann::json change,
               const ChangeTag& tag = {});
  void SetFaults(WebhookFaults faults);
  OutboxStats Stats() const;
  // Nothing queued, held or in flight.
  bool Drained() const;
  bool WaitDrained(absl::Duration timeout) const;
  void Stop();

  // The envelope for changes of one or more WABAs (one entry per WABA, in first-seen order).
  static std::string Envelope(const std::vector<std::pair<std::string, nlohmann::json>>& changes);

 private:
  struct Delivery {
    WebhookTarget target;
    std::vector<std::pair<std::string, nlohmann::json>> changes;  // (WABA id, change)
    std::vector<ChangeTag> tags;                                  // one per change
    std::string body;  // fixed at the first attempt, so retries resend the same bytes
    int attempts = 0;
    absl::Time first_enqueued;
    absl::Time next_attempt;
  };
  void Push(Delivery d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();
  bool DrainedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  OutboxOptions options_;
  http::Client http_;
  mutable absl::Mutex mu_;
  std::deque<Delivery> queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<Delivery>> held_ ABSL_GUARDED_BY(mu_);  // by call id
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  WebhookFaults faults_ ABSL_GUARDED_BY(mu_);
  OutboxStats stats_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace switchboard::metasim
