// Every change to a call goes through the journal: the lifecycle decides (rules/lifecycle.h),
// and the change is written in one PostgreSQL transaction with everything it causes: the row,
// the call's durable timer (rules/timers.h), CallStateChanged and, when it ends, the timeline
// entry (rules/events.h) through the outbox, and for an API request its idempotent answer.
//
// The agents' commands reach it through CallRecords (commands_test.cc uses an in-memory fake);
// the webhook consumer and the timers work inside their own transactions with Save.
//
//   Journal journal(store, clock, timing, &probe);
//   ASSIGN_OR_RETURN(v1::Call call, journal.Record(tenant, id, {.kind = EventKind::kAgentRejected,
//                                                               .at = now}, cause, key));
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/core/clock.h"
#include "libs/pg/idempotency.h"
#include "libs/pg/pg.h"
#include "services/calls/probe.h"
#include "services/calls/rules/events.h"
#include "services/calls/rules/lifecycle.h"
#include "services/calls/rules/timers.h"
#include "services/calls/rules/webhook_events.h"
#include "services/calls/store/store.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"

namespace switchboard::calls {

// What the agents' commands ask of the call records.
class CallRecords {
 public:
  virtual ~CallRecords() = default;

  virtual absl::StatusOr<std::optional<v1::Call>> Get(absl::string_view tenant,
                                                      absl::string_view call_id) = 0;
  // The call an identical earlier StartCall placed, as it is now; REQUEST_ID_REUSED when the
  // request_id came with another request.
  virtual absl::StatusOr<std::optional<v1::Call>> Placed(const pg::RequestKey& key) = 0;
  // Records `call` (outbound, OFFERED) with its first events, as `key`'s answer. ALREADY_EXISTS
  // when an identical request placed a call first (Placed finds it).
  virtual absl::Status Create(v1::Call& call, const Cause& cause, const pg::RequestKey& key) = 0;
  // Before a command that asks Meta: the call an identical earlier command answered with, or
  // nullopt having claimed the request (a concurrent duplicate is ABORTED REQUEST_IN_PROGRESS
  // until Record answers it or Abandon gives it up). An empty request_id claims nothing.
  virtual absl::StatusOr<std::optional<v1::Call>> Begin(const pg::RequestKey& key) = 0;
  // Gives up a claimed request whose command failed and changed nothing.
  virtual void Abandon(const pg::RequestKey& key) = 0;
  // Applies `event` to the call and saves what changed, remembering the call as `key`'s answer.
  // NOT_FOUND CALL_NOT_FOUND; the lifecycle's refusals as they are. `reject_reason` is kept
  // with a rejection.
  virtual absl::StatusOr<v1::Call> Record(absl::string_view tenant, absl::string_view call_id,
                                          const Event& event, const Cause& cause,
                                          const pg::RequestKey& key,
                                          absl::string_view reject_reason = "") = 0;
  // Stores Meta's id on an outbound call (unless it has one) and applies the webhooks parked
  // under it.
  virtual absl::StatusOr<v1::Call> AttachMetaId(absl::string_view tenant, absl::string_view call_id,
                                                absl::string_view meta_call_id,
                                                const Cause& cause) = 0;
};

class Journal final : public CallRecords {
 public:
  // `probe` (optional) counts the calls that finish.
  Journal(Store& store, const core::Clock& clock, Timing timing, Probe* probe = nullptr);

  Store& store() { return store_; }
  const Timing& timing() const { return timing_; }

  // Inside the caller's transaction: saves `call` after transition `t` (or a change of its
  // details). A state change advances the call's sequence and enqueues CallStateChanged (ce_id
  // "<call_id>/<sequence>"), and a terminal one its TimelineEntry; the timer follows the state.
  absl::Status Save(pg::Conn& tx, v1::Call& call, const Transition& t, const Cause& cause,
                    const std::string& request_id = "");
  // Save's writes added to `writes`, for Store::Write to make with others (`tx` reads the
  // tenant's settings).
  void Stage(pg::Conn& tx, CallWrites& writes, v1::Call& call, const Transition& t,
             const Cause& cause, const std::string& request_id = "");
  // One call webhook applied to `call` (Meta's id, the contact's details, the lifecycle), its
  // writes staged when anything changed. `existing`: the call had a row before; `dirty`: the
  // caller changed the record already.
  absl::Status ApplyWebhook(pg::Conn& tx, CallWrites& writes, v1::Call& call,
                            const webhooks::v1::WhatsAppEvent& e, const rules::WebhookEvent& w,
                            bool existing, bool dirty, const Cause& cause);
  // The webhooks parked for `call`, just given Meta's id, taken from `tx` and applied in
  // arrival order, their writes staged.
  absl::Status ApplyParked(pg::Conn& tx, CallWrites& writes, v1::Call& call);

  absl::StatusOr<std::optional<v1::Call>> Get(absl::string_view tenant,
                                              absl::string_view call_id) override;
  absl::StatusOr<std::optional<v1::Call>> Placed(const pg::RequestKey& key) override;
  absl::Status Create(v1::Call& call, const Cause& cause, const pg::RequestKey& key) override;
  absl::StatusOr<std::optional<v1::Call>> Begin(const pg::RequestKey& key) override;
  void Abandon(const pg::RequestKey& key) override;
  absl::StatusOr<v1::Call> Record(absl::string_view tenant, absl::string_view call_id,
                                  const Event& event, const Cause& cause, const pg::RequestKey& key,
                                  absl::string_view reject_reason = "") override;
  absl::StatusOr<v1::Call> AttachMetaId(absl::string_view tenant, absl::string_view call_id,
                                        absl::string_view meta_call_id,
                                        const Cause& cause) override;

 private:
  Store& store_;
  const core::Clock& clock_;
  Timing timing_;
  Probe* probe_;
};

}  // namespace switchboard::calls
