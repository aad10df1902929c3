#include "libs/runtime/config.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"

namespace switchboard::runtime {
namespace {

struct Flag {
  const char* name;
  const char* help;
  std::function<absl::Status(Config&, const std::string&)> set;
};

absl::Status Bad(absl::string_view flag, absl::string_view value, absl::string_view why) {
  return core::InvalidArgument("INVALID_FLAG", absl::StrCat("--", flag, "=", value, ": ", why),
                               {{"flag", std::string(flag)}});
}

std::function<absl::Status(Config&, const std::string&)> Port(int Config::*field,
                                                              const char* name) {
  return [field, name](Config& c, const std::string& v) -> absl::Status {
    int port;
    if (!absl::SimpleAtoi(v, &port) || port < 0 || port > 65535) {
      return Bad(name, v, "must be a port number 0-65535");
    }
    c.*field = port;
    return absl::OkStatus();
  };
}

// A duration in [min, max] (`range` says it for people: "between 1s and 10m, e.g. 30s").
std::function<absl::Status(Config&, const std::string&)> Duration(absl::Duration Config::*field,
                                                                  const char* name,
                                                                  absl::Duration min,
                                                                  absl::Duration max,
                                                                  const char* range) {
  return [=](Config& c, const std::string& v) -> absl::Status {
    absl::Duration d;
    if (!absl::ParseDuration(v, &d) || d < min || d > max) {
      return Bad(name, v, absl::StrCat("must be a duration ", range));
    }
    c.*field = d;
    return absl::OkStatus();
  };
}

// An integer in [min, max].
std::function<absl::Status(Config&, const std::string&)> Int(int Config::*field, const char* name,
                                                             int min, int max) {
  return [=](Config& c, const std::string& v) -> absl::Status {
    int n;
    if (!absl::SimpleAtoi(v, &n) || n < min || n > max) {
      return Bad(name, v, absl::StrCat("must be a whole number from ", min, " to ", max));
    }
    c.*field = n;
    return absl::OkStatus();
  };
}

std::function<absl::Status(Config&, const std::string&)> Text(std::string Config::*field) {
  return [field](Config& c, const std::string& v) {
    c.*field = v;
    return absl::OkStatus();
  };
}

const std::vector<Flag>& Flags() {
  static const auto* flags = new std::vector<Flag>{
      {"target",
       "services to run: all, or a comma list (eligibility,calls,routing,billing,"
       "notifications,webhooks)",
       [](Config& c, const std::string& v) -> absl::Status {
         std::vector<std::string> targets;
         for (absl::string_view t : absl::StrSplit(v, ',')) {
           t = absl::StripAsciiWhitespace(t);
           if (t.empty()) return Bad("target", v, "empty target name");
           targets.emplace_back(t);
         }
         c.targets = std::move(targets);
         return absl::OkStatus();
       }},
      {"listen-host", "address the servers bind to", Text(&Config::listen_host)},
      {"grpc-port", "gRPC port (0: any free port)", Port(&Config::grpc_port, "grpc-port")},
      {"metrics-port", "Prometheus /metrics port (0: any free port)",
       Port(&Config::metrics_port, "metrics-port")},
      {"kafka-brokers", "Kafka bootstrap servers; empty runs an embedded Kafka in-process",
       Text(&Config::kafka_brokers)},
      {"kafka-bootstrap-file", "where the embedded Kafka's address is written",
       Text(&Config::kafka_bootstrap_file)},
      {"kafka-config",
       "a file of librdkafka properties for --kafka-brokers (security.protocol, sasl.*, ssl.*); "
       "a value ${file:/path} is read from that file",
       Text(&Config::kafka_config)},
      {"kafka-create-topics",
       "on: create the suite's missing topics at start (with --kafka-brokers); off: only check "
       "that they exist",
       [](Config& c, const std::string& v) -> absl::Status {
         if (v != "on" && v != "off") return Bad("kafka-create-topics", v, "must be on or off");
         c.kafka_create_topics = v == "on";
         return absl::OkStatus();
       }},
      {"kafka-topic-partitions", "partitions of the topics --kafka-create-topics creates",
       Int(&Config::kafka_topic_partitions, "kafka-topic-partitions", 1, 1000)},
      {"kafka-topic-replication", "replicas of the topics --kafka-create-topics creates",
       Int(&Config::kafka_topic_replication, "kafka-topic-replication", 1, 10)},
      {"redis-url", "redis://[:password@]host:port/db",
       [](Config& c, const std::string& v) -> absl::Status {
         if (!absl::StartsWith(v, "redis://"))
           return Bad("redis-url", v, "must start with redis://");
         c.redis_url = v;
         return absl::OkStatus();
       }},
      {"postgres-url", "postgresql://user[:password]@host:port/db",
       [](Config& c, const std::string& v) -> absl::Status {
         if (!absl::StartsWith(v, "postgresql://") && !absl::StartsWith(v, "postgres://")) {
           return Bad("postgres-url", v, "must start with postgresql://");
         }
         c.postgres_url = v;
         return absl::OkStatus();
       }},
      {"auth-secret", "HS256 key that signs bearer tokens (at least 16 bytes; required)",
       [](Config& c, const std::string& v) -> absl::Status {
         if (v.size() < 16) return Bad("auth-secret", "<hidden>", "must be at least 16 bytes");
         c.auth_secret = v;
         return absl::OkStatus();
       }},
      {"auth-jwks-file",
       "a JWKS file of an identity provider's RS256/ES256 keys (tokens pick theirs by kid); "
       "re-read when it changes",
       Text(&Config::auth_jwks_file)},
      {"auth-issuer", "with --auth-jwks-file: the iss its tokens must carry exactly",
       Text(&Config::auth_issuer)},
      {"auth-audience", "with --auth-jwks-file: the aud its tokens must carry (or list)",
       Text(&Config::auth_audience)},
      {"drain-timeout", "how long in-flight calls may run after SIGTERM, e.g. 10s",
       Duration(&Config::drain_timeout, "drain-timeout", absl::ZeroDuration(), absl::Minutes(10),
                "between 0s and 10m, e.g. 10s")},
      {"max-call-time", "the longest a unary gRPC call may run, whatever its deadline, e.g. 30s",
       Duration(&Config::max_call_time, "max-call-time", absl::Seconds(1), absl::Minutes(10),
                "between 1s and 10m, e.g. 30s")},
      {"max-stream-time", "the longest a streaming gRPC call may run, e.g. 30m",
       Duration(&Config::max_stream_time, "max-stream-time", absl::Seconds(1), absl::Hours(24),
                "between 1s and 24h, e.g. 30m")},
      {"grpc-min-ping-interval",
       "how often a gRPC client may send keepalive pings, with or without calls, e.g. 5s",
       Duration(&Config::grpc_min_ping_interval, "grpc-min-ping-interval", absl::Seconds(1),
                absl::Minutes(10), "between 1s and 10m, e.g. 5s")},
      {"grpc-max-connection-age",
       "close gRPC connections after this long so clients rebalance, e.g. 30m",
       Duration(&Config::grpc_max_connection_age, "grpc-max-connection-age", absl::Seconds(10),
                absl::Hours(24), "between 10s and 24h, e.g. 30m")},
      {"grpc-max-connection-age-grace",
       "how long calls in flight may finish on a connection closed for its age, e.g. 5m",
       Duration(&Config::grpc_max_connection_age_grace, "grpc-max-connection-age-grace",
                absl::Seconds(1), absl::Hours(24), "between 1s and 24h, e.g. 5m")},
      {"log-level", "debug, info, warning or error",
       [](Config& c, const std::string& v) -> absl::Status {
         if (!log::ParseLevel(v, &c.log_level)) {
           return Bad("log-level", v, "must be debug, info, warning or error");
         }
         return absl::OkStatus();
       }},
      {"ready-file", "write the bound addresses here (JSON) once started",
       Text(&Config::ready_file)},
  };
  return *flags;
}

absl::Status CheckHostPort(absl::string_view flag, const std::string& v) {
  std::pair<std::string, std::string> hp = absl::StrSplit(v, absl::MaxSplits(':', 1));
  int port = 0;
  if (!v.empty() &&
      (hp.first.empty() || !absl::SimpleAtoi(hp.second, &port) || port < 1 || port > 65535)) {
    return Bad(flag, v, "must be host:port, e.g. eligibility:50051");
  }
  return absl::OkStatus();
}

std::string EnvName(absl::string_view flag) {
  std::string upper = absl::AsciiStrToUpper(flag);
  return absl::StrCat("SWITCHBOARD_", absl::StrReplaceAll(upper, {{"-", "_"}}));
}

absl::Status CheckModuleFlag(const FlagSpec& spec, const std::string& value) {
  if (!spec.check) return absl::OkStatus();
  absl::Status s = spec.check(value);
  if (s.ok()) return s;
  return Bad(spec.name, spec.secret ? "<hidden>" : value, s.message());
}

}  // namespace

FlagSpec TextFlag(std::string name, std::string help, std::string default_value, bool secret) {
  return {std::move(name), std::move(help), std::move(default_value), nullptr, secret};
}

FlagSpec PortFlag(std::string name, std::string help, int default_value) {
  return {std::move(name), std::move(help), absl::StrCat(default_value),
          [](const std::string& v) -> absl::Status {
            int port;
            if (!absl::SimpleAtoi(v, &port) || port < 0 || port > 65535) {
              return absl::InvalidArgumentError("must be a port number 0-65535");
            }
            return absl::OkStatus();
          }};
}

FlagSpec DurationFlag(std::string name, std::string help, absl::Duration default_value,
                      absl::Duration min, absl::Duration max) {
  return {std::move(name), std::move(help), absl::FormatDuration(default_value),
          [min, max](const std::string& v) -> absl::Status {
            absl::Duration d;
            if (!absl::ParseDuration(v, &d) || d < min || d > max) {
              return absl::InvalidArgumentError(absl::StrCat("must be a duration between ",
                                                             absl::FormatDuration(min), " and ",
                                                             absl::FormatDuration(max)));
            }
            return absl::OkStatus();
          }};
}

FlagSpec AddressFlag(std::string name, std::string help) {
  std::string flag = name;
  return {std::move(name), std::move(help), "", [flag](const std::string& v) -> absl::Status {
            absl::Status s = CheckHostPort(flag, v);
            return s.ok() ? s : absl::InvalidArgumentError("must be host:port, e.g. calls:50051");
          }};
}

FlagSpec UrlFlag(std::string name, std::string help, std::string default_value,
                 std::vector<std::string> schemes) {
  return {std::move(name), std::move(help), std::move(default_value),
          [schemes](const std::string& v) -> absl::Status {
            for (const auto& scheme : schemes) {
              if (absl::StartsWith(v, scheme) && v.size() > scheme.size()) {
                return absl::OkStatus();
              }
            }
            return absl::InvalidArgumentError(
                absl::StrCat("must start with ", absl::StrJoin(schemes, " or ")));
          }};
}

absl::Status CheckModuleFlags(const Config& config, const std::vector<FlagSpec>& module_flags) {
  std::map<std::string, const FlagSpec*> by_name;
  for (const FlagSpec& f : module_flags) by_name[f.name] = &f;
  for (const auto& [name, value] : config.flags) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return core::InvalidArgument("UNKNOWN_FLAG", absl::StrCat("unknown flag --", name),
                                   {{"flag", name}});
    }
    RETURN_IF_ERROR(CheckModuleFlag(*it->second, value));
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> ParseConfig(const std::vector<std::string>& args, const Getenv& getenv,
                                   const std::vector<FlagSpec>& module_flags) {
  Config config;
  std::map<std::string, const Flag*> by_name;
  for (const Flag& f : Flags()) by_name[f.name] = &f;
  std::map<std::string, const FlagSpec*> module_by_name;
  for (const FlagSpec& f : module_flags) module_by_name[f.name] = &f;

  // Environment first, flags override.
  for (const Flag& f : Flags()) {
    if (const char* v = getenv(EnvName(f.name).c_str()); v != nullptr) {
      RETURN_IF_ERROR(core::Annotate(f.set(config, v), EnvName(f.name)));
    }
  }
  for (const FlagSpec& f : module_flags) {
    if (const char* v = getenv(EnvName(f.name).c_str()); v != nullptr) {
      RETURN_IF_ERROR(core::Annotate(CheckModuleFlag(f, v), EnvName(f.name)));
      config.flags[f.name] = v;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      config.help = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      return core::InvalidArgument("INVALID_FLAG", absl::StrCat("unexpected argument: ", arg));
    }
    std::string name;
    std::string value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else {
      name = std::string(arg);
      if (i + 1 >= args.size()) {
        return core::InvalidArgument("INVALID_FLAG", absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    if (auto m = module_by_name.find(name); m != module_by_name.end()) {
      RETURN_IF_ERROR(CheckModuleFlag(*m->second, value));
      config.flags[name] = value;
      continue;
    }
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      return core::InvalidArgument("UNKNOWN_FLAG", absl::StrCat("unknown flag --", name),
                                   {{"flag", name}});
    }
    RETURN_IF_ERROR(it->second->set(config, value));
  }
  if (!config.help && config.auth_secret.empty()) {
    return core::InvalidArgument("INVALID_FLAG",
                                 "--auth-secret (or SWITCHBOARD_AUTH_SECRET) is required",
                                 {{"flag", "auth-secret"}});
  }
  if (config.auth_jwks_file.empty() &&
      (!config.auth_issuer.empty() || !config.auth_audience.empty())) {
    return Bad(config.auth_issuer.empty() ? "auth-audience" : "auth-issuer",
               config.auth_issuer.empty() ? config.auth_audience : config.auth_issuer,
               "applies to tokens verified with --auth-jwks-file, which is not set");
  }
  if (config.kafka_brokers.empty() && !config.kafka_config.empty()) {
    return Bad("kafka-config", config.kafka_config,
               "needs --kafka-brokers (the embedded Kafka takes no properties)");
  }
  return config;
}

std::string Usage(const std::vector<FlagSpec>& module_flags) {
  std::string out =
      "usage: switchboard [--flag=value ...]\n"
      "Runs Switchboard services. Each flag can also be set as SWITCHBOARD_<FLAG> in the "
      "environment.\n\n";
  for (const Flag& f : Flags()) {
    absl::StrAppend(&out, "  --", f.name, "\n      ", f.help, " [", EnvName(f.name), "]\n");
  }
  if (!module_flags.empty()) absl::StrAppend(&out, "\nthe services' own flags:\n");
  for (const FlagSpec& f : module_flags) {
    absl::StrAppend(&out, "  --", f.name, "\n      ", f.help);
    if (!f.default_value.empty()) absl::StrAppend(&out, " (default ", f.default_value, ")");
    absl::StrAppend(&out, " [", EnvName(f.name), "]\n");
  }
  return out;
}

}  // namespace switchboard::runtime
