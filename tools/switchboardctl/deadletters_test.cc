// `switchboardctl deadletters` against a real (embedded) Kafka: a consumer refuses a record as
// poison, the operator lists it, fixes the cause and puts it back; the consumer applies it.
#include <atomic>
#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/wrappers.pb.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/kafka/embedded.h"
#include "libs/kafka/kafka.h"
#include "nlohmann/json.hpp"
#include "tests/support/servers.h"

namespace kafka = switchboard::kafka;
namespace testing = switchboard::testing;

namespace {

std::string Text(const kafka::Message& m) {
  google::protobuf::StringValue v;
  v.ParseFromString(m.event.payload);
  return v.value();
}

// The CLI's stdout (its logs and stderr dropped) and exit code.
int Cli(const std::string& bootstrap, const std::string& args, std::string* out) {
  return testing::Run(absl::StrCat("env -u SWITCHBOARD_OUTPUT " SWITCHBOARDCTL_BIN " deadletters ",
                                   args, " --kafka=", bootstrap, " 2>/dev/null"),
                      out);
}

}  // namespace

TEST_CASE("an operator lists a refused record and, once the cause is fixed, puts it back") {
  auto cluster = kafka::EmbeddedCluster::Start();
  REQUIRE(cluster.ok());
  const std::string topic = absl::StrCat("test.", switchboard::core::NewId());
  REQUIRE((*cluster)->CreateTopics({{topic, 2}, {kafka::kDeadLetters, 3}}).ok());
  auto producer = kafka::Producer::Create({.brokers = (*cluster)->bootstrap()});
  REQUIRE(producer.ok());

  // The handler refuses "needs-plan" until the plan exists (a bug, or a missing migration).
  std::atomic<bool> plan_exists{false};
  absl::Mutex mu;
  std::vector<std::string> applied;
  auto consumer = kafka::Consumer::Create({.brokers = (*cluster)->bootstrap(),
                                           .group_id = "billing.calls",
                                           .topics = {topic},
                                           .dead_letters = producer->get()},
                                          [&](const kafka::Message& m) -> absl::Status {
                                            if (Text(m) == "needs-plan" && !plan_exists.load()) {
                                              return switchboard::core::Error(
                                                  absl::StatusCode::kFailedPrecondition,
                                                  "PLAN_MISSING", "the tenant has no plan");
                                            }
                                            absl::MutexLock lock(&mu);
                                            applied.push_back(Text(m));
                                            return absl::OkStatus();
                                          });
  REQUIRE(consumer.ok());
  (*consumer)->Start();
  auto applied_now = [&] {
    absl::MutexLock lock(&mu);
    return applied;
  };

  google::protobuf::StringValue v;
  v.set_value("needs-plan");
  kafka::Event refused = kafka::MakeEvent(v, "call-7", "calls");
  v.set_value("fine");
  REQUIRE((*producer)->PublishAndWait(topic, refused, absl::Seconds(10)).ok());
  REQUIRE((*producer)
              ->PublishAndWait(topic, kafka::MakeEvent(v, "call-8", "calls"), absl::Seconds(10))
              .ok());
  REQUIRE(testing::Eventually([&] { return applied_now().size() == 1; }));

  std::string out;
  REQUIRE(testing::Eventually([&] {
    out.clear();
    return Cli((*cluster)->bootstrap(), "list --output=json", &out) == 0 &&
           absl::StrContains(out, refused.id);
  }));
  nlohmann::json line = nlohmann::json::parse(out.substr(0, out.find('\n')));
  CHECK(line["ce_id"] == refused.id);
  CHECK(line["ce_type"] == "google.protobuf.StringValue");
  CHECK(line["key"] == "call-7");
  CHECK(line["topic"] == topic);
  CHECK(line["group"] == "billing.calls");
  CHECK(line["reason"] == "PLAN_MISSING");
  CHECK(line["error"] == "the tenant has no plan");

  out.clear();
  REQUIRE(Cli((*cluster)->bootstrap(), "list", &out) == 0);
  CHECK(absl::StrContains(out, "PLAN_MISSING"));
  CHECK(absl::StrContains(out, "1 dead letter;"));
  out.clear();
  REQUIRE(Cli((*cluster)->bootstrap(), "list --group=routing.calls", &out) == 0);
  CHECK(absl::StrContains(out, "no dead letters"));

  // An id that is not there: refused with a reason, nothing published.
  out.clear();
  CHECK(Cli((*cluster)->bootstrap(), "replay --id=nope --output=json", &out) == 1);
  CHECK(Cli((*cluster)->bootstrap(), "replay", &out) == 2);  // neither --id nor --group

  plan_exists = true;
  out.clear();
  REQUIRE(Cli((*cluster)->bootstrap(), absl::StrCat("replay --id=", refused.id), &out) == 0);
  CHECK(absl::StrContains(out, absl::StrCat(refused.id, " put back on ", topic)));
  REQUIRE(testing::Eventually([&] { return applied_now().size() == 2; }));
  CHECK(applied_now() == std::vector<std::string>{"fine", "needs-plan"});
}
