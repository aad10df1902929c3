#include "libs/runtime/module.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"
#include "libs/runtime/service_module.h"

using switchboard::core::ReasonOf;
using switchboard::runtime::ModuleSpec;
using switchboard::runtime::Registry;

namespace {

Registry Suite() {
  Registry r;
  r.Add({.name = "kafka"});
  r.Add({.name = "redis"});
  r.Add({.name = "postgres"});
  r.Add({.name = "eligibility", .deps = {"redis", "postgres", "kafka"}, .target = true});
  r.Add({.name = "calls", .deps = {"postgres", "kafka"}, .target = true});
  r.Add({.name = "notifications", .deps = {"kafka"}, .target = true});
  return r;
}

std::vector<std::string> Names(const std::vector<const ModuleSpec*>& specs) {
  std::vector<std::string> names;
  for (const auto* s : specs) names.push_back(s->name);
  return names;
}

}  // namespace

TEST_CASE("a target brings its dependencies, started first, each once") {
  Registry r = Suite();
  CHECK(Names(*r.Resolve({"calls"})) == std::vector<std::string>{"postgres", "kafka", "calls"});
  CHECK(Names(*r.Resolve({"notifications", "calls"})) ==
        std::vector<std::string>{"kafka", "notifications", "postgres", "calls"});
  auto all = Names(*r.Resolve({"all"}));
  CHECK(all.size() == 6);
  CHECK(all.back() == "notifications");  // targets in name order, each after its deps
}

TEST_CASE("unknown targets and infrastructure names are refused, cycles too") {
  Registry r = Suite();
  auto unknown = r.Resolve({"billing"});
  CHECK(ReasonOf(unknown.status()) == "UNKNOWN_TARGET");
  CHECK(std::string(unknown.status().message()).find("known: all, calls, eligibility") !=
        std::string::npos);
  CHECK(ReasonOf(r.Resolve({"redis"}).status()) == "UNKNOWN_TARGET");

  r.Add({.name = "a", .deps = {"b"}, .target = true});
  r.Add({.name = "b", .deps = {"a"}});
  CHECK(ReasonOf(r.Resolve({"a"}).status()) == "DEPENDENCY_CYCLE");
}

TEST_CASE("only a live consumer on the embedded Kafka shortens its fetch wait") {
  using switchboard::runtime::FetchWait;
  using switchboard::runtime::Urgency;
  const absl::Duration background = switchboard::kafka::ConsumerOptions().max_wait;
  CHECK(background == absl::Milliseconds(100));
  CHECK(FetchWait(Urgency::kLive, /*kafka_embedded=*/true) == absl::Milliseconds(5));
  // Brokers answer a waiting fetch as soon as a record arrives: nothing to gain there.
  CHECK(FetchWait(Urgency::kLive, /*kafka_embedded=*/false) == background);
  CHECK(FetchWait(Urgency::kBackground, /*kafka_embedded=*/true) == background);
  CHECK(FetchWait(Urgency::kBackground, /*kafka_embedded=*/false) == background);
}
