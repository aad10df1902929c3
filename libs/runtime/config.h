// The binary's configuration: flags, each also read from SWITCHBOARD_<FLAG> in the environment
// (flags win). Bad values are refused with a one-line reason; the binary exits with code 2.
//
//   ASSIGN_OR_RETURN(runtime::Config config, runtime::ParseConfig(args, getenv));
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/log.h"

namespace switchboard::runtime {

// A flag a module declares for itself (Loki's RegisterFlags): the runtime parses and checks it
// with the process's own flags, and the module reads its value from Context::Flag. Like every
// flag it can also be given as SWITCHBOARD_<FLAG>.
struct FlagSpec {
  std::string name;  // without the dashes, e.g. "ring-timeout"
  std::string help;
  std::string default_value;
  // Refuses a bad value with the reason the user sees (nullptr: any text is fine).
  std::function<absl::Status(const std::string& value)> check;
  bool secret = false;  // never echoed in an error
};

// Builders for the common kinds of module flag.
FlagSpec TextFlag(std::string name, std::string help, std::string default_value = "",
                  bool secret = false);
FlagSpec PortFlag(std::string name, std::string help, int default_value);
FlagSpec DurationFlag(std::string name, std::string help, absl::Duration default_value,
                      absl::Duration min, absl::Duration max);
// host:port, or empty.
FlagSpec AddressFlag(std::string name, std::string help);
// A URL starting with one of `schemes` ("http://", "https://").
FlagSpec UrlFlag(std::string name, std::string help, std::string default_value,
                 std::vector<std::string> schemes);

struct Config {
  std::vector<std::string> targets = {"all"};
  std::string listen_host = "0.0.0.0";
  int grpc_port = 50051;      // 0: any free port (tests)
  int metrics_port = 9464;    // 0: any free port
  std::string kafka_brokers;  // empty: an embedded, in-process Kafka
  std::string kafka_bootstrap_file = "switchboard-kafka.bootstrap";
  // With kafka_brokers: a file of librdkafka properties (TLS, SASL; kafka/properties.h).
  std::string kafka_config;
  // With kafka_brokers: create the suite's missing topics at start with these partitions and
  // replicas, instead of checking that they exist (the embedded Kafka always has them).
  bool kafka_create_topics = false;
  int kafka_topic_partitions = 12;
  int kafka_topic_replication = 3;
  std::string redis_url = "redis://127.0.0.1:6379/0";
  std::string postgres_url = "postgresql://switchboard@127.0.0.1:5432/switchboard";
  std::string auth_secret;
  // An identity provider's keys (RS256/ES256 tokens, e.g. OIDC), and the iss/aud its tokens
  // must carry (auth::VerifierOptions).
  std::string auth_jwks_file;
  std::string auth_issuer;
  std::string auth_audience;
  absl::Duration drain_timeout = absl::Seconds(10);
  // The longest any unary call, and any stream, may run, whatever the client's deadline
  // (call_limits.h).
  absl::Duration max_call_time = absl::Seconds(30);
  absl::Duration max_stream_time = absl::Minutes(30);
  // Keepalive: clients may ping this often, with or without calls in flight (more often is a
  // strike; two strikes and the connection gets GOAWAY too_many_pings).
  absl::Duration grpc_min_ping_interval = absl::Seconds(5);
  // A connection is sent GOAWAY after this long (spread ±10 % by gRPC), so clients reconnect
  // and a Service rebalances after a scale-out; calls in flight get max_connection_age_grace.
  absl::Duration grpc_max_connection_age = absl::Minutes(30);
  absl::Duration grpc_max_connection_age_grace = absl::Minutes(5);
  log::Level log_level = log::Level::kInfo;
  std::string ready_file;  // written (JSON with the bound addresses) once everything started
  bool help = false;
  // The modules' own flags as given (FlagSpec), by name; a module reads them, defaults filled
  // in, through Context::Flag.
  std::map<std::string, std::string> flags;
};

using Getenv = std::function<const char*(const char*)>;

// `args` excludes the program name; `module_flags` are the flags the registered modules declare
// (Registry::Flags).
absl::StatusOr<Config> ParseConfig(const std::vector<std::string>& args, const Getenv& getenv,
                                   const std::vector<FlagSpec>& module_flags = {});

// Checks the module flags a Config carries (set in code by tests, or parsed): each must be
// declared and its value must pass the check. UNKNOWN_FLAG / INVALID_FLAG.
absl::Status CheckModuleFlags(const Config& config, const std::vector<FlagSpec>& module_flags);

std::string Usage(const std::vector<FlagSpec>& module_flags = {});

}  // namespace switchboard::runtime
