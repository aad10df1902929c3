#include "tools/meta-sim/sim.h"

#include <deque>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/http/server.h"
#include "libs/whatsapp/meta_error.h"
#include "tools/meta-sim/config.h"
#include "tools/meta-sim/payloads.h"
#include "tools/meta-sim/scheduler.h"

namespace switchboard::metasim {

using Json = nlohmann::json;
using whatsapp::MetaError;

namespace {

constexpr absl::Duration kDay = absl::Hours(24);

// A Graph API refusal: the Meta error and the HTTP status it travels with.
struct Refusal {
  MetaError error;
  int http_status = 400;
};

Refusal Invalid(std::string details) {
  return {.error = {.code = whatsapp::kMetaInvalidParameter,
                    .message = "(#100) Invalid parameter",
                    .details = std::move(details)}};
}

Refusal Refuse(MetaError e) {
  int status = whatsapp::MetaHttpStatus(e.code);
  return {.error = std::move(e), .http_status = status};
}

bool IsDigits(const std::string& s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "HHMM" with HH < 24 and MM < 60.
bool IsHhmm(const Json& j) {
  if (!j.is_string()) return false;
  std::string s = j.get<std::string>();
  if (s.size() != 4) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return std::stoi(s.substr(0, 2)) < 24 && std::stoi(s.substr(2)) < 60;
}

const std::set<std::string>& WeekDays() {
  static const auto* days = new std::set<std::string>{"MONDAY", "TUESDAY",  "WEDNESDAY", "THURSDAY",
                                                      "FRIDAY", "SATURDAY", "SUNDAY"};
  return *days;
}

std::optional<std::string> StringField(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

http::Response JsonResponse(int status, const Json& body) {
  return http::Response::Json(status, body.dump());
}

absl::Status ControlError(absl::string_view reason, absl::string_view message) {
  return core::InvalidArgument(reason, message);
}

}  // namespace

absl::string_view CallStageName(CallStage stage) {
  switch (stage) {
    case CallStage::kRinging:
      return "RINGING";
    case CallStage::kPreAccepted:
      return "PRE_ACCEPTED";
    case CallStage::kConnected:
      return "CONNECTED";
    case CallStage::kEnded:
      break;
  }
  return "ENDED";
}

class Sim::Impl {
 public:
  Impl(SimOptions options, const core::Clock& clock)
      : options_(std::move(options)),
        clock_(clock),
        outbox_(options_.webhooks),
        book_(options_.permissions),
        default_behaviour_(options_.default_behaviour) {
    for (const BusinessNumber& n : options_.numbers) {
      numbers_[n.phone_number_id].config = n;
    }
  }

  absl::Status Start() {
    ASSIGN_OR_RETURN(server_, http::Server::Start(
                                  {.host = options_.host, .port = options_.port, .threads = 16},
                                  {{"/", [this](const http::Request& r) { return Handle(r); }}}));
    return absl::OkStatus();
  }

  void Stop() {
    if (server_) server_->Stop();
    scheduler_.Stop();
    outbox_.Stop();
  }

  int port() const { return server_->port(); }
  std::string base_url() const {
    std::string host = options_.host == "0.0.0.0" ? "127.0.0.1" : options_.host;
    return absl::StrCat("http://", host, ":", port());
  }

  // ---- users (the control API) ----

  void SetDefaultBehaviour(UserBehaviour b) {
    absl::MutexLock lock(&mu_);
    default_behaviour_ = std::move(b);
  }
  void SetBehaviour(const std::string& wa_id, UserBehaviour b) {
    absl::MutexLock lock(&mu_);
    behaviours_[wa_id] = std::move(b);
  }
  UserBehaviour BehaviourOf(const std::string& wa_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = behaviours_.find(wa_id);
    return it == behaviours_.end() ? default_behaviour_ : it->second;
  }
  UserBehaviour BehaviourCopy(const std::string& wa_id) {
    absl::MutexLock lock(&mu_);
    return wa_id.empty() ? default_behaviour_ : BehaviourOf(wa_id);
  }

  absl::StatusOr<std::string> PlaceUserCall(const std::string& number_id, const std::string& from) {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(Number * number, NumberFor(number_id));
    if (!IsDigits(from)) return ControlError("INVALID_USER", "from must be a wa_id (digits)");
    if (!CallingEnabled(*number)) {
      return core::Error(absl::StatusCode::kFailedPrecondition, "CALLING_DISABLED",
                         "calling is disabled on this business number");
    }
    absl::Time now = clock_.Now();
    std::string id = NewWacid();
    CallState& call = calls_[id];
    call.view = {.id = id, .phone_number_id = number_id, .user = from};
    call.sdp_offer = FakeSdp(/*offer=*/true, absl::Uniform<uint64_t>(rng_, 1, 1ull << 40));
    call.created = now;
    ++number->active_calls;
    ++stats_.calls_started;
    OpenWindow(number_id, from, now);
    Emit(*number,
         CallChange(Ref(*number), ContactOf(from),
                    {{"id", id},
                     {"to", Digits(number->config.display_phone_number)},
                     {"from", from},
                     {"event", "connect"},
                     {"timestamp", EpochString(now)},
                     {"direction", "USER_INITIATED"},
                     {"session", {{"sdp_type", "offer"}, {"sdp", call.sdp_offer}}}}),
         {.call_id = id, .event = "connect"});
    if (number->settings.value("callback_permission_status", "") == "ENABLED" &&
        book_.Current(number_id, from, now) == Permission::kNone) {
      // A user who calls while callback permission is on grants a temporary permission.
      GrantAndNotify(*number, from, {.accept = true, .permanent = false, .automatic = true});
    }
    After(call, options_.ring_timeout, [this, id] {
      absl::MutexLock l(&mu_);
      CallState* c = Find(id);
      if (c != nullptr && c->view.stage != CallStage::kConnected &&
          c->view.stage != CallStage::kEnded) {
        End(*c, "FAILED");
      }
    });
    return id;
  }

  absl::StatusOr<std::string> SendUserMessage(const std::string& number_id, const std::string& from,
                                              const std::string& text) {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(Number * number, NumberFor(number_id));
    if (!IsDigits(from)) return ControlError("INVALID_USER", "from must be a wa_id (digits)");
    absl::Time now = clock_.Now();
    OpenWindow(number_id, from, now);
    std::string id = NewId("wamid.");
    Emit(*number, MessageChange(Ref(*number), *ContactOf(from),
                                {{"from", from},
                                 {"id", id},
                                 {"timestamp", EpochString(now)},
                                 {"type", "text"},
                                 {"text", {{"body", text}}}}));
    return id;
  }

  absl::Status SendPermissionReply(const std::string& number_id, const std::string& from,
                                   PermissionReply reply) {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(Number * number, NumberFor(number_id));
    if (!IsDigits(from)) return ControlError("INVALID_USER", "from must be a wa_id (digits)");
    GrantAndNotify(*number, from, reply);
    return absl::OkStatus();
  }

  absl::Status HangUp(const std::string& call_id) {
    absl::MutexLock lock(&mu_);
    CallState* call = Find(call_id);
    if (call == nullptr) {
      return core::Error(absl::StatusCode::kNotFound, "UNKNOWN_CALL", "no such call");
    }
    if (call->view.stage == CallStage::kEnded) {
      return core::Error(absl::StatusCode::kFailedPrecondition, "CALL_ENDED", "the call has ended");
    }
    End(*call, call->view.stage == CallStage::kConnected ? "COMPLETED" : "FAILED");
    return absl::OkStatus();
  }

  // ---- faults, stats, waiting ----

  void SetWebhookFaults(WebhookFaults f) { outbox_.SetFaults(f); }
  void AddGraphFault(GraphFault f) {
    absl::MutexLock lock(&mu_);
    graph_faults_.push_back(std::move(f));
  }
  void ClearFaults() {
    outbox_.SetFaults({});
    absl::MutexLock lock(&mu_);
    graph_faults_.clear();
  }

  SimStats Stats() {
    SimStats s;
    {
      absl::MutexLock lock(&mu_);
      s = stats_;
    }
    s.webhooks = outbox_.Stats();
    return s;
  }

  std::vector<SentMessage> Messages() {
    absl::MutexLock lock(&mu_);
    return {messages_.begin(), messages_.end()};
  }

  std::vector<CallView> Calls() {
    absl::MutexLock lock(&mu_);
    std::vector<CallView> out;
    for (const auto& [id, c] : calls_) out.push_back(ViewOf(c));
    return out;
  }

  std::optional<CallView> Call(const std::string& id) {
    absl::MutexLock lock(&mu_);
    CallState* c = Find(id);
    if (c == nullptr) return std::nullopt;
    return ViewOf(*c);
  }

  PermissionView Permissions(const std::string& number, const std::string& user) {
    absl::MutexLock lock(&mu_);
    return book_.View(number, user, clock_.Now());
  }

  bool WaitForOutboxDrained(absl::Duration timeout) { return outbox_.WaitDrained(timeout); }

  bool WaitIdle(absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (true) {
      if (scheduler_.Pending() == 0 && outbox_.Drained()) return true;
      if (absl::Now() >= deadline) return false;
      absl::SleepFor(absl::Milliseconds(2));  // the sim's own poll, not a test's wait
    }
  }

  absl::StatusOr<Json> Control(absl::string_view command, const Json& body);

 private:
  struct Number {
    BusinessNumber config;
    Json settings = {{"status", "ENABLED"},
                     {"call_icon_visibility", "DEFAULT"},
                     {"callback_permission_status", "DISABLED"},
                     {"call_hours", {{"status", "DISABLED"}}}};
    std::deque<absl::Time> new_calls;         // business-initiated, last 24 h
    std::deque<absl::Time> permission_reads;  // GET call_permissions, last minute
    int active_calls = 0;
  };

  struct CallState {
    CallView view;
    std::string sdp_offer;
    std::string sdp_answer;
    absl::Time created;
    absl::Time started;  // when connected
    std::vector<uint64_t> timers;
  };

  // ---- helpers (all under mu_) ----

  static CallView ViewOf(const CallState& c) {
    CallView view = c.view;
    view.sdp_offer = c.sdp_offer;
    view.sdp_answer = c.sdp_answer;
    return view;
  }

  absl::StatusOr<Number*> NumberFor(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = numbers_.find(id);
    if (it == numbers_.end()) {
      return core::Error(absl::StatusCode::kNotFound, "UNKNOWN_NUMBER",
                         absl::StrCat("no business number ", id));
    }
    return &it->second;
  }

  static NumberRef Ref(const Number& n) {
    return {n.config.phone_number_id, n.config.display_phone_number};
  }
  static bool CallingEnabled(const Number& n) {
    return n.settings.value("status", "") == "ENABLED";
  }

  std::optional<Contact> ContactOf(const std::string& wa_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return Contact{wa_id, BehaviourOf(wa_id).name};
  }

  CallState* Find(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : &it->second;
  }

  std::string NewId(absl::string_view prefix) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::string raw(24, '\0');
    for (char& c : raw) c = static_cast<char>(absl::Uniform<int>(rng_, 0, 256));
    return absl::StrCat(prefix, absl::WebSafeBase64Escape(raw));
  }
  std::string NewWacid() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return NewId("wacid."); }
  std::string FbTraceId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    for (int i = 0; i < 11; ++i) out.push_back(kAlphabet[absl::Uniform<int>(rng_, 0, 62)]);
    return out;
  }

  void OpenWindow(const std::string& number, const std::string& user, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    last_inbound_[{number, user}] = now;
  }
  bool WindowOpen(const std::string& number, const std::string& user, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = last_inbound_.find({number, user});
    return it != last_inbound_.end() && now - it->second < kDay;
  }

  void Emit(const Number& n, Json change, const ChangeTag& tag = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (n.config.callback_url.empty()) return;
    outbox_.Enqueue({n.config.callback_url, n.config.app_secret}, n.config.waba_id,
                    std::move(change), tag);
  }

  template <typename F>
  void After(CallState& call, absl::Duration delay, F f) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (delay == absl::InfiniteDuration()) return;
    call.timers.push_back(scheduler_.After(delay, std::move(f)));
  }

  // The permission reply webhook, and the permission change it stands for.
  void GrantAndNotify(Number& number, const std::string& user, PermissionReply reply)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::Time now = clock_.Now();
    const std::string& id = number.config.phone_number_id;
    Json r = {{"response", reply.accept ? "accept" : "reject"},
              {"is_permanent", reply.accept && reply.permanent}};
    if (reply.accept) {
      std::optional<absl::Time> expires = book_.Grant(id, user, reply.permanent, now);
      if (expires) r["expiration_timestamp"] = EpochString(*expires);
    } else {
      book_.Revoke(id, user);
    }
    r["response_source"] = reply.automatic ? "automatic" : "user_action";
    if (!reply.automatic) OpenWindow(id, user, now);
    Json message = {{"from", user},
                    {"id", NewId("wamid.")},
                    {"timestamp", EpochString(now)},
                    {"type", "interactive"},
                    {"interactive",
                     {{"type", "call_permission_reply"}, {"call_permission_reply", std::move(r)}}}};
    if (auto it = last_request_.find({id, user}); it != last_request_.end() && !reply.automatic) {
      message["context"] = {{"from", Digits(number.config.display_phone_number)},
                            {"id", it->second}};
    }
    Emit(number, MessageChange(Ref(number), *ContactOf(user), std::move(message)));
  }

  void End(CallState& call, const std::string& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (uint64_t t : call.timers) scheduler_.Cancel(t);
    call.timers.clear();
    absl::Time now = clock_.Now();
    Number& number = numbers_[call.view.phone_number_id];
    bool connected = call.view.stage == CallStage::kConnected;
    call.view.stage = CallStage::kEnded;
    call.view.end_status = status;
    --number.active_calls;
    ++stats_.calls_ended;
    std::string business = Digits(number.config.display_phone_number);
    bool bic = call.view.business_initiated;
    Json c = {{"id", call.view.id},
              {"to", bic ? call.view.user : business},
              {"from", bic ? business : call.view.user},
              {"event", "terminate"},
              {"direction", bic ? "BUSINESS_INITIATED" : "USER_INITIATED"},
              {"timestamp", EpochString(now)},
              {"status", status}};
    if (connected) {
      c["start_time"] = EpochString(call.started);
      c["end_time"] = EpochString(now);
      c["duration"] = absl::ToInt64Seconds(now - call.started);
    }
    if (!call.view.biz_opaque_callback_data.empty()) {
      c["biz_opaque_callback_data"] = call.view.biz_opaque_callback_data;
    }
    Emit(number, CallChange(Ref(number), ContactOf(call.view.user), std::move(c)),
         {.call_id = call.view.id, .event = "terminate"});
  }

  void Connected(CallState& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::Time now = clock_.Now();
    for (uint64_t t : call.timers) scheduler_.Cancel(t);  // the ring timeout
    call.timers.clear();
    call.view.stage = CallStage::kConnected;
    call.started = now;
    ++stats_.calls_connected;
    OpenWindow(call.view.phone_number_id, call.view.user, now);
    std::string id = call.view.id;
    After(call, BehaviourOf(call.view.user).hang_up_after, [this, id] {
      absl::MutexLock l(&mu_);
      CallState* c = Find(id);
      if (c != nullptr && c->view.stage == CallStage::kConnected) End(*c, "COMPLETED");
    });
  }

  // The simulated user's side of a business-initiated call.
  void RingUser(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    CallState* call = Find(id);
    if (call == nullptr || call->view.stage != CallStage::kRinging) return;
    Number& number = numbers_[call->view.phone_number_id];
    Emit(number, CallStatusChange(Ref(number), id, "RINGING", clock_.Now(), call->view.user,
                                  call->view.biz_opaque_callback_data));
    UserBehaviour b = BehaviourOf(call->view.user);
    if (b.on_call == CallAnswer::kNoAnswer) return;  // the ring timeout ends it
    After(*call, b.answer_after, [this, id, reject = b.on_call == CallAnswer::kReject] {
      absl::MutexLock l(&mu_);
      CallState* c = Find(id);
      if (c == nullptr || c->view.stage != CallStage::kRinging) return;
      Number& n = numbers_[c->view.phone_number_id];
      const std::string& number_id = c->view.phone_number_id;
      if (reject) {
        Emit(n, CallStatusChange(Ref(n), id, "REJECTED", clock_.Now(), c->view.user,
                                 c->view.biz_opaque_callback_data));
        End(*c, "FAILED");
        Unanswered(n, c->view.user);
        return;
      }
      c->sdp_answer = FakeSdp(/*offer=*/false, absl::Uniform<uint64_t>(rng_, 1, 1ull << 40));
      Connected(*c);
      book_.RecordConnected(number_id, c->view.user, clock_.Now());
      std::string business = Digits(n.config.display_phone_number);
      Json connect = {{"id", id},
                      {"to", c->view.user},
                      {"from", business},
                      {"event", "connect"},
                      {"timestamp", EpochString(clock_.Now())},
                      {"direction", "BUSINESS_INITIATED"},
                      {"session", {{"sdp_type", "answer"}, {"sdp", c->sdp_answer}}}};
      if (!c->view.biz_opaque_callback_data.empty()) {
        connect["biz_opaque_callback_data"] = c->view.biz_opaque_callback_data;
      }
      Emit(n, CallChange(Ref(n), ContactOf(c->view.user), std::move(connect)),
           {.call_id = id, .event = "connect"});
      Emit(n, CallStatusChange(Ref(n), id, "ACCEPTED", clock_.Now(), c->view.user,
                               c->view.biz_opaque_callback_data));
    });
  }

  // A business-initiated call the user did not pick up; Meta revokes the permission after
  // `unanswered_to_revoke` in a row and says so with an automatic reject.
  void Unanswered(Number& number, const std::string& user) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (book_.RecordUnanswered(number.config.phone_number_id, user)) {
      GrantAndNotify(number, user, {.accept = false, .automatic = true});
    }
  }

  // ---- the Graph API ----

  http::Response Handle(const http::Request& r);
  // A Graph API request Meta acts on: validation, then the edge's own rules.
  http::Response Serve(const http::Request& r, const std::vector<std::string>& parts,
                       const Json& body, bool body_ok);
  http::Response Fail(const Refusal& refusal) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<Refusal> Calls(Number& number, const Json& body, Json* answer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<Refusal> Messages(Number& number, const Json& body, Json* answer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<Refusal> CallPermissions(Number& number, const http::Request& r, Json* answer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<Refusal> Settings(Number& number, const Json& body, Json* answer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SimOptions options_;
  const core::Clock& clock_;
  Outbox outbox_;
  Scheduler scheduler_;
  std::unique_ptr<http::Server> server_;

  absl::Mutex mu_;
  PermissionBook book_ ABSL_GUARDED_BY(mu_);
  UserBehaviour default_behaviour_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, UserBehaviour> behaviours_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Number> numbers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, CallState> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, absl::Time> last_inbound_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, std::string> last_request_ ABSL_GUARDED_BY(mu_);
  std::vector<GraphFault> graph_faults_ ABSL_GUARDED_BY(mu_);
  SimStats stats_ ABSL_GUARDED_BY(mu_);
  static constexpr size_t kMessagesKept = 10000;
  std::deque<SentMessage> messages_ ABSL_GUARDED_BY(mu_);
  absl::BitGen rng_ ABSL_GUARDED_BY(mu_);
};

http::Response Sim::Impl::Fail(const Refusal& refusal) {
  MetaError e = refusal.error;
  if (e.fbtrace_id.empty()) e.fbtrace_id = FbTraceId();
  ++stats_.graph_errors[e.code];
  return http::Response::Json(refusal.http_status, e.ToJson());
}

http::Response Sim::Impl::Handle(const http::Request& r) {
  if (absl::StartsWith(r.path(), "/sim/")) {
    Json body = r.body().empty() ? Json::object() : Json::parse(r.body(), nullptr, false);
    if (body.is_discarded()) {
      return JsonResponse(400, {{"error", {{"reason", "INVALID_JSON"}, {"message", "bad body"}}}});
    }
    absl::StatusOr<Json> out = Control(absl::string_view(r.path()).substr(5), body);
    if (!out.ok()) {
      int status = out.status().code() == absl::StatusCode::kNotFound ? 404 : 400;
      return JsonResponse(status, {{"error",
                                    {{"reason", core::ReasonOf(out.status())},
                                     {"message", std::string(out.status().message())}}}});
    }
    return JsonResponse(200, *out);
  }

  // /<version>/<phone-number-id>/<edge>
  std::vector<std::string> parts = absl::StrSplit(r.path(), '/', absl::SkipEmpty());
  Json body = Json::object();
  bool body_ok = true;
  if (r.method() == "POST") {
    body = Json::parse(r.body(), nullptr, false);
    body_ok = body.is_object();
  }
  std::string action = parts.size() == 3 ? parts[2] : "unknown";
  if (action == "calls" && body_ok && body.contains("action") && body["action"].is_string()) {
    action = body["action"].get<std::string>();
  }

  absl::Duration delay;
  std::optional<GraphFault> fault;
  {
    absl::MutexLock lock(&mu_);
    ++stats_.graph_requests[action];
    for (GraphFault& f : graph_faults_) {
      if (f.count > 0 && (f.action == "*" || f.action == action)) {
        --f.count;
        fault = f;
        break;
      }
    }
  }
  if (fault && fault->http_status != 0) {
    absl::SleepFor(fault->delay);
    absl::MutexLock lock(&mu_);
    if (fault->meta_code == 0) {
      ++stats_.graph_errors[0];
      return http::Response::Text(fault->http_status, "");
    }
    Refusal refusal{.error = {.code = fault->meta_code, .message = "Injected failure"},
                    .http_status = fault->http_status};
    return Fail(refusal);
  }
  http::Response response = Serve(r, parts, body, body_ok);
  // http_status 0: a slow answer. Meta has acted (a call rings, its webhooks flow) before the
  // business hears back.
  if (fault) absl::SleepFor(fault->delay);
  return response;
}

http::Response Sim::Impl::Serve(const http::Request& r, const std::vector<std::string>& parts,
                                const Json& body, bool body_ok) {
  absl::MutexLock lock(&mu_);
  // Meta checks the token first: one it does not know is 190 whatever the object.
  std::string auth = r.Header("authorization").value_or("");
  std::string token = absl::StartsWith(auth, "Bearer ") ? auth.substr(7) : "";
  bool known_token = false;
  for (const auto& [id, n] : numbers_)
    known_token |= !token.empty() && n.config.access_token == token;
  if (!known_token) {
    return Fail(Refuse({.code = whatsapp::kMetaAccessTokenInvalid,
                        .message = "Invalid OAuth access token - Cannot parse access token"}));
  }
  bool version_ok = parts.size() == 3 && parts[0].size() >= 2 && parts[0][0] == 'v';
  auto number = version_ok ? numbers_.find(parts[1]) : numbers_.end();
  if (number == numbers_.end() || number->second.config.access_token != token) {
    Refusal refusal = Invalid("");
    refusal.error.subcode = 33;
    refusal.error.type = "GraphMethodException";
    refusal.error.message =
        absl::StrCat("Unsupported ", absl::AsciiStrToLower(r.method()),
                     " request. Object with ID '", parts.size() > 1 ? parts[1] : "",
                     "' does not exist, cannot be loaded due to missing "
                     "permissions, or does not support this operation.");
    return Fail(refusal);
  }
  if (!body_ok) return Fail(Invalid("The request body must be a JSON object"));

  Json answer;
  std::optional<Refusal> refusal;
  const std::string& edge = parts[2];
  if (edge == "calls" && r.method() == "POST") {
    refusal = Calls(number->second, body, &answer);
  } else if (edge == "messages" && r.method() == "POST") {
    refusal = Messages(number->second, body, &answer);
  } else if (edge == "call_permissions" && r.method() == "GET") {
    refusal = CallPermissions(number->second, r, &answer);
  } else if (edge == "settings" && r.method() == "POST") {
    refusal = Settings(number->second, body, &answer);
  } else if (edge == "settings" && r.method() == "GET") {
    answer = {{"calling", number->second.settings}};
  } else {
    refusal = Invalid(absl::StrCat("Unknown path components: /", edge));
  }
  if (refusal) return Fail(*refusal);
  return JsonResponse(200, answer);
}

std::optional<Refusal> Sim::Impl::Calls(Number& number, const Json& body, Json* answer) {
  if (body.value("messaging_product", "") != "whatsapp") {
    return Invalid("messaging_product is required and must be 'whatsapp'");
  }
  std::optional<std::string> action = StringField(body, "action");
  if (!action) return Invalid("action is required");
  const std::string& number_id = number.config.phone_number_id;
  absl::Time now = clock_.Now();

  auto session_sdp = [&](const char* type) -> std::optional<std::string> {
    auto s = body.find("session");
    if (s == body.end() || !s->is_object() || s->value("sdp_type", "") != type) {
      return std::nullopt;
    }
    std::optional<std::string> sdp = StringField(*s, "sdp");
    if (!sdp || !absl::StartsWith(*sdp, "v=0") || !absl::StrContains(*sdp, "m=audio")) {
      return std::nullopt;
    }
    return sdp;
  };

  if (*action == "connect") {
    std::optional<std::string> to = StringField(body, "to");
    if (!to || !IsDigits(Digits(*to))) return Invalid("to must be the user's WhatsApp number");
    std::string user = Digits(*to);
    std::optional<std::string> sdp = session_sdp("offer");
    if (!sdp) return Invalid("session must be {\"sdp_type\":\"offer\",\"sdp\":<valid SDP>}");
    std::string opaque = body.value("biz_opaque_callback_data", "");
    if (opaque.size() > 512) return Invalid("biz_opaque_callback_data is over 512 characters");
    if (!CallingEnabled(number)) {
      return Refuse({.code = whatsapp::kMetaCallingNotEnabled,
                     .message = "Calling is not enabled",
                     .details = "Calling is disabled for this business phone number"});
    }
    if (auto e = book_.CheckCall(number_id, user, now)) return Refuse(*e);
    for (const auto& [id, c] : calls_) {
      if (c.view.phone_number_id == number_id && c.view.user == user &&
          c.view.stage != CallStage::kEnded) {
        return Refuse({.code = whatsapp::kMetaDuplicateCall,
                       .message = "Duplicate call",
                       .details = "There is already an ongoing call with this user"});
      }
    }
    if (number.active_calls >= options_.max_concurrent_calls) {
      return Refuse({.code = whatsapp::kMetaConcurrentCallLimit,
                     .message = "Concurrent call limit reached",
                     .details = absl::StrCat("At most ", options_.max_concurrent_calls,
                                             " concurrent calls per business number")});
    }
    while (!number.new_calls.empty() && number.new_calls.front() <= now - kDay) {
      number.new_calls.pop_front();
    }
    if (static_cast<int>(number.new_calls.size()) >= options_.max_new_calls_per_day) {
      return Refuse({.code = whatsapp::kMetaCallRateLimit,
                     .message = "Call rate limit reached",
                     .details = absl::StrCat("At most ", options_.max_new_calls_per_day,
                                             " business-initiated calls per 24 hours")});
    }
    number.new_calls.push_back(now);
    std::string id = NewWacid();
    CallState& call = calls_[id];
    call.view = {.id = id,
                 .phone_number_id = number_id,
                 .user = user,
                 .business_initiated = true,
                 .biz_opaque_callback_data = opaque};
    call.sdp_offer = *sdp;
    call.created = now;
    ++number.active_calls;
    ++stats_.calls_started;
    After(call, BehaviourOf(user).ring_after, [this, id] {
      absl::MutexLock l(&mu_);
      RingUser(id);
    });
    After(call, options_.ring_timeout, [this, id] {
      absl::MutexLock l(&mu_);
      CallState* c = Find(id);
      if (c == nullptr || c->view.stage != CallStage::kRinging) return;
      Number& n = numbers_[c->view.phone_number_id];
      End(*c, "FAILED");
      Unanswered(n, c->view.user);
    });
    *answer = {{"messaging_product", "whatsapp"}, {"calls", Json::array({{{"id", id}}})}};
    return std::nullopt;
  }

  static const std::set<std::string> kActions = {"pre_accept", "accept", "reject", "terminate"};
  if (kActions.count(*action) == 0) {
    return Invalid(
        absl::StrCat("action must be one of connect, pre_accept, accept, reject, "
                     "terminate; got '",
                     *action, "'"));
  }
  std::optional<std::string> call_id = StringField(body, "call_id");
  if (!call_id || call_id->empty()) return Invalid("call_id is required");
  CallState* call = Find(*call_id);
  if (call == nullptr || call->view.phone_number_id != number_id) {
    return Invalid(absl::StrCat("Invalid call_id '", *call_id, "'"));
  }
  *answer = {{"messaging_product", "whatsapp"}, {"success", true}};
  CallStage stage = call->view.stage;
  if (*action == "terminate") {
    // Ending an ended call changes nothing; answering success keeps retries harmless.
    if (stage != CallStage::kEnded)
      End(*call, stage == CallStage::kConnected ? "COMPLETED" : "FAILED");
    return std::nullopt;
  }
  if (call->view.business_initiated) {
    return Invalid(absl::StrCat(*action, " is only for user-initiated calls"));
  }
  if (*action == "reject") {
    if (stage == CallStage::kConnected || stage == CallStage::kEnded) {
      return Invalid(absl::StrCat("Call is ", CallStageName(stage), "; cannot reject"));
    }
    End(*call, "FAILED");
    return std::nullopt;
  }
  std::optional<std::string> sdp = session_sdp("answer");
  if (!sdp) return Invalid("session must be {\"sdp_type\":\"answer\",\"sdp\":<valid SDP>}");
  if (*action == "pre_accept") {
    if (stage != CallStage::kRinging && stage != CallStage::kPreAccepted) {
      return Invalid(absl::StrCat("Call is ", CallStageName(stage), "; cannot pre_accept"));
    }
    call->view.stage = CallStage::kPreAccepted;
    call->sdp_answer = *sdp;
    return std::nullopt;
  }
  // accept; repeating it on a connected call is harmless.
  if (stage == CallStage::kConnected) return std::nullopt;
  if (stage == CallStage::kEnded) return Invalid("Call has ended; cannot accept");
  if (stage == CallStage::kPreAccepted && call->sdp_answer != *sdp) {
    return Invalid("accept must carry the same SDP as pre_accept");
  }
  call->sdp_answer = *sdp;
  Connected(*call);
  return std::nullopt;
}

std::optional<Refusal> Sim::Impl::Messages(Number& number, const Json& body, Json* answer) {
  if (body.value("messaging_product", "") != "whatsapp") {
    return Invalid("messaging_product is required and must be 'whatsapp'");
  }
  if (body.contains("recipient_type") && body.value("recipient_type", "") != "individual") {
    return Invalid("recipient_type must be 'individual'");
  }
  std::optional<std::string> to = StringField(body, "to");
  if (!to || !IsDigits(Digits(*to))) return Invalid("to must be the user's WhatsApp number");
  std::string user = Digits(*to);
  std::string type = body.value("type", "text");
  const std::string& number_id = number.config.phone_number_id;
  absl::Time now = clock_.Now();
  bool permission_request = false;

  if (type == "text") {
    auto text = body.find("text");
    if (text == body.end() || !text->is_object() || !StringField(*text, "body") ||
        StringField(*text, "body")->empty()) {
      return Invalid("text.body is required");
    }
    if (StringField(*text, "body")->size() > 4096) return Invalid("text.body is over 4096 chars");
  } else if (type == "template") {
    auto t = body.find("template");
    if (t == body.end() || !t->is_object() || !StringField(*t, "name")) {
      return Invalid("template.name is required");
    }
    auto lang = t->find("language");
    if (lang == t->end() || !lang->is_object() || !StringField(*lang, "code")) {
      return Invalid("template.language.code is required");
    }
    if (t->contains("components") && !(*t)["components"].is_array()) {
      return Invalid("template.components must be an array");
    }
  } else if (type == "interactive") {
    auto i = body.find("interactive");
    if (i == body.end() || !i->is_object() || !StringField(*i, "type")) {
      return Invalid("interactive.type is required");
    }
    auto b = i->find("body");
    if (b == i->end() || !b->is_object() || !StringField(*b, "text") ||
        StringField(*b, "text")->empty()) {
      return Invalid("interactive.body.text is required");
    }
    if ((*i)["type"] == "call_permission_request") {
      auto a = i->find("action");
      if (a == i->end() || !a->is_object() || a->value("name", "") != "call_permission_request") {
        return Invalid("interactive.action.name must be 'call_permission_request'");
      }
      permission_request = true;
    }
  } else {
    return Invalid(absl::StrCat("Unsupported message type '", type, "'"));
  }

  if (type != "template" && options_.enforce_service_window && !WindowOpen(number_id, user, now)) {
    return Refuse({.code = whatsapp::kMetaReEngagement,
                   .message = "Re-engagement message",
                   .details = "Message failed to send because more than 24 hours have passed "
                              "since the customer last replied to this number."});
  }
  std::string wamid = NewId("wamid.");
  if (permission_request) {
    if (auto e = book_.CheckRequest(number_id, user, now)) return Refuse(*e);
    book_.RecordRequest(number_id, user, now);
    last_request_[{number_id, user}] = wamid;
    UserBehaviour b = BehaviourOf(user);
    if (b.on_permission_request != PermissionAnswer::kIgnore &&
        b.permission_reply_after != absl::InfiniteDuration()) {
      PermissionReply reply{
          .accept = b.on_permission_request != PermissionAnswer::kReject,
          .permanent = b.on_permission_request == PermissionAnswer::kAcceptPermanent};
      scheduler_.After(b.permission_reply_after, [this, number_id, user, reply] {
        absl::MutexLock l(&mu_);
        GrantAndNotify(numbers_[number_id], user, reply);
      });
    }
  }
  SentMessage sent{.phone_number_id = number_id, .to = user, .type = type};
  if (type == "text") {
    sent.body = body.at("text").at("body").get<std::string>();
  } else if (type == "interactive") {
    sent.body = body.at("interactive").at("body").at("text").get<std::string>();
  } else {
    const Json& t = body.at("template");
    sent.body = t.value("name", "");
    for (const Json& c : t.value("components", Json::array())) {
      if (!c.is_object() || c.value("type", "") != "body") continue;
      for (const Json& p : c.value("parameters", Json::array())) {
        if (p.is_object() && p.value("type", "") == "text") {
          sent.template_parameters.push_back(p.value("text", ""));
        }
      }
    }
  }
  messages_.push_back(std::move(sent));
  if (messages_.size() > kMessagesKept) messages_.pop_front();
  Json message = {{"id", wamid}};
  if (type == "template") message["message_status"] = "accepted";
  *answer = {{"messaging_product", "whatsapp"},
             {"contacts", Json::array({{{"input", *to}, {"wa_id", user}}})},
             {"messages", Json::array({message})}};
  return std::nullopt;
}

std::optional<Refusal> Sim::Impl::CallPermissions(Number& number, const http::Request& r,
                                                  Json* answer) {
  std::optional<std::string> user = r.QueryParam("user_wa_id");
  if (!user || !IsDigits(Digits(*user))) return Invalid("user_wa_id is required");
  absl::Time now = clock_.Now();
  if (options_.call_permissions_per_minute > 0) {
    auto& reads = number.permission_reads;
    while (!reads.empty() && reads.front() <= now - absl::Minutes(1)) reads.pop_front();
    if (static_cast<int>(reads.size()) >= options_.call_permissions_per_minute) {
      return Refuse({.code = whatsapp::kMetaRateLimit,
                     .message = "(#613) Calls to this api have exceeded the rate limit."});
    }
    reads.push_back(now);
  }
  PermissionView view = book_.View(number.config.phone_number_id, Digits(*user), now);
  static constexpr const char* kStatus[] = {"no_permission", "temporary", "permanent"};
  Json permission = {{"status", kStatus[static_cast<int>(view.status)]}};
  if (view.expiration_time)
    permission["expiration_time"] = absl::ToUnixSeconds(*view.expiration_time);
  Json actions = Json::array();
  for (const PermissionActionView& a : view.actions) {
    Json limits = Json::array();
    for (const PermissionLimitView& l : a.limits) {
      Json lj = {{"time_period", l.time_period},
                 {"max_allowed", l.max_allowed},
                 {"current_usage", l.current_usage}};
      if (l.limit_expiration_time) {
        lj["limit_expiration_time"] = absl::ToUnixSeconds(*l.limit_expiration_time);
      }
      limits.push_back(std::move(lj));
    }
    actions.push_back({{"action_name", a.action_name},
                       {"can_perform_action", a.can_perform_action},
                       {"limits", std::move(limits)}});
  }
  *answer = {{"messaging_product", "whatsapp"},
             {"permission", std::move(permission)},
             {"actions", std::move(actions)}};
  return std::nullopt;
}

std::optional<Refusal> Sim::Impl::Settings(Number& number, const Json& body, Json* answer) {
  auto calling = body.find("calling");
  if (calling == body.end() || !calling->is_object()) return Invalid("calling is required");
  auto one_of = [&](const char* key, std::initializer_list<const char*> allowed) {
    if (!calling->contains(key)) return true;
    const Json& v = (*calling)[key];
    if (!v.is_string()) return false;
    for (const char* a : allowed) {
      if (v == a) return true;
    }
    return false;
  };
  if (!one_of("status", {"ENABLED", "DISABLED"})) return Invalid("calling.status");
  if (!one_of("call_icon_visibility", {"DEFAULT", "DISABLE_ALL"})) {
    return Invalid("calling.call_icon_visibility must be DEFAULT or DISABLE_ALL");
  }
  if (!one_of("callback_permission_status", {"ENABLED", "DISABLED"})) {
    return Invalid("calling.callback_permission_status must be ENABLED or DISABLED");
  }
  if (auto h = calling->find("call_hours"); h != calling->end()) {
    if (!h->is_object()) return Invalid("calling.call_hours must be an object");
    std::string status = h->value("status", "");
    if (status != "ENABLED" && status != "DISABLED") {
      return Invalid("call_hours.status must be ENABLED or DISABLED");
    }
    if (status == "ENABLED") {
      if (!StringField(*h, "timezone_id") || StringField(*h, "timezone_id")->empty()) {
        return Invalid("call_hours.timezone_id is required");
      }
      auto weekly = h->find("weekly_operating_hours");
      if (weekly == h->end() || !weekly->is_array() || weekly->empty()) {
        return Invalid("call_hours.weekly_operating_hours is required");
      }
      std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_day;
      for (const Json& w : *weekly) {
        std::string day = w.is_object() ? w.value("day_of_week", "") : "";
        if (WeekDays().count(day) == 0) return Invalid("day_of_week must be MONDAY..SUNDAY");
        if (!IsHhmm(w["open_time"]) || !IsHhmm(w["close_time"]) ||
            w["open_time"].get<std::string>() >= w["close_time"].get<std::string>()) {
          return Invalid("open_time and close_time must be HHMM with open before close");
        }
        auto& ranges = by_day[day];
        std::pair<std::string, std::string> range{w["open_time"], w["close_time"]};
        for (const auto& other : ranges) {
          if (range.first < other.second && other.first < range.second) {
            return Invalid(absl::StrCat("Overlapping operating hours on ", day));
          }
        }
        ranges.push_back(range);
        if (ranges.size() > 2) return Invalid(absl::StrCat("At most 2 ranges on ", day));
      }
      if (auto hol = h->find("holiday_schedule"); hol != h->end()) {
        if (!hol->is_array() || hol->size() > 20) {
          return Invalid("holiday_schedule must be an array of at most 20 dates");
        }
        for (const Json& d : *hol) {
          absl::Time t;
          std::string err;
          if (!d.is_object() || !StringField(d, "date") ||
              !absl::ParseTime("%Y-%m-%d", *StringField(d, "date"), &t, &err) ||
              !IsHhmm(d.value("start_time", Json())) || !IsHhmm(d.value("end_time", Json()))) {
            return Invalid("holiday_schedule entries need date YYYY-MM-DD, start/end_time HHMM");
          }
        }
      }
    }
  }
  number.settings.merge_patch(*calling);
  *answer = {{"success", true}};
  return std::nullopt;
}

absl::StatusOr<Json> Sim::Impl::Control(absl::string_view command, const Json& body) {
  auto str = [&](const char* key) { return body.is_object() ? body.value(key, "") : ""; };
  auto timeout = [&] {
    return absl::Milliseconds(body.is_object() ? body.value("timeout_ms", 10'000) : 10'000);
  };
  if (command == "call") {
    ASSIGN_OR_RETURN(std::string id, PlaceUserCall(str("phone_number_id"), str("from")));
    return Json{{"call_id", id}};
  }
  if (command == "message") {
    ASSIGN_OR_RETURN(std::string id,
                     SendUserMessage(str("phone_number_id"), str("from"), str("text")));
    return Json{{"message_id", id}};
  }
  if (command == "permission_reply") {
    std::string response = str("response");
    if (response != "accept" && response != "reject") {
      return ControlError("INVALID_REPLY", "response must be accept or reject");
    }
    PermissionReply reply{.accept = response == "accept",
                          .permanent = body.value("is_permanent", false),
                          .automatic = str("response_source") == "automatic"};
    RETURN_IF_ERROR(SendPermissionReply(str("phone_number_id"), str("from"), reply));
    return Json::object();
  }
  if (command == "hangup") {
    RETURN_IF_ERROR(HangUp(str("call_id")));
    return Json::object();
  }
  if (command == "behaviour") {
    std::string wa_id = str("wa_id");
    UserBehaviour b = BehaviourCopy(wa_id);
    RETURN_IF_ERROR(ApplyBehaviour(body, &b));
    if (wa_id.empty()) {
      SetDefaultBehaviour(b);
    } else {
      SetBehaviour(wa_id, b);
    }
    return BehaviourJson(b);
  }
  if (command == "faults") {
    if (auto w = body.find("webhooks"); w != body.end()) {
      ASSIGN_OR_RETURN(WebhookFaults f, ParseWebhookFaults(*w));
      SetWebhookFaults(f);
    }
    if (auto g = body.find("graph"); g != body.end()) {
      if (!g->is_array()) return ControlError("INVALID_SIM_CONFIG", "graph must be an array");
      for (const Json& f : *g) {
        ASSIGN_OR_RETURN(GraphFault fault, ParseGraphFault(f));
        AddGraphFault(fault);
      }
    }
    return Json::object();
  }
  if (command == "clear_faults") {
    ClearFaults();
    return Json::object();
  }
  if (command == "stats") return StatsJson(Stats());
  if (command == "calls") {
    Json calls = Json::array();
    for (const CallView& c : Calls()) {
      calls.push_back(
          {{"id", c.id},
           {"phone_number_id", c.phone_number_id},
           {"user", c.user},
           {"direction", c.business_initiated ? "BUSINESS_INITIATED" : "USER_INITIATED"},
           {"stage", std::string(CallStageName(c.stage))},
           {"end_status", c.end_status}});
    }
    return Json{{"calls", std::move(calls)}};
  }
  if (command == "permissions") {
    PermissionView v = Permissions(str("phone_number_id"), str("user_wa_id"));
    static constexpr const char* kStatus[] = {"no_permission", "temporary", "permanent"};
    Json out = {{"status", kStatus[static_cast<int>(v.status)]}};
    if (v.expiration_time) out["expiration_time"] = absl::ToUnixSeconds(*v.expiration_time);
    return out;
  }
  if (command == "drain") return Json{{"drained", WaitForOutboxDrained(timeout())}};
  if (command == "idle") return Json{{"idle", WaitIdle(timeout())}};
  return core::Error(absl::StatusCode::kNotFound, "UNKNOWN_COMMAND",
                     absl::StrCat("no control command '", command, "'"));
}

// ---- Sim ----

Sim::Sim(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sim::~Sim() { Stop(); }

absl::StatusOr<std::unique_ptr<Sim>> Sim::Start(SimOptions options, const core::Clock& clock) {
  std::set<std::string> ids;
  for (const BusinessNumber& n : options.numbers) {
    if (n.phone_number_id.empty() || n.access_token.empty() ||
        !ids.insert(n.phone_number_id).second) {
      return core::InvalidArgument("INVALID_SIM_CONFIG",
                                   "each number needs a unique phone_number_id and a token");
    }
  }
  auto impl = std::make_unique<Impl>(std::move(options), clock);
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Sim>(new Sim(std::move(impl)));
}

int Sim::port() const { return impl_->port(); }
std::string Sim::base_url() const { return impl_->base_url(); }
void Sim::Stop() { impl_->Stop(); }
void Sim::SetDefaultBehaviour(UserBehaviour b) { impl_->SetDefaultBehaviour(std::move(b)); }
void Sim::SetBehaviour(const std::string& wa_id, UserBehaviour b) {
  impl_->SetBehaviour(wa_id, std::move(b));
}
absl::StatusOr<std::string> Sim::PlaceUserCall(const std::string& number, const std::string& from) {
  return impl_->PlaceUserCall(number, from);
}
absl::StatusOr<std::string> Sim::SendUserMessage(const std::string& number, const std::string& from,
                                                 const std::string& text) {
  return impl_->SendUserMessage(number, from, text);
}
absl::Status Sim::SendPermissionReply(const std::string& number, const std::string& from,
                                      PermissionReply reply) {
  return impl_->SendPermissionReply(number, from, reply);
}
absl::Status Sim::HangUp(const std::string& call_id) { return impl_->HangUp(call_id); }
void Sim::SetWebhookFaults(WebhookFaults faults) { impl_->SetWebhookFaults(faults); }
void Sim::AddGraphFault(GraphFault fault) { impl_->AddGraphFault(std::move(fault)); }
void Sim::ClearFaults() { impl_->ClearFaults(); }
SimStats Sim::Stats() const { return impl_->Stats(); }
std::vector<CallView> Sim::Calls() const { return impl_->Calls(); }
std::vector<SentMessage> Sim::Messages() const { return impl_->Messages(); }
std::optional<CallView> Sim::Call(const std::string& id) const { return impl_->Call(id); }
PermissionView Sim::Permissions(const std::string& number, const std::string& user) {
  return impl_->Permissions(number, user);
}
bool Sim::WaitForOutboxDrained(absl::Duration timeout) {
  return impl_->WaitForOutboxDrained(timeout);
}
bool Sim::WaitIdle(absl::Duration timeout) { return impl_->WaitIdle(timeout); }

absl::StatusOr<std::string> Sim::Control(absl::string_view command, absl::string_view json_body) {
  Json body = json_body.empty() ? Json::object()
                                : Json::parse(json_body.begin(), json_body.end(), nullptr, false);
  if (body.is_discarded()) return ControlError("INVALID_JSON", "the body is not JSON");
  ASSIGN_OR_RETURN(Json out, impl_->Control(command, body));
  return out.dump();
}

}  // namespace switchboard::metasim
