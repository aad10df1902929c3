#include "libs/runtime/config.h"

#include <catch2/catch.hpp>
#include <map>

#include "libs/core/error.h"

using switchboard::core::ReasonOf;
using switchboard::runtime::Config;
using switchboard::runtime::ParseConfig;

namespace {

const std::string kSecret = "0123456789abcdef-secret";

absl::StatusOr<Config> Parse(std::vector<std::string> args,
                             std::map<std::string, std::string> env = {}) {
  return ParseConfig(args, [env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

}  // namespace

TEST_CASE("defaults, flags in both spellings, and the environment") {
  auto c = Parse({"--auth-secret=" + kSecret});
  REQUIRE(c.ok());
  CHECK(c->targets == std::vector<std::string>{"all"});
  CHECK(c->grpc_port == 50051);
  CHECK(c->kafka_brokers.empty());

  c = Parse({"--target", "calls,eligibility", "--grpc-port=0", "--drain-timeout=2s"},
            {{"SWITCHBOARD_AUTH_SECRET", kSecret},
             {"SWITCHBOARD_GRPC_PORT", "7000"},
             {"SWITCHBOARD_REDIS_URL", "redis://cache:6380/1"}});
  REQUIRE(c.ok());
  CHECK(c->targets == std::vector<std::string>{"calls", "eligibility"});
  CHECK(c->grpc_port == 0);  // the flag wins over the environment
  CHECK(c->redis_url == "redis://cache:6380/1");
  CHECK(c->drain_timeout == absl::Seconds(2));
}

TEST_CASE("bad values are refused with the flag named") {
  auto bad = [](std::vector<std::string> args) {
    args.insert(args.begin(), "--auth-secret=" + kSecret);
    auto c = Parse(args);
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(c.status().message());
  };
  CHECK(bad({"--grpc-port=70000"}).find("--grpc-port=70000") != std::string::npos);
  CHECK(bad({"--grpc-port=http"}).find("0-65535") != std::string::npos);
  CHECK(bad({"--metrics-port=-1"}).find("--metrics-port") != std::string::npos);
  CHECK(bad({"--drain-timeout=soon"}).find("duration") != std::string::npos);
  CHECK(bad({"--drain-timeout=1h"}).find("10m") != std::string::npos);
  CHECK(bad({"--log-level=loud"}).find("--log-level") != std::string::npos);
  CHECK(bad({"--redis-url=localhost:6379"}).find("redis://") != std::string::npos);
  CHECK(bad({"--postgres-url=mysql://x"}).find("postgresql://") != std::string::npos);
  CHECK(bad({"--target="}).find("empty target") != std::string::npos);
  CHECK(bad({"--grpc-port"}).find("needs a value") != std::string::npos);
  CHECK(bad({"stray"}).find("unexpected argument") != std::string::npos);
  CHECK(ReasonOf(Parse({"--colour=blue", "--auth-secret=" + kSecret}).status()) == "UNKNOWN_FLAG");
}

TEST_CASE("a bad environment value names the variable") {
  auto c = Parse({}, {{"SWITCHBOARD_AUTH_SECRET", kSecret}, {"SWITCHBOARD_GRPC_PORT", "x"}});
  REQUIRE_FALSE(c.ok());
  CHECK(std::string(c.status().message()).find("SWITCHBOARD_GRPC_PORT") != std::string::npos);
}

TEST_CASE("the signing secret is required, long enough, and never echoed") {
  CHECK(std::string(Parse({}).status().message()).find("--auth-secret") != std::string::npos);
  auto weak = Parse({"--auth-secret=short"});
  REQUIRE_FALSE(weak.ok());
  CHECK(std::string(weak.status().message()).find("short") == std::string::npos);
  CHECK(Parse({"--help"})->help);
}
