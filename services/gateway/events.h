// The notification stream for browsers (ADR 0018): Server-Sent Events over
// NotificationsService.Subscribe. EventSource cannot send headers, so a client first trades its
// bearer token for a short-lived, single-use ticket:
//
//   POST /v1/events/tickets   Authorization: Bearer <token>   {"tenantWide": true}
//     -> {"ticket": "...", "expiresTime": "..."}
//   GET  /v1/events?ticket=...   (Last-Event-ID, or ?lastEventId=, resumes)
//     -> id: <notification_id> / event: incoming_call / data: {...JSON...}
//
// The ticket (kept in Redis, so any replica redeems it) holds the token, which never appears
// in a URL. A comment line every `heartbeat` keeps proxies from closing an idle stream. When
// the subscription ends (token expired, slow client, drain), an `end` event says why, in the
// Connect error shape, and the response finishes: reconnect with a new ticket and the last id.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/http/server.h"
#include "libs/redis/redis.h"

namespace switchboard::gateway {

class Relay;

class Events {
 public:
  struct Options {
    absl::Duration ticket_ttl = absl::Seconds(60);
    absl::Duration heartbeat = absl::Seconds(20);
    // Notifications held for a client whose response has not started yet.
    int max_early = 1024;
  };

  Events(redis::Pool& redis, const auth::TokenVerifier& verifier, const core::Clock& clock,
         Options options);
  ~Events();  // Stop()

  // Where NotificationsService is (nullptr: 503 NOTIFICATIONS_UNAVAILABLE).
  void Connect(std::shared_ptr<grpc::Channel> channel);
  // The heartbeat thread.
  void Start();
  // Ends every stream (their clients reconnect elsewhere). Idempotent.
  void Stop();

  // POST /v1/events/tickets
  http::Response Ticket(const http::Request& request);
  // GET /v1/events
  http::Response Stream(const http::Request& request);

  int64_t open_streams() const;

 private:
  void Heartbeat();
  // The streams still open (forgetting the others).
  std::vector<std::shared_ptr<Relay>> Open() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  redis::Pool& redis_;
  const auth::TokenVerifier& verifier_;
  const core::Clock& clock_;
  const Options options_;

  mutable absl::Mutex mu_;
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);
  std::vector<std::weak_ptr<Relay>> streams_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread heartbeat_;
};

}  // namespace switchboard::gateway
