// The binary's configuration: flags, each also read from SWITCHBOARD_<FLAG> in the environment
// (flags win). Bad values are refused with a one-line reason; the binary exits with code 2.
//
//   ASSIGN_OR_RETURN(runtime::Config config, runtime::ParseConfig(args, getenv));
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/log.h"

namespace switchboard::runtime {

struct Config {
  std::vector<std::string> targets = {"all"};
  std::string listen_host = "0.0.0.0";
  int grpc_port = 50051;      // 0: any free port (tests)
  int metrics_port = 9464;    // 0: any free port
  int webhooks_port = 8080;   // the webhooks target's HTTP edge
  std::string kafka_brokers;  // empty: an embedded, in-process Kafka
  std::string kafka_bootstrap_file = "switchboard-kafka.bootstrap";
  std::string redis_url = "redis://127.0.0.1:6379/0";
  std::string postgres_url = "postgresql://switchboard@127.0.0.1:5432/switchboard";
  std::string auth_secret;
  // Meta (WhatsApp Cloud API): the default app's secret and verify token, the default access
  // token, a JSON file with more apps and per-number tokens, and where the Graph API is.
  std::string meta_app_secret;
  std::string meta_verify_token;
  std::string meta_access_token;
  std::string meta_credentials_file;
  std::string meta_graph_url = "https://graph.facebook.com";
  std::string meta_api_version = "v23.0";
  absl::Duration drain_timeout = absl::Seconds(10);
  // Inbound calls nobody answers are MISSED after this (Meta gives up after 30-60 s).
  absl::Duration ring_timeout = absl::Seconds(30);
  // Where the calls target reaches eligibility (ReserveCall); empty: in this process.
  std::string eligibility_address;
  log::Level log_level = log::Level::kInfo;
  std::string ready_file;  // written (JSON with the bound addresses) once everything started
  bool help = false;
};

using Getenv = std::function<const char*(const char*)>;

// `args` excludes the program name.
absl::StatusOr<Config> ParseConfig(const std::vector<std::string>& args, const Getenv& getenv);

std::string Usage();

}  // namespace switchboard::runtime
