#include "libs/api/filter.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"

namespace switchboard::api::filter {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A word runs until whitespace or a character the grammar gives a meaning to, so that a
// mistyped value ("MISSED;") is reported whole at its start.
bool EndsWord(char c) {
  return IsSpace(c) || c == '(' || c == ')' || c == '"' || c == '=' || c == '!' || c == '<' ||
         c == '>';
}

// What a timestamp column can hold (google.protobuf.Timestamp's range).
const absl::Time kMinTime = absl::FromUnixSeconds(-62135596800);  // 0001-01-01T00:00:00Z
const absl::Time kMaxTime = absl::FromUnixSeconds(253402300799);  // 9999-12-31T23:59:59Z

int64_t FloorMicros(absl::Time t) {
  return absl::ToUnixMicros(t);  // rounds toward the past
}
int64_t CeilMicros(absl::Time t) {
  int64_t floor = absl::ToUnixMicros(t);
  return absl::FromUnixMicros(floor) == t ? floor : floor + 1;
}

}  // namespace

std::vector<Token> Tokenize(absl::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (true) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    if (i == text.size()) break;
    const size_t start = i;
    const char c = text[i];
    if (c == '(' || c == ')') {
      tokens.push_back({c == '(' ? TokenKind::kOpen : TokenKind::kClose, std::string(1, c), i});
      ++i;
    } else if (c == '=') {
      tokens.push_back({TokenKind::kOperator, "=", i});
      ++i;
    } else if (c == '<' || c == '>' || c == '!') {
      const bool with_equals = i + 1 < text.size() && text[i + 1] == '=';
      if (c == '!' && !with_equals) {
        tokens.push_back({TokenKind::kError, "'!' must be followed by '='", i});
        return tokens;
      }
      tokens.push_back({TokenKind::kOperator, std::string(text.substr(i, with_equals ? 2 : 1)), i});
      i += with_equals ? 2 : 1;
    } else if (c == '"') {
      std::string value;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        const char d = text[i++];
        if (d == '"') {
          closed = true;
          break;
        }
        if (d == '\\') {
          if (i < text.size() && (text[i] == '"' || text[i] == '\\')) {
            value.push_back(text[i++]);
            continue;
          }
          tokens.push_back(
              {TokenKind::kError, "only \\\" and \\\\ may be escaped in a string", start});
          return tokens;
        }
        value.push_back(d);
      }
      if (!closed) {
        tokens.push_back({TokenKind::kError, "unterminated string", start});
        return tokens;
      }
      tokens.push_back({TokenKind::kString, std::move(value), start});
    } else {
      while (i < text.size() && !EndsWord(text[i])) ++i;
      tokens.push_back({TokenKind::kWord, std::string(text.substr(start, i - start)), start});
    }
  }
  tokens.push_back({TokenKind::kEnd, "", text.size()});
  return tokens;
}
absl::Status Error(size_t position, absl::string_view message) {
  return core::InvalidArgument(kInvalidFilter, message, {{"position", absl::StrCat(position)}});
}

std::optional<Op> OpOf(absl::string_view text) {
  if (text == "=") return Op::kEq;
  if (text == "!=") return Op::kNe;
  if (text == ">") return Op::kGt;
  if (text == ">=") return Op::kGe;
  if (text == "<") return Op::kLt;
  if (text == "<=") return Op::kLe;
  return std::nullopt;
}

bool Allows(ValueKind kind, Op op) {
  switch (kind) {
    case ValueKind::kEnum:
      return op == Op::kEq || op == Op::kNe;
    case ValueKind::kTime:
      return op == Op::kGt || op == Op::kGe || op == Op::kLt || op == Op::kLe;
    case ValueKind::kString:
      return op == Op::kEq;
  }
  return false;
}

absl::string_view OperatorsOf(ValueKind kind) {
  switch (kind) {
    case ValueKind::kEnum:
      return "= or !=";
    case ValueKind::kTime:
      return ">, >=, < or <=";
    case ValueKind::kString:
      return "=";
  }
  return "";
}

// Accepts the bare value ("MISSED") or the full enum name ("CALL_STATE_MISSED"), not the
// UNSPECIFIED value (it selects nothing and is always a mistake). Returns the value's number.
absl::StatusOr<int> ReadEnum(const Token& value, const EnumValues& values) {
  if (value.kind == TokenKind::kWord || value.kind == TokenKind::kString) {
    const std::string name = absl::StartsWith(value.text, values.prefix)
                                 ? value.text
                                 : absl::StrCat(values.prefix, value.text);
    const google::protobuf::EnumValueDescriptor* found = values.type()->FindValueByName(name);
    if (found != nullptr && found->number() != 0) return found->number();
  }
  return Error(value.position, absl::StrCat("expected ", values.names));
}

absl::StatusOr<absl::Time> ReadTime(const Token& value) {
  absl::Time t;
  std::string ignored;
  // ParseTime would accept surrounding spaces; a quoted value holds the time only.
  if (value.kind != TokenKind::kString || value.text.empty() || IsSpace(value.text.front()) ||
      IsSpace(value.text.back()) ||
      !absl::ParseTime(absl::RFC3339_full, value.text, &t, &ignored) || t < kMinTime ||
      t > kMaxTime) {
    return Error(value.position,
                 "expected an RFC 3339 time in double quotes, e.g. \"2026-11-01T00:00:00Z\"");
  }
  return t;
}

absl::StatusOr<std::string> ReadString(const Token& value) {
  if (value.kind != TokenKind::kString) {
    return Error(value.position, "expected a string in double quotes");
  }
  if (value.text.empty() || value.text.size() > 128 ||
      !IsValidUtf8(value.text, /*allow_controls=*/false)) {
    return Error(value.position, "expected 1 to 128 bytes of UTF-8 without control characters");
  }
  return value.text;
}

int64_t FirstAdmitted(const TimeBound& lower) {
  return lower.inclusive ? CeilMicros(lower.time) : FloorMicros(lower.time) + 1;
}
int64_t FirstExcluded(const TimeBound& upper) {
  return upper.inclusive ? FloorMicros(upper.time) + 1 : CeilMicros(upper.time);
}

void Narrow(Op op, absl::Time time, std::optional<TimeBound>& after,
            std::optional<TimeBound>& before) {
  const TimeBound bound{time, op == Op::kGe || op == Op::kLe};
  if (op == Op::kGt || op == Op::kGe) {
    if (!after || FirstAdmitted(bound) > FirstAdmitted(*after)) after = bound;
  } else if (!before || FirstExcluded(bound) < FirstExcluded(*before)) {
    before = bound;
  }
}

absl::Status Reader::Terms(absl::FunctionRef<absl::Status()> term) {
  if (Peek().kind == TokenKind::kEnd) return absl::OkStatus();  // blank: no conditions
  while (true) {
    RETURN_IF_ERROR(term());
    const Token& next = Peek();
    if (next.kind == TokenKind::kEnd) return absl::OkStatus();
    if (next.kind == TokenKind::kError) return Error(next.position, next.text);
    if (!PeekWord("AND")) return Error(next.position, "expected AND or the end of the filter");
    Skip();
  }
}

}  // namespace switchboard::api::filter
