#include "tools/meta-sim/config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"

namespace switchboard::metasim {
namespace {

using Json = nlohmann::json;

absl::Status Bad(absl::string_view what) {
  return core::InvalidArgument("INVALID_SIM_CONFIG", what);
}

// The value at `key` into *out, when there is one: INVALID_SIM_CONFIG "<key> must be
// <expected>" when it is not of the JSON type `is` checks.
template <typename T>
absl::Status Get(const Json& j, const char* key, bool (Json::*is)() const noexcept,
                 const char* expected, T* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  if (!((*it).*is)()) return Bad(absl::StrCat(key, " must be ", expected));
  *out = it->get<T>();
  return absl::OkStatus();
}

absl::Status GetString(const Json& j, const char* key, std::string* out) {
  return Get(j, key, &Json::is_string, "a string", out);
}

absl::Status GetInt(const Json& j, const char* key, int* out) {
  return Get(j, key, &Json::is_number_integer, "an integer", out);
}

absl::Status GetBool(const Json& j, const char* key, bool* out) {
  return Get(j, key, &Json::is_boolean, "true or false", out);
}

// *_ms fields; a negative value means "never" (InfiniteDuration).
absl::Status GetMillis(const Json& j, const char* key, absl::Duration* out) {
  if (!j.contains(key)) return absl::OkStatus();
  int64_t ms = 0;
  RETURN_IF_ERROR(Get(j, key, &Json::is_number_integer, "an integer (ms)", &ms));
  *out = ms < 0 ? absl::InfiniteDuration() : absl::Milliseconds(ms);
  return absl::OkStatus();
}

// The names of CallAnswer's and PermissionAnswer's values, in the enums' order.
constexpr const char* kCallAnswers[] = {"answer", "reject", "no_answer"};
constexpr const char* kPermissionAnswers[] = {"ignore", "accept_temporary", "accept_permanent",
                                              "reject"};

// One of `names` at `key` into *out as the enum value of the same index; absent or "" leaves it.
template <typename Enum, size_t N>
absl::Status GetEnum(const Json& j, const char* key, const char* const (&names)[N], Enum* out) {
  std::string name;
  RETURN_IF_ERROR(GetString(j, key, &name));
  if (name.empty()) return absl::OkStatus();
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) {
      *out = static_cast<Enum>(i);
      return absl::OkStatus();
    }
  }
  return Bad(absl::StrCat(key, " must be ", absl::StrJoin(names, names + N - 1, ", "), " or ",
                          names[N - 1]));
}

int64_t Millis(absl::Duration d) {
  return d == absl::InfiniteDuration() ? -1 : absl::ToInt64Milliseconds(d);
}

}  // namespace

absl::Status ApplyBehaviour(const Json& json, UserBehaviour* b) {
  if (!json.is_object()) return Bad("a behaviour must be an object");
  RETURN_IF_ERROR(GetString(json, "name", &b->name));
  RETURN_IF_ERROR(GetEnum(json, "on_call", kCallAnswers, &b->on_call));
  RETURN_IF_ERROR(
      GetEnum(json, "on_permission_request", kPermissionAnswers, &b->on_permission_request));
  RETURN_IF_ERROR(GetMillis(json, "ring_after_ms", &b->ring_after));
  RETURN_IF_ERROR(GetMillis(json, "answer_after_ms", &b->answer_after));
  RETURN_IF_ERROR(GetMillis(json, "hang_up_after_ms", &b->hang_up_after));
  RETURN_IF_ERROR(GetMillis(json, "permission_reply_after_ms", &b->permission_reply_after));
  return absl::OkStatus();
}

Json BehaviourJson(const UserBehaviour& b) {
  return {{"name", b.name},
          {"on_call", kCallAnswers[static_cast<int>(b.on_call)]},
          {"ring_after_ms", Millis(b.ring_after)},
          {"answer_after_ms", Millis(b.answer_after)},
          {"hang_up_after_ms", Millis(b.hang_up_after)},
          {"on_permission_request", kPermissionAnswers[static_cast<int>(b.on_permission_request)]},
          {"permission_reply_after_ms", Millis(b.permission_reply_after)}};
}

absl::StatusOr<WebhookFaults> ParseWebhookFaults(const Json& json) {
  if (!json.is_object()) return Bad("webhook faults must be an object");
  WebhookFaults f;
  RETURN_IF_ERROR(GetInt(json, "duplicates", &f.duplicates));
  RETURN_IF_ERROR(GetBool(json, "hold_connect_until_terminate", &f.hold_connect_until_terminate));
  RETURN_IF_ERROR(GetInt(json, "batch_size", &f.batch_size));
  if (f.duplicates < 0 || f.batch_size < 1) return Bad("duplicates >= 0 and batch_size >= 1");
  return f;
}

absl::StatusOr<GraphFault> ParseGraphFault(const Json& json) {
  if (!json.is_object()) return Bad("a graph fault must be an object");
  GraphFault f;
  RETURN_IF_ERROR(GetString(json, "action", &f.action));
  RETURN_IF_ERROR(GetInt(json, "http_status", &f.http_status));
  RETURN_IF_ERROR(GetInt(json, "meta_code", &f.meta_code));
  RETURN_IF_ERROR(GetInt(json, "count", &f.count));
  RETURN_IF_ERROR(GetMillis(json, "delay_ms", &f.delay));
  if (f.http_status != 0 && (f.http_status < 100 || f.http_status > 599)) {
    return Bad("http_status must be 0 (a slow answer) or 100..599");
  }
  return f;
}

absl::StatusOr<SimOptions> ParseSimConfig(absl::string_view text, SimOptions o) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Bad("the config must be a JSON object");
  RETURN_IF_ERROR(GetString(j, "host", &o.host));
  RETURN_IF_ERROR(GetInt(j, "port", &o.port));
  RETURN_IF_ERROR(GetMillis(j, "ring_timeout_ms", &o.ring_timeout));
  RETURN_IF_ERROR(GetInt(j, "max_concurrent_calls", &o.max_concurrent_calls));
  RETURN_IF_ERROR(GetInt(j, "max_new_calls_per_day", &o.max_new_calls_per_day));
  RETURN_IF_ERROR(GetInt(j, "call_permissions_per_minute", &o.call_permissions_per_minute));
  RETURN_IF_ERROR(GetBool(j, "enforce_service_window", &o.enforce_service_window));
  if (auto it = j.find("numbers"); it != j.end()) {
    if (!it->is_array()) return Bad("numbers must be an array");
    for (const Json& n : *it) {
      if (!n.is_object()) return Bad("each number must be an object");
      BusinessNumber b;
      RETURN_IF_ERROR(GetString(n, "phone_number_id", &b.phone_number_id));
      RETURN_IF_ERROR(GetString(n, "display_phone_number", &b.display_phone_number));
      RETURN_IF_ERROR(GetString(n, "waba_id", &b.waba_id));
      RETURN_IF_ERROR(GetString(n, "access_token", &b.access_token));
      RETURN_IF_ERROR(GetString(n, "app_secret", &b.app_secret));
      RETURN_IF_ERROR(GetString(n, "callback_url", &b.callback_url));
      if (b.phone_number_id.empty() || b.access_token.empty()) {
        return Bad("a number needs phone_number_id and access_token");
      }
      o.numbers.push_back(std::move(b));
    }
  }
  if (auto it = j.find("permissions"); it != j.end()) {
    PermissionRules& r = o.permissions;
    int days = 0;
    RETURN_IF_ERROR(GetInt(*it, "temporary_validity_days", &days));
    if (days > 0) r.temporary_validity = absl::Hours(24 * days);
    RETURN_IF_ERROR(GetInt(*it, "requests_per_day", &r.requests_per_day));
    RETURN_IF_ERROR(GetInt(*it, "requests_per_week", &r.requests_per_week));
    RETURN_IF_ERROR(GetInt(*it, "unanswered_to_revoke", &r.unanswered_to_revoke));
    RETURN_IF_ERROR(GetInt(*it, "connected_calls_per_day", &r.connected_calls_per_day));
  }
  if (auto it = j.find("default_behaviour"); it != j.end()) {
    RETURN_IF_ERROR(ApplyBehaviour(*it, &o.default_behaviour));
  }
  if (auto it = j.find("webhooks"); it != j.end()) {
    OutboxOptions& w = o.webhooks;
    RETURN_IF_ERROR(GetMillis(*it, "timeout_ms", &w.timeout));
    RETURN_IF_ERROR(GetMillis(*it, "retry_initial_ms", &w.retry_initial));
    RETURN_IF_ERROR(GetMillis(*it, "retry_max_ms", &w.retry_max));
    RETURN_IF_ERROR(GetMillis(*it, "retry_for_ms", &w.retry_for));
    RETURN_IF_ERROR(GetInt(*it, "senders", &w.senders));
  }
  return o;
}

Json StatsJson(const SimStats& s) {
  Json graph = Json::object();
  for (const auto& [action, n] : s.graph_requests) graph[action] = n;
  Json errors = Json::object();
  for (const auto& [code, n] : s.graph_errors) errors[absl::StrCat(code)] = n;
  const OutboxStats& w = s.webhooks;
  return {
      {"webhooks",
       {{"changes", w.changes},
        {"posts", w.posts},
        {"delivered", w.delivered},
        {"failed", w.failed},
        {"retries", w.retries},
        {"duplicates", w.duplicates},
        {"held", w.held},
        {"dropped", w.dropped},
        {"batched", w.batched}}},
      {"graph_requests", std::move(graph)},
      {"graph_errors", std::move(errors)},
      {"calls",
       {{"started", s.calls_started}, {"connected", s.calls_connected}, {"ended", s.calls_ended}}}};
}

}  // namespace switchboard::metasim
