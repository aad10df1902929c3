#include "libs/core/trace.h"

#include <catch2/catch.hpp>
#include <string>

namespace core = switchboard::core;

namespace {

constexpr char kParent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

}  // namespace

TEST_CASE("traceparent is read as the W3C standard writes it, and written back the same") {
  auto t = core::ParseTraceparent(kParent);
  REQUIRE(t.has_value());
  CHECK(t->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(t->span_id == "00f067aa0ba902b7");
  CHECK(t->flags == 1);
  CHECK(core::FormatTraceparent(*t) == kParent);
  // A later version is read by its first four fields.
  CHECK(core::ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more")
            .has_value());
  for (const char* bad : {"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
                          "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1g"}) {
    INFO(bad);
    CHECK_FALSE(core::ParseTraceparent(bad).has_value());
  }
}

TEST_CASE("work continues its caller's trace in a span of its own, or starts one") {
  core::TraceContext child = core::ContinueTrace(kParent);
  CHECK(child.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(child.span_id != "00f067aa0ba902b7");
  CHECK(child.span_id.size() == 16);
  CHECK(child.flags == 1);
  core::TraceContext fresh = core::ContinueTrace("garbage");
  CHECK(core::ParseTraceparent(core::FormatTraceparent(fresh)).has_value());
  CHECK(fresh.trace_id != core::ContinueTrace("garbage").trace_id);
}
