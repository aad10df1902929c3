#include "libs/redis/redis.h"

#include <catch2/catch.hpp>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/core/error.h"
#include "tests/support/servers.h"

using switchboard::core::ReasonOf;
using switchboard::redis::Options;
using switchboard::redis::Pool;
using switchboard::redis::Reply;
using switchboard::redis::Script;
namespace testing = switchboard::testing;

TEST_CASE("redis urls parse, and bad ones say why") {
  auto o = Options::FromUrl("redis://:s3cret@cache.local:6380/2");
  REQUIRE(o.ok());
  CHECK(o->host == "cache.local");
  CHECK(o->port == 6380);
  CHECK(o->db == 2);
  CHECK(o->password == "s3cret");
  CHECK(Options::FromUrl("redis://localhost")->port == 6379);
  CHECK(ReasonOf(Options::FromUrl("http://x").status()) == "INVALID_REDIS_URL");
  CHECK(ReasonOf(Options::FromUrl("redis://x:99999").status()) == "INVALID_REDIS_URL");
  CHECK(ReasonOf(Options::FromUrl("redis://x:1/abc").status()) == "INVALID_REDIS_URL");
  CHECK(ReasonOf(Options::FromUrl("redis://").status()) == "INVALID_REDIS_URL");
}

TEST_CASE("commands, pipelines and scripts against a real redis") {
  testing::RedisServer server;
  Pool pool(*Options::FromUrl(server.url()));

  REQUIRE(pool.Ping().ok());
  CHECK(pool.Command({"SET", "k", "v"})->str == "OK");
  CHECK(pool.Command({"GET", "k"})->str == "v");
  CHECK(pool.Command({"GET", "missing"})->is_nil());

  SECTION("a pipeline is answered in order, errors stay in place") {
    auto replies = pool.Pipeline({{"INCR", "n"}, {"INCR", "n"}, {"HGET", "k", "f"}, {"GET", "n"}});
    REQUIRE(replies.ok());
    REQUIRE(replies->size() == 4);
    CHECK((*replies)[0].integer == 1);
    CHECK((*replies)[1].integer == 2);
    CHECK((*replies)[2].type == Reply::Type::kError);  // WRONGTYPE
    CHECK((*replies)[3].str == "2");
  }

  SECTION("an error reply is a status with a reason") {
    auto r = pool.Command({"HGET", "k", "f"});
    CHECK(r.status().code() == absl::StatusCode::kInternal);
    CHECK(ReasonOf(r.status()) == "REDIS_COMMAND_ERROR");
  }

  SECTION("scripts run by sha and reload after SCRIPT FLUSH") {
    Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    CHECK(script.Run(pool, {"s"}, {"5"})->integer == 5);
    REQUIRE(pool.Command({"SCRIPT", "FLUSH"}).ok());
    CHECK(pool.Command({"SCRIPT", "EXISTS", script.sha()})->elements.at(0).integer == 0);
    CHECK(script.Run(pool, {"s"}, {"2"})->integer == 7);
    CHECK(pool.Command({"SCRIPT", "EXISTS", script.sha()})->elements.at(0).integer == 1);
  }

  SECTION("a killed redis is UNAVAILABLE quickly, and the pool recovers after a restart") {
    server.Kill();
    for (int i = 0; i < 20; ++i) {
      absl::Time start = absl::Now();
      auto r = pool.Command({"GET", "k"});
      absl::Duration took = absl::Now() - start;
      REQUIRE(r.status().code() == absl::StatusCode::kUnavailable);
      CHECK(ReasonOf(r.status()) == "REDIS_UNAVAILABLE");
      CHECK(took < absl::Seconds(1));  // a guard against hangs, not a performance figure
    }
    server.Restart();
    CHECK(testing::Eventually([&] { return pool.Ping().ok(); }));
    CHECK(pool.Command({"SET", "k", "again"}).ok());
  }
}

TEST_CASE("an unreachable address fails fast with UNAVAILABLE") {
  Options o;
  o.port = testing::FreePort();  // nothing listens there
  Pool pool(o);
  auto r = pool.Command({"PING"});
  CHECK(r.status().code() == absl::StatusCode::kUnavailable);
  CHECK(ReasonOf(r.status()) == "REDIS_UNAVAILABLE");
}

TEST_CASE("a subscriber hears what is published, and catches up after Redis comes back") {
  testing::RedisServer server;
  Options options = *Options::FromUrl(server.url());
  Pool pool(options);
  absl::Mutex mu;
  std::vector<std::string> heard;
  int subscribed = 0;
  switchboard::redis::Subscriber subscriber(
      options, "news",
      [&](std::string m) {
        absl::MutexLock lock(&mu);
        heard.push_back(std::move(m));
      },
      [&] {
        absl::MutexLock lock(&mu);
        ++subscribed;
      });
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return std::make_pair(subscribed, heard.size());
  };
  REQUIRE(testing::Eventually([&] { return subscriber.subscribed(); }));
  CHECK(pool.Command({"PUBLISH", "news", "one"})->integer == 1);
  CHECK(pool.Command({"PUBLISH", "other", "not ours"})->integer == 0);
  REQUIRE(testing::Eventually([&] { return count().second == 1; }));

  // Gone, then back: the subscriber subscribes again by itself and says so.
  server.Restart();
  REQUIRE(testing::Eventually([&] { return count().first == 2 && subscriber.subscribed(); },
                              absl::Seconds(10)));
  REQUIRE(testing::Eventually(
      [&] {
        return pool.Command({"PUBLISH", "news", "two"}).ok();
      },
      absl::Seconds(5)));
  REQUIRE(testing::Eventually([&] { return count().second == 2; }));
  {
    absl::MutexLock lock(&mu);
    CHECK(heard == std::vector<std::string>{"one", "two"});
  }
  subscriber.Stop();  // returns although the connection is blocked reading
  CHECK_FALSE(subscriber.subscribed());
}
