// A client for the parts of Meta's Graph API that Switchboard calls: call actions
// (POST /<phone-number-id>/calls), messages (POST /<phone-number-id>/messages), call
// permissions (GET /<phone-number-id>/call_permissions) and calling settings
// (POST /<phone-number-id>/settings). Errors Meta answers with become statuses with reason
// META_<code> (meta_error.h).
//
//   whatsapp::GraphClient graph({.base_url = "https://graph.facebook.com"}, tokens);
//   ASSIGN_OR_RETURN(std::string wacid, graph.Connect(number_id, {.to = wa_id, .sdp = offer}));
//
// Access tokens come from the injected TokenSource, per business number; a number without
// one is FAILED_PRECONDITION / NO_ACCESS_TOKEN. The token is sent as `Authorization: Bearer`
// and never appears in a log line or an error message (any echo of it is redacted).
//
// Retries. Only requests that are safe to repeat are retried, with exponential backoff (and
// Meta's Retry-After when given), on a transport failure, a 5xx, HTTP 429 or a throttling
// code (4, 613, 80007, 130429):
//   - GetCallPermissions and UpdateSettings (idempotent reads/writes);
//   - PreAccept, Accept, Reject and Terminate (they name an existing call_id; repeating one
//     has no further effect on the call).
// Connect and every message are NEVER retried blindly: a second POST could ring the user
// twice or send the message twice. They are retried only when the connection was refused or
// the host did not resolve, i.e. nothing was sent. Any other failure is returned to the
// caller, who may check state (a webhook, GetCallPermissions) before trying again.
// Backoff waits go through the injected Sleeper so tests do not really wait.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/http/client.h"

namespace switchboard::whatsapp {

struct GraphClientOptions {
  std::string base_url = "https://graph.facebook.com";
  std::string api_version = "v23.0";
  // Per attempt: the whole exchange, and the TCP/TLS connect within it.
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(3);
  // For retry-safe requests: attempts in all (1 = no retry), and the backoff between them
  // (initial, doubled each time, capped; a Retry-After header is honoured up to the cap).
  int max_attempts = 4;
  absl::Duration backoff_initial = absl::Milliseconds(200);
  absl::Duration backoff_max = absl::Seconds(5);
};

// The access token of a business number, or nullopt when the number is unknown.
using TokenSource = std::function<std::optional<std::string>(absl::string_view phone_number_id)>;
// Waits `d`; the default really sleeps.
using Sleeper = std::function<void(absl::Duration d)>;

// A business-initiated call.
struct ConnectRequest {
  std::string to;                        // the user's wa_id
  std::string sdp;                       // the business's SDP offer
  std::string biz_opaque_callback_data;  // echoed back in the call's webhooks; optional
};

struct TemplateMessage {
  std::string name;
  std::string language_code;  // e.g. "en_US"
  // A JSON array of template components, sent as-is; empty for none.
  std::string components_json;
};

enum class PermissionStatus { kNoPermission, kTemporary, kPermanent };

struct PermissionLimit {
  std::string time_period;  // ISO 8601 duration, e.g. "PT24H", "P7D"
  int64_t max_allowed = 0;
  int64_t current_usage = 0;
  std::optional<absl::Time> limit_expiration_time;  // present when the limit is reached
};

struct PermissionAction {
  std::string action_name;  // "send_call_permission_request", "start_call"
  bool can_perform_action = false;
  std::vector<PermissionLimit> limits;
};

struct CallPermissions {
  PermissionStatus status = PermissionStatus::kNoPermission;
  std::optional<absl::Time> expiration_time;  // temporary permissions only
  std::vector<PermissionAction> actions;

  // The action by name, or nullptr.
  const PermissionAction* Action(absl::string_view name) const;
};

enum class DayOfWeek { kMonday, kTuesday, kWednesday, kThursday, kFriday, kSaturday, kSunday };

struct OperatingHours {
  DayOfWeek day_of_week = DayOfWeek::kMonday;
  std::string open_time;   // "HHMM"
  std::string close_time;  // "HHMM"
};

struct Holiday {
  std::string date;        // "YYYY-MM-DD"
  std::string start_time;  // "HHMM"
  std::string end_time;    // "HHMM"
};

struct CallHours {
  bool enabled = true;
  std::string timezone_id;  // IANA, e.g. "Europe/Berlin"
  std::vector<OperatingHours> weekly_operating_hours;
  std::vector<Holiday> holiday_schedule;
};

// The `calling` object of POST /settings; unset fields are not sent (left as they are).
struct CallingSettings {
  std::optional<bool> enabled;                      // status ENABLED/DISABLED
  std::optional<bool> call_icon_visible;            // call_icon_visibility DEFAULT/DISABLE_ALL
  std::optional<bool> callback_permission_enabled;  // callback_permission_status
  std::optional<CallHours> call_hours;
};

// What the services ask of Meta's Graph API, as an interface: handlers take a Graph&, so they
// are unit-tested against a fake (libs/whatsapp/testing/fake_graph.h) and run against
// GraphClient. Errors and retries are GraphClient's, documented above.
class Graph {
 public:
  virtual ~Graph() = default;
  virtual absl::StatusOr<std::string> Connect(absl::string_view phone_number_id,
                                              const ConnectRequest& request) = 0;
  virtual absl::Status PreAccept(absl::string_view phone_number_id, absl::string_view call_id,
                                 absl::string_view sdp_answer) = 0;
  virtual absl::Status Accept(absl::string_view phone_number_id, absl::string_view call_id,
                              absl::string_view sdp_answer) = 0;
  virtual absl::Status Reject(absl::string_view phone_number_id, absl::string_view call_id) = 0;
  virtual absl::Status Terminate(absl::string_view phone_number_id, absl::string_view call_id) = 0;
  virtual absl::StatusOr<std::string> SendText(absl::string_view phone_number_id,
                                               absl::string_view to, absl::string_view body) = 0;
  virtual absl::StatusOr<std::string> SendTemplate(absl::string_view phone_number_id,
                                                   absl::string_view to,
                                                   const TemplateMessage& message) = 0;
  virtual absl::StatusOr<std::string> SendCallPermissionRequest(absl::string_view phone_number_id,
                                                                absl::string_view to,
                                                                absl::string_view body_text) = 0;
  virtual absl::StatusOr<CallPermissions> GetCallPermissions(absl::string_view phone_number_id,
                                                             absl::string_view user_wa_id) = 0;
  virtual absl::Status UpdateSettings(absl::string_view phone_number_id,
                                      const CallingSettings& settings) = 0;
};

class GraphClient final : public Graph {
 public:
  // `http` may be shared (it is thread-safe); null makes the client own one.
  GraphClient(GraphClientOptions options, TokenSource tokens,
              std::shared_ptr<http::Client> http = nullptr, Sleeper sleeper = nullptr);
  ~GraphClient();
  GraphClient(const GraphClient&) = delete;
  GraphClient& operator=(const GraphClient&) = delete;

  // POST /calls action=connect. Returns the new call's id ("wacid..."). Never retried once
  // the request may have reached Meta.
  absl::StatusOr<std::string> Connect(absl::string_view phone_number_id,
                                      const ConnectRequest& request) override;
  // Answering a user-initiated call: pre_accept then accept carry the same SDP answer.
  absl::Status PreAccept(absl::string_view phone_number_id, absl::string_view call_id,
                         absl::string_view sdp_answer) override;
  absl::Status Accept(absl::string_view phone_number_id, absl::string_view call_id,
                      absl::string_view sdp_answer) override;
  absl::Status Reject(absl::string_view phone_number_id, absl::string_view call_id) override;
  absl::Status Terminate(absl::string_view phone_number_id, absl::string_view call_id) override;

  // POST /messages. Each returns the message id ("wamid..."). Never retried once sent.
  absl::StatusOr<std::string> SendText(absl::string_view phone_number_id, absl::string_view to,
                                       absl::string_view body) override;
  absl::StatusOr<std::string> SendTemplate(absl::string_view phone_number_id, absl::string_view to,
                                           const TemplateMessage& message) override;
  absl::StatusOr<std::string> SendCallPermissionRequest(absl::string_view phone_number_id,
                                                        absl::string_view to,
                                                        absl::string_view body_text) override;

  // GET /call_permissions?user_wa_id=.
  absl::StatusOr<CallPermissions> GetCallPermissions(absl::string_view phone_number_id,
                                                     absl::string_view user_wa_id) override;

  // POST /settings.
  absl::Status UpdateSettings(absl::string_view phone_number_id,
                              const CallingSettings& settings) override;

 private:
  enum class Retry { kSafe, kOnlyIfNotSent };
  struct Answer {
    int status = 0;
    std::string body;
  };

  absl::StatusOr<Answer> Call(absl::string_view phone_number_id, absl::string_view method,
                              absl::string_view edge, absl::string_view query, std::string body,
                              Retry retry);
  absl::Status CallAction(absl::string_view phone_number_id, absl::string_view call_id,
                          absl::string_view action, absl::string_view sdp_answer);
  absl::StatusOr<std::string> SendMessage(absl::string_view phone_number_id, std::string body);

  GraphClientOptions options_;
  TokenSource tokens_;
  std::shared_ptr<http::Client> http_;
  Sleeper sleeper_;
};

absl::string_view PermissionStatusName(PermissionStatus status);
// "MONDAY" ... "SUNDAY"; empty for a value outside the enum.
absl::string_view DayOfWeekName(DayOfWeek day);

}  // namespace switchboard::whatsapp
