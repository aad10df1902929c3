#include "libs/runtime/module.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"

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
