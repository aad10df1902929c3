#include "libs/whatsapp/graph_client.h"

#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/core/trace.h"
#include "libs/whatsapp/meta_error.h"

namespace switchboard::whatsapp {
namespace {

using Json = nlohmann::json;

constexpr char kRedacted[] = "[redacted]";

// Meta's ids are digits; anything else would let a caller reach another edge.
bool IsGraphId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

std::string UrlEncode(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::string_view("0123456789ABCDEF" + (c >> 4), 1),
                      absl::string_view("0123456789ABCDEF" + (c & 15), 1));
    }
  }
  return out;
}

// The same status with every occurrence of `secret` in its message and metadata replaced.
absl::Status Redact(const absl::Status& status, absl::string_view secret) {
  if (status.ok() || secret.empty()) return status;
  auto scrub = [&](absl::string_view text) {
    return absl::StrReplaceAll(text, {{secret, kRedacted}});
  };
  absl::Status out(status.code(), scrub(status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& value) {
    out.SetPayload(url, absl::Cord(scrub(std::string(value))));
  });
  return out;
}

// Whether a transport failure happened before any byte of the request left (curl could not
// resolve the host or connect). Only then may a non-idempotent request be sent again.
bool NothingWasSent(const absl::Status& status) {
  return core::ReasonOf(status) == "HTTP_CONNECT_FAILED";
}

absl::Status BadResponse(absl::string_view what) {
  return core::Error(absl::StatusCode::kInternal, "META_BAD_RESPONSE",
                     absl::StrCat("unexpected Graph API answer: ", what));
}

absl::StatusOr<Json> ParseBody(const std::string& body) {
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return BadResponse("body is not a JSON object");
  return doc;
}

std::optional<absl::Time> EpochField(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  int64_t seconds = 0;
  if (it->is_number_integer()) {
    seconds = it->get<int64_t>();
  } else if (!it->is_string() || !absl::SimpleAtoi(it->get<std::string>(), &seconds)) {
    return std::nullopt;
  }
  return absl::FromUnixSeconds(seconds);
}

absl::Duration RetryAfter(const http::ClientResponse& response) {
  int64_t seconds = 0;
  if (absl::SimpleAtoi(response.Header("retry-after"), &seconds) && seconds > 0) {
    return absl::Seconds(seconds);
  }
  return absl::ZeroDuration();
}

const char* EnabledName(bool enabled) { return enabled ? "ENABLED" : "DISABLED"; }

}  // namespace

absl::string_view PermissionStatusName(PermissionStatus status) {
  switch (status) {
    case PermissionStatus::kTemporary:
      return "temporary";
    case PermissionStatus::kPermanent:
      return "permanent";
    case PermissionStatus::kNoPermission:
      break;
  }
  return "no_permission";
}

absl::string_view DayOfWeekName(DayOfWeek day) {
  static constexpr absl::string_view kNames[] = {"MONDAY", "TUESDAY",  "WEDNESDAY", "THURSDAY",
                                                 "FRIDAY", "SATURDAY", "SUNDAY"};
  const int i = static_cast<int>(day);
  // Callers validate days first; anything else must not read past the table.
  return i >= 0 && i < 7 ? kNames[i] : absl::string_view();
}

const PermissionAction* CallPermissions::Action(absl::string_view name) const {
  for (const PermissionAction& a : actions) {
    if (a.action_name == name) return &a;
  }
  return nullptr;
}

GraphClient::GraphClient(GraphClientOptions options, TokenSource tokens,
                         std::shared_ptr<http::Client> http, Sleeper sleeper)
    : options_(std::move(options)),
      tokens_(std::move(tokens)),
      http_(http ? std::move(http) : std::make_shared<http::Client>()),
      sleeper_(sleeper ? std::move(sleeper)
                       : Sleeper([](absl::Duration d) { absl::SleepFor(d); })) {
  while (absl::EndsWith(options_.base_url, "/")) options_.base_url.pop_back();
}

GraphClient::~GraphClient() = default;

absl::StatusOr<GraphClient::Answer> GraphClient::Call(absl::string_view phone_number_id,
                                                      absl::string_view method,
                                                      absl::string_view edge,
                                                      absl::string_view query, std::string body,
                                                      Retry retry) {
  if (!IsGraphId(phone_number_id)) {
    return core::InvalidArgument("INVALID_PHONE_NUMBER_ID", "phone number id must be a Graph id",
                                 {{"phone_number_id", std::string(phone_number_id)}});
  }
  std::optional<std::string> token = tokens_ ? tokens_(phone_number_id) : std::nullopt;
  if (!token || token->empty()) {
    return core::Error(absl::StatusCode::kFailedPrecondition, "NO_ACCESS_TOKEN",
                       absl::StrCat("no access token for business number ", phone_number_id),
                       {{"phone_number_id", std::string(phone_number_id)}});
  }
  std::string path = absl::StrCat("/", options_.api_version, "/", phone_number_id, "/", edge);
  if (!query.empty()) absl::StrAppend(&path, "?", query);
  std::string what = absl::StrCat(method, " ", path);

  http::ClientRequest request{
      .method = std::string(method),
      .url = options_.base_url + path,
      .headers = {{"Authorization", absl::StrCat("Bearer ", *token)}},
      .body = std::move(body),
      .timeout = options_.timeout,
      .connect_timeout = options_.connect_timeout,
  };
  if (method != "GET") request.headers.emplace_back("Content-Type", "application/json");
  if (std::string trace = core::CurrentTraceparent(); !trace.empty()) {
    request.headers.emplace_back("traceparent", std::move(trace));
  }

  int attempts = std::max(1, options_.max_attempts);
  absl::Duration backoff = options_.backoff_initial;
  for (int attempt = 1;; ++attempt) {
    absl::Status failure;
    bool retryable = false;
    absl::Duration wait = backoff;
    absl::StatusOr<http::ClientResponse> r = http_->Send(request);
    if (!r.ok()) {
      failure = r.status();
      retryable = retry == Retry::kSafe || NothingWasSent(failure);
    } else if (r->status >= 200 && r->status < 300) {
      return Answer{r->status, std::move(r->body)};
    } else {
      failure = MetaErrorStatus(r->status, r->body);
      std::optional<int> code;
      if (auto e = MetaError::Parse(r->body)) code = e->code;
      retryable = retry == Retry::kSafe && MetaIsTransient(r->status, code);
      wait = std::max(wait, std::min(RetryAfter(*r), options_.backoff_max));
    }
    failure = Redact(core::Annotate(failure, what), *token);
    if (!retryable || attempt >= attempts) return failure;
    log::Warning("graph api request failed, retrying",
                 {{"request", what}, {"attempt", attempt}, {"error", failure.ToString()}});
    sleeper_(wait);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

absl::StatusOr<std::string> GraphClient::Connect(absl::string_view phone_number_id,
                                                 const ConnectRequest& request) {
  Json body = {{"messaging_product", "whatsapp"},
               {"to", request.to},
               {"action", "connect"},
               {"session", {{"sdp_type", "offer"}, {"sdp", request.sdp}}}};
  if (!request.biz_opaque_callback_data.empty()) {
    body["biz_opaque_callback_data"] = request.biz_opaque_callback_data;
  }
  ASSIGN_OR_RETURN(Answer answer,
                   Call(phone_number_id, "POST", "calls", "", body.dump(), Retry::kOnlyIfNotSent));
  ASSIGN_OR_RETURN(Json doc, ParseBody(answer.body));
  auto calls = doc.find("calls");
  if (calls == doc.end() || !calls->is_array() || calls->empty() || !(*calls)[0].is_object() ||
      !(*calls)[0].contains("id") || !(*calls)[0]["id"].is_string()) {
    return BadResponse("connect answer without calls[0].id");
  }
  return (*calls)[0]["id"].get<std::string>();
}

absl::Status GraphClient::CallAction(absl::string_view phone_number_id, absl::string_view call_id,
                                     absl::string_view action, absl::string_view sdp_answer) {
  if (call_id.empty()) return core::InvalidArgument("MISSING_CALL_ID", "call_id is required");
  Json body = {{"messaging_product", "whatsapp"},
               {"call_id", std::string(call_id)},
               {"action", std::string(action)}};
  if (!sdp_answer.empty()) {
    body["session"] = {{"sdp_type", "answer"}, {"sdp", std::string(sdp_answer)}};
  }
  ASSIGN_OR_RETURN(Answer answer,
                   Call(phone_number_id, "POST", "calls", "", body.dump(), Retry::kSafe));
  ASSIGN_OR_RETURN(Json doc, ParseBody(answer.body));
  if (doc.value("success", false) != true) return BadResponse("call action without success");
  return absl::OkStatus();
}

absl::Status GraphClient::PreAccept(absl::string_view phone_number_id, absl::string_view call_id,
                                    absl::string_view sdp_answer) {
  if (sdp_answer.empty()) return core::InvalidArgument("MISSING_SDP", "pre_accept needs an SDP");
  return CallAction(phone_number_id, call_id, "pre_accept", sdp_answer);
}

absl::Status GraphClient::Accept(absl::string_view phone_number_id, absl::string_view call_id,
                                 absl::string_view sdp_answer) {
  if (sdp_answer.empty()) return core::InvalidArgument("MISSING_SDP", "accept needs an SDP");
  return CallAction(phone_number_id, call_id, "accept", sdp_answer);
}

absl::Status GraphClient::Reject(absl::string_view phone_number_id, absl::string_view call_id) {
  return CallAction(phone_number_id, call_id, "reject", "");
}

absl::Status GraphClient::Terminate(absl::string_view phone_number_id, absl::string_view call_id) {
  return CallAction(phone_number_id, call_id, "terminate", "");
}

absl::StatusOr<std::string> GraphClient::SendMessage(absl::string_view phone_number_id,
                                                     std::string body) {
  ASSIGN_OR_RETURN(Answer answer, Call(phone_number_id, "POST", "messages", "", std::move(body),
                                       Retry::kOnlyIfNotSent));
  ASSIGN_OR_RETURN(Json doc, ParseBody(answer.body));
  auto messages = doc.find("messages");
  if (messages == doc.end() || !messages->is_array() || messages->empty() ||
      !(*messages)[0].is_object() || !(*messages)[0].contains("id") ||
      !(*messages)[0]["id"].is_string()) {
    return BadResponse("message answer without messages[0].id");
  }
  return (*messages)[0]["id"].get<std::string>();
}

absl::StatusOr<std::string> GraphClient::SendText(absl::string_view phone_number_id,
                                                  absl::string_view to, absl::string_view body) {
  Json doc = {{"messaging_product", "whatsapp"},
              {"recipient_type", "individual"},
              {"to", std::string(to)},
              {"type", "text"},
              {"text", {{"preview_url", false}, {"body", std::string(body)}}}};
  return SendMessage(phone_number_id, doc.dump());
}

absl::StatusOr<std::string> GraphClient::SendTemplate(absl::string_view phone_number_id,
                                                      absl::string_view to,
                                                      const TemplateMessage& message) {
  Json tmpl = {{"name", message.name}, {"language", {{"code", message.language_code}}}};
  if (!message.components_json.empty()) {
    Json components = Json::parse(message.components_json, nullptr, false);
    if (!components.is_array()) {
      return core::InvalidArgument("INVALID_TEMPLATE_COMPONENTS",
                                   "template components must be a JSON array");
    }
    tmpl["components"] = std::move(components);
  }
  Json doc = {{"messaging_product", "whatsapp"},
              {"recipient_type", "individual"},
              {"to", std::string(to)},
              {"type", "template"},
              {"template", std::move(tmpl)}};
  return SendMessage(phone_number_id, doc.dump());
}

absl::StatusOr<std::string> GraphClient::SendCallPermissionRequest(
    absl::string_view phone_number_id, absl::string_view to, absl::string_view body_text) {
  Json doc = {{"messaging_product", "whatsapp"},
              {"recipient_type", "individual"},
              {"to", std::string(to)},
              {"type", "interactive"},
              {"interactive",
               {{"type", "call_permission_request"},
                {"action", {{"name", "call_permission_request"}}},
                {"body", {{"text", std::string(body_text)}}}}}};
  return SendMessage(phone_number_id, doc.dump());
}

absl::StatusOr<CallPermissions> GraphClient::GetCallPermissions(absl::string_view phone_number_id,
                                                                absl::string_view user_wa_id) {
  if (user_wa_id.empty()) return core::InvalidArgument("MISSING_USER", "user_wa_id is required");
  ASSIGN_OR_RETURN(Answer answer,
                   Call(phone_number_id, "GET", "call_permissions",
                        absl::StrCat("user_wa_id=", UrlEncode(user_wa_id)), "", Retry::kSafe));
  ASSIGN_OR_RETURN(Json doc, ParseBody(answer.body));
  CallPermissions out;
  auto permission = doc.find("permission");
  if (permission == doc.end() || !permission->is_object()) {
    return BadResponse("call_permissions answer without permission");
  }
  std::string status = permission->value("status", "");
  if (status == "temporary") {
    out.status = PermissionStatus::kTemporary;
  } else if (status == "permanent") {
    out.status = PermissionStatus::kPermanent;
  } else if (status == "no_permission") {
    out.status = PermissionStatus::kNoPermission;
  } else {
    return BadResponse(absl::StrCat("permission status '", status, "'"));
  }
  out.expiration_time = EpochField(*permission, "expiration_time");
  if (auto actions = doc.find("actions"); actions != doc.end() && actions->is_array()) {
    for (const Json& a : *actions) {
      if (!a.is_object()) continue;
      PermissionAction action{.action_name = a.value("action_name", ""),
                              .can_perform_action = a.value("can_perform_action", false)};
      if (auto limits = a.find("limits"); limits != a.end() && limits->is_array()) {
        for (const Json& l : *limits) {
          if (!l.is_object()) continue;
          action.limits.push_back(
              {.time_period = l.value("time_period", ""),
               .max_allowed = l.value("max_allowed", int64_t{0}),
               .current_usage = l.value("current_usage", int64_t{0}),
               .limit_expiration_time = EpochField(l, "limit_expiration_time")});
        }
      }
      out.actions.push_back(std::move(action));
    }
  }
  return out;
}

absl::Status GraphClient::UpdateSettings(absl::string_view phone_number_id,
                                         const CallingSettings& settings) {
  Json calling = Json::object();
  if (settings.enabled) calling["status"] = EnabledName(*settings.enabled);
  if (settings.call_icon_visible) {
    calling["call_icon_visibility"] = *settings.call_icon_visible ? "DEFAULT" : "DISABLE_ALL";
  }
  if (settings.callback_permission_enabled) {
    calling["callback_permission_status"] = EnabledName(*settings.callback_permission_enabled);
  }
  if (settings.call_hours) {
    const CallHours& h = *settings.call_hours;
    Json hours = {{"status", EnabledName(h.enabled)}};
    if (!h.timezone_id.empty()) hours["timezone_id"] = h.timezone_id;
    Json weekly = Json::array();
    for (const OperatingHours& o : h.weekly_operating_hours) {
      weekly.push_back({{"day_of_week", std::string(DayOfWeekName(o.day_of_week))},
                        {"open_time", o.open_time},
                        {"close_time", o.close_time}});
    }
    hours["weekly_operating_hours"] = std::move(weekly);
    Json holidays = Json::array();
    for (const Holiday& d : h.holiday_schedule) {
      holidays.push_back(
          {{"date", d.date}, {"start_time", d.start_time}, {"end_time", d.end_time}});
    }
    if (!holidays.empty()) hours["holiday_schedule"] = std::move(holidays);
    calling["call_hours"] = std::move(hours);
  }
  Json body = {{"calling", std::move(calling)}};
  ASSIGN_OR_RETURN(Answer answer,
                   Call(phone_number_id, "POST", "settings", "", body.dump(), Retry::kSafe));
  ASSIGN_OR_RETURN(Json doc, ParseBody(answer.body));
  if (doc.value("success", false) != true) return BadResponse("settings without success");
  return absl::OkStatus();
}

}  // namespace switchboard::whatsapp
