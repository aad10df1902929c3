#include "libs/runtime/grpc.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/trace.h"
#include "libs/runtime/call_limits.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "switchboard/api/v1/annotations.pb.h"

namespace switchboard::runtime {
namespace {

// The verified principal of each call in flight, by server context. Filled by the interceptor
// before the handler runs; erased when the call ends.
class CallPrincipals {
 public:
  static CallPrincipals& Get() {
    static auto* instance = new CallPrincipals();
    return *instance;
  }
  void Put(const grpc::ServerContextBase* ctx, absl::StatusOr<auth::Principal> p) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    s.calls.insert_or_assign(ctx, Entry{std::move(p), false});
  }
  void Erase(const grpc::ServerContextBase* ctx) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    s.calls.erase(ctx);
  }
  // The caller, for the handler: marks the call as handled (its request decoded).
  absl::StatusOr<auth::Principal> Find(const grpc::ServerContextBase* ctx) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    auto it = s.calls.find(ctx);
    if (it == s.calls.end()) {
      return core::Error(absl::StatusCode::kUnauthenticated, "TOKEN_MISSING",
                         "a bearer token is required");
    }
    it->second.handled = true;
    return it->second.principal;
  }
  // Refuses the call before its handler runs (the handler gets `why` instead of the caller).
  void Refuse(const grpc::ServerContextBase* ctx, absl::Status why) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    auto it = s.calls.find(ctx);
    if (it != s.calls.end() && it->second.principal.ok()) it->second.principal = std::move(why);
  }
  // Whether a handler asked for the caller: a call that ends without one never had its
  // request decoded.
  bool Handled(const grpc::ServerContextBase* ctx) {
    Shard& s = ShardOf(ctx);
    absl::MutexLock lock(&s.mu);
    auto it = s.calls.find(ctx);
    return it != s.calls.end() && it->second.handled;
  }

 private:
  // Every call touches this three times: shards keep concurrent calls off each other's lock.
  struct Entry {
    absl::StatusOr<auth::Principal> principal;
    bool handled = false;
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<const grpc::ServerContextBase*, Entry> calls ABSL_GUARDED_BY(mu);
  };
  Shard& ShardOf(const grpc::ServerContextBase* ctx) {
    return shards_[(reinterpret_cast<uintptr_t>(ctx) >> 6) % kShards];
  }
  static constexpr size_t kShards = 16;
  Shard shards_[kShards];
};

// RED metrics per method: rate and errors from the counter, duration from the histogram.
class RedMetrics {
 public:
  explicit RedMetrics(prometheus::Registry& registry)
      : handled_(prometheus::BuildCounter()
                     .Name("switchboard_grpc_server_handled_total")
                     .Help("gRPC calls completed, by service, method and status code.")
                     .Register(registry)),
        seconds_(prometheus::BuildHistogram()
                     .Name("switchboard_grpc_server_handling_seconds")
                     .Help("Time from receiving a gRPC call's metadata to sending its status.")
                     .Register(registry)) {}

  void Record(const std::string& method, grpc::StatusCode code, absl::Duration took) {
    // `method` is a served method or "/unknown/unknown": the label values are bounded.
    std::string counter_key = absl::StrCat(method, "|", static_cast<int>(code));
    prometheus::Counter* counter = nullptr;
    prometheus::Histogram* histogram = nullptr;
    {
      absl::ReaderMutexLock lock(&mu_);
      auto c = counters_.find(counter_key);
      auto h = histograms_.find(method);
      if (c != counters_.end() && h != histograms_.end()) {
        counter = c->second;
        histogram = h->second;
      }
    }
    if (counter == nullptr) {
      absl::MutexLock lock(&mu_);
      auto [c, c_new] = counters_.try_emplace(counter_key, nullptr);
      auto [h, h_new] = histograms_.try_emplace(method, nullptr);
      if (c_new || h_new) {
        auto [service, name] = Split(method);
        if (c_new) {
          c->second = &handled_.Add(
              {{"grpc_service", service}, {"grpc_method", name}, {"grpc_code", CodeName(code)}});
        }
        if (h_new) {
          h->second = &seconds_.Add(
              {{"grpc_service", service}, {"grpc_method", name}},
              prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
        }
      }
      counter = c->second;
      histogram = h->second;
    }
    counter->Increment();
    histogram->Observe(absl::ToDoubleSeconds(took));
  }

 private:
  static std::pair<std::string, std::string> Split(const std::string& method) {
    // "/switchboard.calls.v1.CallsService/GetCall"
    size_t slash = method.rfind('/');
    if (slash == std::string::npos || slash == 0) return {"unknown", method};
    return {method.substr(1, slash - 1), method.substr(slash + 1)};
  }
  static std::string CodeName(grpc::StatusCode code) {
    static const char* kNames[] = {
        "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
        "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
        "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
        "DataLoss", "Unauthenticated"};
    int i = static_cast<int>(code);
    return i >= 0 && i <= 16 ? kNames[i] : "Unknown";
  }

  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, prometheus::Counter*> counters_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, prometheus::Histogram*> histograms_ ABSL_GUARDED_BY(mu_);
};

using grpc::experimental::InterceptionHookPoints;

// The path of the first string field of `m` (searched depth-first, repeated and map fields
// included) that is not UTF-8, or "". proto3 requires strings to be UTF-8; the C++ parser only
// logs when they are not.
std::string FirstInvalidUtf8(const google::protobuf::Message& m, int depth = 0) {
  using google::protobuf::FieldDescriptor;
  if (depth > 32) return "";
  const auto* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          if (!api::IsValidUtf8(r->GetRepeatedStringReference(m, f, i, nullptr))) {
            return absl::StrCat(f->name(), "[", i, "]");
          }
        }
      } else {
        std::string scratch;
        if (!api::IsValidUtf8(r->GetStringReference(m, f, &scratch))) return f->name();
      }
    } else if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          std::string inner = FirstInvalidUtf8(r->GetRepeatedMessage(m, f, i), depth + 1);
          if (!inner.empty()) return absl::StrCat(f->name(), "[", i, "].", inner);
        }
      } else {
        std::string inner = FirstInvalidUtf8(r->GetMessage(m, f), depth + 1);
        if (!inner.empty()) return absl::StrCat(f->name(), ".", inner);
      }
    }
  }
  return "";
}

// What the edge knows of each served method: the roles it admits (its
// (switchboard.api.v1.roles) options) and the longest it may run.
struct MethodLimits {
  std::vector<std::string> roles;
  absl::Duration max;
};
using MethodTable = absl::flat_hash_map<std::string, MethodLimits>;

MethodTable MethodsOf(const std::set<std::string>& served, absl::Duration max_call,
                      absl::Duration max_stream) {
  MethodTable table;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& path : served) {
    MethodLimits& m = table[path];
    m.roles = MethodRoles(path);
    m.max = max_call;
    std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
    const auto* service =
        parts.size() == 3 ? pool->FindServiceByName(std::string(parts[1])) : nullptr;
    const auto* method = service ? service->FindMethodByName(std::string(parts[2])) : nullptr;
    if (method != nullptr && (method->server_streaming() || method->client_streaming())) {
      m.max = max_stream;
    }
  }
  return table;
}

// PERMISSION_DENIED unless `caller` holds one of `roles`; the reason names the first
// (<ROLE>_ROLE_REQUIRED, as a handler's api::RequireRole says it), metadata lists them all.
absl::Status Admit(const auth::Principal& caller, const std::vector<std::string>& roles) {
  if (roles.empty()) {
    return core::Error(absl::StatusCode::kPermissionDenied, "METHOD_ROLES_UNDECLARED",
                       "this method names no role that may call it, so none may");
  }
  for (const std::string& role : roles) {
    if (caller.HasRole(role)) return absl::OkStatus();
  }
  const std::string& first = roles.front();
  return core::Error(absl::StatusCode::kPermissionDenied,
                     absl::StrCat(absl::AsciiStrToUpper(first), api::kRoleRequiredSuffix),
                     absl::StrCat("this needs one of the roles ", absl::StrJoin(roles, ", ")),
                     {{"role", first}, {"roles", absl::StrJoin(roles, ",")}});
}

class Interceptor final : public grpc::experimental::Interceptor {
 public:
  Interceptor(grpc::experimental::ServerRpcInfo* info, const auth::TokenVerifier& verifier,
              RedMetrics& metrics, const MethodTable& methods)
      : ctx_(info->server_context()),
        method_(info->method()),
        verifier_(verifier),
        metrics_(metrics) {
    exempt_ = absl::StartsWith(method_, "/grpc.health.v1.Health/") ||
              absl::StartsWith(method_, "/grpc.reflection.");
    auto it = methods.find(method_);
    if (it != methods.end()) limits_ = &it->second;
    metric_method_ = exempt_ || limits_ != nullptr ? method_ : "/unknown/unknown";
  }
  ~Interceptor() override {
    if (limits_ != nullptr) CallLimits::Get().End(ctx_);
    if (!exempt_) CallPrincipals::Get().Erase(ctx_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      start_ = absl::Now();
      if (limits_ != nullptr) CallLimits::Get().Begin(ctx_, limits_->max, method_);
      if (!exempt_) Authenticate(*methods->GetRecvInitialMetadata());
    }
    if (!exempt_ && auth_.ok() &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      if (const auto* request =
              static_cast<const google::protobuf::Message*>(methods->GetRecvMessage())) {
        decoded_ = true;
        std::string field = FirstInvalidUtf8(*request);
        if (!field.empty()) {
          CallPrincipals::Get().Refuse(
              ctx_,
              core::InvalidArgument(api::kUndecodableRequest, absl::StrCat(field, " is not UTF-8"),
                                    {{"field", field}}));
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      std::optional<std::string> cut;
      if (limits_ != nullptr) cut = CallLimits::Get().End(ctx_);
      // Whatever the handler did, an unauthenticated call gets nothing but this answer.
      if (cut.has_value()) {
        // Cut by the server's limits (the client sees the cancellation; this is for the metrics).
        status = ToGrpcStatus(core::Error(absl::StatusCode::kDeadlineExceeded, *cut,
                                          "the call ran past the server's limit"));
        methods->ModifySendStatus(status);
      } else if (!auth_.ok()) {
        status = ToGrpcStatus(auth_);
        methods->ModifySendStatus(status);
      } else if (!exempt_ && !decoded_ &&
                 (status.error_code() == grpc::StatusCode::INTERNAL ||
                  status.error_code() == grpc::StatusCode::UNIMPLEMENTED) &&
                 !CallPrincipals::Get().Handled(ctx_) && metric_method_ != "/unknown/unknown") {
        // gRPC could not decode the request (truncated, or not the method's message), so no
        // handler ran (the synchronous API says INTERNAL, the callback API UNIMPLEMENTED): the
        // caller's fault, said the way every handler says it.
        status = ToGrpcStatus(core::InvalidArgument(
            api::kUndecodableRequest,
            "the request does not decode as the method's message (is every string UTF-8?)"));
        methods->ModifySendStatus(status);
      }
      metrics_.Record(metric_method_, status.error_code(), absl::Now() - start_);
    }
    methods->Proceed();
  }

 private:
  void Authenticate(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    absl::string_view token;
    auto it = metadata.find("authorization");
    if (it != metadata.end()) {
      absl::string_view value(it->second.data(), it->second.size());
      if (value.size() > 7 && absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
        token = absl::StripAsciiWhitespace(value.substr(7));
      }
    }
    absl::StatusOr<auth::Principal> principal = verifier_.Verify(token);
    // An unknown path has no handler (gRPC answers UNIMPLEMENTED); a known one admits only
    // the roles its proto names, before the request is even read.
    if (principal.ok() && limits_ != nullptr) {
      absl::Status admitted = Admit(*principal, limits_->roles);
      if (!admitted.ok()) principal = std::move(admitted);
    }
    auth_ = principal.status();
    CallPrincipals::Get().Put(ctx_, std::move(principal));
  }

  const grpc::ServerContextBase* ctx_;
  std::string method_;
  std::string metric_method_;
  const auth::TokenVerifier& verifier_;
  RedMetrics& metrics_;
  const MethodLimits* limits_ = nullptr;  // null for exempt and unknown paths
  bool exempt_ = false;
  bool decoded_ = false;  // the request message arrived and parsed
  absl::Time start_ = absl::Now();
  absl::Status auth_;
};

class InterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  InterceptorFactory(const auth::TokenVerifier& verifier, prometheus::Registry& registry,
                     const std::set<std::string>& served, absl::Duration max_call,
                     absl::Duration max_stream)
      : verifier_(verifier),
        metrics_(registry),
        methods_(MethodsOf(served, max_call, max_stream)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new Interceptor(info, verifier_, metrics_, methods_);
  }

 private:
  const auth::TokenVerifier& verifier_;
  RedMetrics metrics_;
  const MethodTable methods_;
};

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status rpc;
  rpc.set_code(static_cast<int>(status.code()));
  rpc.set_message(std::string(status.message()));
  std::string reason = core::ReasonOf(status);
  if (!reason.empty()) {
    google::rpc::ErrorInfo info;
    info.set_reason(reason);
    info.set_domain(kErrorDomain);
    for (const auto& [k, v] : core::MetadataOf(status)) (*info.mutable_metadata())[k] = v;
    rpc.add_details()->PackFrom(info);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      rpc.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  google::rpc::Status rpc;
  if (!status.error_details().empty() && rpc.ParseFromString(status.error_details())) {
    for (const auto& any : rpc.details()) {
      google::rpc::ErrorInfo info;
      if (any.UnpackTo(&info)) {
        core::ErrorMetadata md(info.metadata().begin(), info.metadata().end());
        return core::Error(code, info.reason(), status.error_message(), md);
      }
    }
  }
  return absl::Status(code, status.error_message());
}

absl::StatusOr<auth::Principal> Caller(const grpc::ServerContextBase* ctx) {
  return CallPrincipals::Get().Find(ctx);
}

grpc::Status Handle(const grpc::ServerContextBase* ctx,
                    const std::function<absl::Status(const auth::Principal&)>& fn) {
  // The handler's work belongs to the caller's trace (traceparent), or starts one: its log lines,
  // the peers it calls and the events it writes all carry it.
  const auto& md = ctx->client_metadata();
  auto traceparent = md.find("traceparent");
  core::TraceScope trace(core::ContinueTrace(
      traceparent == md.end()
          ? absl::string_view()
          : absl::string_view(traceparent->second.data(), traceparent->second.size())));
  absl::StatusOr<auth::Principal> caller = Caller(ctx);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return ToGrpcStatus(fn(*caller));
}

std::unique_ptr<grpc::ClientContext> Forward(const grpc::ServerContextBase* incoming,
                                             absl::Duration max) {
  // gRPC's own propagation carries the deadline (the child's is the earlier of the two) and the
  // cancellation; it needs the server call, which only a synchronous or callback context has.
  std::unique_ptr<grpc::ClientContext> client;
  if (const auto* sync = dynamic_cast<const grpc::ServerContext*>(incoming)) {
    client = grpc::ClientContext::FromServerContext(*sync);
  } else if (const auto* callback = dynamic_cast<const grpc::CallbackServerContext*>(incoming)) {
    client = grpc::ClientContext::FromCallbackServerContext(*callback);
  } else {
    client = std::make_unique<grpc::ClientContext>();
  }
  absl::Time deadline = absl::Now() + max;
  if (incoming != nullptr) {
    const auto& md = incoming->client_metadata();
    for (const char* key : {"authorization", "x-correlation-id", "traceparent", "tracestate"}) {
      if (auto it = md.find(key); it != md.end()) {
        // Inside a handler the current span is the peer's parent, not the caller's.
        if (absl::string_view(key) == "traceparent" && core::CurrentTrace() != nullptr) continue;
        client->AddMetadata(key, std::string(it->second.data(), it->second.size()));
      }
    }
  }
  if (std::string trace = core::CurrentTraceparent(); !trace.empty()) {
    client->AddMetadata("traceparent", trace);
  }
  if (incoming != nullptr) {
    absl::Time theirs = absl::FromChrono(incoming->deadline());
    if (theirs < deadline) deadline = theirs;
  }
  client->set_deadline(absl::ToChronoTime(deadline));
  return client;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeInterceptorFactory(
    const auth::TokenVerifier& verifier, prometheus::Registry& metrics,
    std::set<std::string> served_methods, absl::Duration max_call, absl::Duration max_stream) {
  return std::make_unique<InterceptorFactory>(verifier, metrics, served_methods, max_call,
                                              max_stream);
}

std::vector<std::string> MethodRoles(absl::string_view path) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() != 3 || !parts[0].empty()) return {};
  const auto* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(parts[1]));
  if (service == nullptr) return {};
  const auto* method = service->FindMethodByName(std::string(parts[2]));
  if (method == nullptr) return {};
  const google::protobuf::MethodOptions& options = method->options();
  std::vector<std::string> roles;
  for (int i = 0; i < options.ExtensionSize(api::v1::roles); ++i) {
    roles.push_back(options.GetExtension(api::v1::roles, i));
  }
  return roles;
}

std::set<std::string> MethodPaths(const std::vector<std::string>& service_names) {
  std::set<std::string> paths;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const auto& name : service_names) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      paths.insert(absl::StrCat("/", name, "/", service->method(i)->name()));
    }
  }
  return paths;
}

}  // namespace switchboard::runtime
