#include "services/calls/probe.h"

#include <catch2/catch.hpp>

#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace calls = switchboard::calls;

namespace {

std::string Scrape(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace

TEST_CASE("Meta rejecting the token starts at 0 for every action, so its first time is seen") {
  prometheus::Registry registry;
  calls::Probe probe(&registry);
  const std::string before = Scrape(registry);
  for (const char* action :
       {"connect", "pre_accept", "accept", "reject", "terminate", "call_permission_request"}) {
    INFO(before);
    CHECK(before.find(std::string("switchboard_calls_graph_requests_total{action=\"") + action +
                      "\",outcome=\"META_190\"} 0") != std::string::npos);
  }
  probe.Graph("accept", "META_190");
  probe.Graph("accept", "ok");
  const std::string after = Scrape(registry);
  INFO(after);
  CHECK(after.find("{action=\"accept\",outcome=\"META_190\"} 1") != std::string::npos);
  CHECK(after.find("{action=\"accept\",outcome=\"ok\"} 1") != std::string::npos);
  CHECK(after.find("{action=\"connect\",outcome=\"META_190\"} 0") != std::string::npos);
}

TEST_CASE("a probe without a registry counts nothing and does not fail") {
  calls::Probe probe(nullptr);
  probe.Graph("connect", "ok");
  switchboard::calls::v1::Call call;
  probe.Finished(call);
}
