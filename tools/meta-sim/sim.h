// A stand-in for Meta's WhatsApp Cloud API, for tests, load tests and the demo: the Graph API
// endpoints Switchboard calls (calls, messages, call_permissions, settings) with Meta's
// validation, answers and error codes, simulated WhatsApp users who ring, answer, reject, hang
// up, write and grant permissions, and webhook delivery to the business's callback URL (signed,
// at least once, with injectable faults). See tools/meta-sim/README.md.
//
//   ASSIGN_OR_RETURN(auto sim, metasim::Sim::Start({.numbers = {number}}));
//   ASSIGN_OR_RETURN(std::string wacid, sim->PlaceUserCall(number.phone_number_id, "4917..."));
//   sim->WaitIdle(absl::Seconds(5));
//
// Timestamps in payloads and every permission rule come from the injected clock (a FakeClock
// lets tests cross the 24 h and 7 d boundaries); behaviour delays (ringing, answering, hanging
// up, ring timeout, webhook retries) really wait and are configurable down to milliseconds.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "tools/meta-sim/outbox.h"
#include "tools/meta-sim/permissions.h"

namespace switchboard::metasim {

struct BusinessNumber {
  std::string phone_number_id;
  std::string display_phone_number;  // e.g. "+1 631-555-3601"; digits are the calls' to/from
  std::string waba_id;
  std::string access_token;  // what the Graph API accepts as Bearer for this number
  std::string app_secret;    // signs the webhooks
  std::string callback_url;  // where the webhooks go; empty: produced and counted, not sent
};

// What a simulated user does with a business-initiated call.
enum class CallAnswer { kAnswer, kReject, kNoAnswer };
// What a simulated user does with a call_permission_request message.
enum class PermissionAnswer { kIgnore, kAcceptTemporary, kAcceptPermanent, kReject };

struct UserBehaviour {
  std::string name = "WhatsApp User";  // contacts[].profile.name
  CallAnswer on_call = CallAnswer::kAnswer;
  absl::Duration ring_after = absl::Milliseconds(20);     // connect → RINGING status
  absl::Duration answer_after = absl::Milliseconds(200);  // RINGING → answer or reject
  // Once connected (either direction) the user hangs up after this; InfiniteDuration: the
  // user never does, the business ends the call.
  absl::Duration hang_up_after = absl::Seconds(5);
  PermissionAnswer on_permission_request = PermissionAnswer::kIgnore;
  absl::Duration permission_reply_after = absl::Milliseconds(100);
};

// Makes the Graph API misbehave for the next `count` matching requests.
struct GraphFault {
  // "connect", "pre_accept", "accept", "reject", "terminate", "messages", "call_permissions",
  // "settings", or "*" for any.
  std::string action = "*";
  // 0: no error, a slow answer: the request is acted on at once and answered after `delay`.
  int http_status = 500;
  int meta_code = 0;  // 0: an empty body; else a Meta error body with this code
  int count = 1;
  absl::Duration delay;  // wait before answering (a slow Meta)
};

struct SimOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  std::vector<BusinessNumber> numbers;
  PermissionRules permissions;
  // A ringing call nobody answers ends (terminate FAILED) after this.
  absl::Duration ring_timeout = absl::Seconds(45);
  int max_concurrent_calls = 1000;     // per business number (138002)
  int max_new_calls_per_day = 10'000;  // business-initiated, per business number (138005)
  // GET call_permissions per business number per minute (613, HTTP 429); 0: unlimited.
  int call_permissions_per_minute = 0;
  // Free-form messages (text, interactive) only inside the 24 h window (131047), as Meta.
  bool enforce_service_window = true;
  UserBehaviour default_behaviour;
  OutboxOptions webhooks;
};

struct SimStats {
  OutboxStats webhooks;
  // Graph API requests by action ("connect", "accept", "messages", "call_permissions", ...),
  // and errors answered by Meta code (0 for a fault's empty body).
  std::map<std::string, int64_t> graph_requests;
  std::map<int, int64_t> graph_errors;
  int64_t calls_started = 0;
  int64_t calls_connected = 0;
  int64_t calls_ended = 0;
};

// A message the business sent (POST /messages that Meta accepted).
struct SentMessage {
  std::string phone_number_id;
  std::string to;
  std::string type;  // "text", "template", "interactive"
  // The text's body, the interactive body text, or the template's name.
  std::string body;
  // A template's body parameters ({{1}}, ...), in order.
  std::vector<std::string> template_parameters;
};

enum class CallStage { kRinging, kPreAccepted, kConnected, kEnded };

struct CallView {
  std::string id;
  std::string phone_number_id;
  std::string user;
  bool business_initiated = false;
  CallStage stage = CallStage::kRinging;
  std::string end_status;  // "COMPLETED" / "FAILED" once ended
  std::string biz_opaque_callback_data;
  // The session: a user's call carries the user's offer and the business's answer
  // (pre_accept/accept); a business call the other way round.
  std::string sdp_offer;
  std::string sdp_answer;
};

struct PermissionReply {
  bool accept = true;
  bool permanent = false;
  bool automatic = false;  // response_source "automatic" instead of "user_action"
};

class Sim {
 public:
  static absl::StatusOr<std::unique_ptr<Sim>> Start(SimOptions options,
                                                    const core::Clock& clock = core::Clock::Real());
  ~Sim();  // Stop()
  Sim(const Sim&) = delete;
  Sim& operator=(const Sim&) = delete;

  int port() const;
  // "http://<host>:<port>", the Graph API base URL (append "/v23.0/<id>/calls").
  std::string base_url() const;
  // Stops the server, the users and the webhook senders. Idempotent.
  void Stop();

  void SetDefaultBehaviour(UserBehaviour behaviour);
  void SetBehaviour(const std::string& wa_id, UserBehaviour behaviour);

  // A user calls the business: a `connect` webhook (USER_INITIATED, SDP offer). Returns the
  // call id. The business answers with pre_accept/accept or reject; unanswered calls end
  // after ring_timeout; answered ones when the user hangs up (hang_up_after) or on terminate.
  absl::StatusOr<std::string> PlaceUserCall(const std::string& phone_number_id,
                                            const std::string& from);
  // A user writes: a `messages` webhook of type text. Opens the 24 h window. Returns the wamid.
  absl::StatusOr<std::string> SendUserMessage(const std::string& phone_number_id,
                                              const std::string& from, const std::string& text);
  // A user answers (or Meta automatically answers for them) a call permission request.
  absl::Status SendPermissionReply(const std::string& phone_number_id, const std::string& from,
                                   PermissionReply reply);
  // The user hangs up (or cancels) a call now.
  absl::Status HangUp(const std::string& call_id);

  void SetWebhookFaults(WebhookFaults faults);
  void AddGraphFault(GraphFault fault);
  // Webhook faults off (held connects are released), Graph faults removed.
  void ClearFaults();

  SimStats Stats() const;
  std::vector<CallView> Calls() const;
  // The messages accepted, oldest first (the last 10 000).
  std::vector<SentMessage> Messages() const;
  std::optional<CallView> Call(const std::string& call_id) const;
  PermissionView Permissions(const std::string& phone_number_id, const std::string& user);

  // Every webhook produced so far has been delivered (or dropped); none held or in flight.
  bool WaitForOutboxDrained(absl::Duration timeout);
  // No user action pending (no timers) and the outbox drained.
  bool WaitIdle(absl::Duration timeout);

  // The JSON control surface, also served over HTTP as POST/GET /sim/<command>. Commands:
  // call, message, permission_reply, hangup, behaviour, faults, clear_faults, stats, calls,
  // permissions, drain, idle. Returns the JSON answer. See README.md.
  absl::StatusOr<std::string> Control(absl::string_view command, absl::string_view json_body);

  class Impl;

 private:
  explicit Sim(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

absl::string_view CallStageName(CallStage stage);

}  // namespace switchboard::metasim
