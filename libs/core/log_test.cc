#include "libs/core/log.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "libs/core/trace.h"

namespace sblog = switchboard::log;
namespace core = switchboard::core;

namespace {

// Captures what the logger writes through a pipe.
std::string Capture(const std::function<void()>& body) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  sblog::SetOutputFd(fds[1]);
  body();
  sblog::SetOutputFd(STDERR_FILENO);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  return out;
}

}  // namespace

TEST_CASE("one JSON object per line with typed fields") {
  std::string out = Capture([] {
    sblog::Info("ready",
                {{"port", 50051}, {"embedded", true}, {"addr", "127.0.0.1"}, {"ratio", 0.5}});
  });
  CHECK(out.back() == '\n');
  CHECK(out.find('\n') == out.size() - 1);
  CHECK(out.rfind("{\"ts\":\"", 0) == 0);
  CHECK(out.find("\"level\":\"info\",\"msg\":\"ready\"") != std::string::npos);
  CHECK(out.find("\"port\":50051,\"embedded\":true,\"addr\":\"127.0.0.1\",\"ratio\":0.5}") !=
        std::string::npos);
}

TEST_CASE("strings are escaped so a line stays one line") {
  std::string out = Capture([] { sblog::Warning("a \"quoted\"\nline\x01", {{"k\\", "v\t"}}); });
  CHECK(out.find("\"msg\":\"a \\\"quoted\\\"\\nline\\u0001\"") != std::string::npos);
  CHECK(out.find("\"k\\\\\":\"v\\t\"") != std::string::npos);
  CHECK(out.find('\n') == out.size() - 1);
}

TEST_CASE("levels below the threshold are dropped") {
  sblog::SetLevel(sblog::Level::kWarning);
  std::string out = Capture([] {
    sblog::Info("hidden");
    sblog::Error("shown");
  });
  sblog::SetLevel(sblog::Level::kInfo);
  CHECK(out.find("hidden") == std::string::npos);
  CHECK(out.find("shown") != std::string::npos);
  sblog::Level level;
  CHECK(sblog::ParseLevel("warn", &level));
  CHECK(level == sblog::Level::kWarning);
  CHECK_FALSE(sblog::ParseLevel("loud", &level));
}

TEST_CASE("the current trace is the thread's own, nests, and is on every log line") {
  CHECK(core::CurrentTrace() == nullptr);
  CHECK(core::CurrentTraceparent().empty());
  std::string out = Capture([] {
    core::TraceScope outer(
        core::ContinueTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    sblog::Info("outer");
    {
      core::TraceScope inner(core::ContinueTrace(core::CurrentTraceparent()));
      CHECK(core::CurrentTrace()->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    std::thread other([] {
      CHECK(core::CurrentTrace() == nullptr);
      sblog::Info("elsewhere");
    });
    other.join();
  });
  CHECK(core::CurrentTrace() == nullptr);
  CHECK(out.find(
            "\"msg\":\"outer\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"") !=
        std::string::npos);
  size_t elsewhere = out.find("\"msg\":\"elsewhere\"");
  REQUIRE(elsewhere != std::string::npos);
  CHECK(out.find("trace_id", elsewhere) == std::string::npos);
}
