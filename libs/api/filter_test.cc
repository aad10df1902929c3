#include "libs/api/filter.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::api::filter {
namespace {

// A small grammar of two fields, the way a list declares its own.
enum class Field { kState, kDueTime, kAgent };
constexpr EnumValues kStates = {&calls::v1::CallbackState_descriptor, "CALLBACK_STATE_",
                                "PENDING, DUE, COMPLETED or CANCELED"};
constexpr FieldSpec<Field> kFields[] = {
    {"state", Field::kState, ValueKind::kEnum, &kStates},
    {"due_time", Field::kDueTime, ValueKind::kTime},
    {"agent", Field::kAgent, ValueKind::kString},
};

struct Parsed {
  std::vector<int> states;
  std::optional<TimeBound> after, before;
  std::vector<std::string> agents;
};

absl::StatusOr<Parsed> Parse(absl::string_view text) {
  Parsed out;
  Reader reader(text);
  EqualFields<Field> seen;
  absl::Status s = reader.Terms([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Comparison<Field> c,
                     reader.ReadField<Field>(kFields, "state, due_time or agent"));
    RETURN_IF_ERROR(reader.ReadOperatorAndValue(c));
    if (c.op == Op::kEq && !seen.Add(c.spec->field)) return Error(c.field_position, "twice");
    switch (c.spec->field) {
      case Field::kState:
        out.states.push_back(c.number);
        break;
      case Field::kDueTime:
        Narrow(c.op, c.time, out.after, out.before);
        break;
      case Field::kAgent:
        out.agents.push_back(c.text);
        break;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

size_t Position(absl::string_view text) {
  auto parsed = Parse(text);
  INFO(text);
  REQUIRE_FALSE(parsed.ok());
  CHECK(core::ReasonOf(parsed.status()) == "INVALID_FILTER");
  return std::stoul(core::MetadataOf(parsed.status()).at("position"));
}

TEST_CASE("the reader reads comparisons joined by AND") {
  auto p = Parse(R"(state = DUE AND due_time >= "2026-11-01T00:00:00Z" AND agent = "a\"b")");
  REQUIRE(p.ok());
  CHECK(p->states == std::vector<int>{calls::v1::CALLBACK_STATE_DUE});
  REQUIRE(p->after.has_value());
  CHECK(p->after->inclusive);
  CHECK(p->agents == std::vector<std::string>{"a\"b"});
  CHECK(Parse("state = CALLBACK_STATE_PENDING").ok());
  CHECK(Parse("state = \"PENDING\"").ok());
  CHECK(Parse("   ").ok());
}

TEST_CASE("every error is INVALID_FILTER at the offending token") {
  CHECK(Position("stat = DUE") == 0);
  CHECK(Position("state = UNSPECIFIED") == 8);
  CHECK(Position("state > DUE") == 6);
  CHECK(Position("state = DUE OR state = PENDING") == 12);
  CHECK(Position("state = DUE AND state = PENDING") == 16);
  CHECK(Position("due_time > \"yesterday\"") == 11);
  CHECK(Position("agent = \"unterminated") == 8);
  CHECK(Position("agent = \"bad \\n escape\"") == 8);
  CHECK(Position("agent ! \"x\"") == 6);
  CHECK(Position("agent = x") == 8);
  CHECK(Position("agent = \"\"") == 8);
}

TEST_CASE("time bounds narrow to the tightest, at microsecond precision") {
  auto p = Parse(R"(due_time > "2026-11-01T00:00:00Z" AND due_time >= "2026-11-02T00:00:00Z" AND )"
                 R"(due_time < "2026-12-01T00:00:00Z" AND due_time <= "2026-11-20T00:00:00Z")");
  REQUIRE(p.ok());
  CHECK(p->after->time == absl::FromUnixSeconds(1793577600));   // 2026-11-02
  CHECK(p->before->time == absl::FromUnixSeconds(1795132800));  // 2026-11-20
  TimeBound gt{absl::FromUnixMicros(5), false}, ge{absl::FromUnixMicros(6), true};
  CHECK(FirstAdmitted(gt) == FirstAdmitted(ge));
}

}  // namespace
}  // namespace switchboard::api::filter
