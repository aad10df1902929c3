#include "services/calls/query.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "google/protobuf/descriptor.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"

namespace switchboard::calls::query {
namespace {

// ---- text helpers ------------------------------------------------------------------------------

// True when `text` is well-formed UTF-8 (ICU's check also refuses overlong forms and
// surrogates) and, with `allow_controls` false, holds no C0/C1 control or DEL.
bool IsCleanUtf8(absl::string_view text, bool allow_controls) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const auto length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return false;
    if (!allow_controls && (c < 0x20 || (c >= 0x7F && c <= 0x9F))) return false;
  }
  return true;
}

std::string DigitsOf(absl::string_view text) {
  std::string digits;
  for (char c : text) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  return digits;
}

// ---- filter: tokens ----------------------------------------------------------------------------

enum class TokenKind { kWord, kString, kOperator, kOpen, kClose, kEnd, kError };

struct Token {
  TokenKind kind;
  std::string text;  // the word, the unescaped string, the operator, or the error message
  size_t position;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A word runs until whitespace or a character the grammar gives a meaning to, so that a
// mistyped value ("MISSED;") is reported whole at its start.
bool EndsWord(char c) {
  return IsSpace(c) || c == '(' || c == ')' || c == '"' || c == '=' || c == '!' || c == '<' ||
         c == '>';
}

// Splits the whole text up front. A lexical error becomes a kError token that the parser
// reports only when it reaches it, so the first problem from the left is the one reported.
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

// ---- filter: operators and values --------------------------------------------------------------

absl::Status FilterError(size_t position, absl::string_view message) {
  return core::InvalidArgument("INVALID_FILTER", message, {{"position", absl::StrCat(position)}});
}

enum class Op { kEq, kNe, kGt, kGe, kLt, kLe };

std::optional<Op> OpOf(absl::string_view text) {
  if (text == "=") return Op::kEq;
  if (text == "!=") return Op::kNe;
  if (text == ">") return Op::kGt;
  if (text == ">=") return Op::kGe;
  if (text == "<") return Op::kLt;
  if (text == "<=") return Op::kLe;
  return std::nullopt;
}

// What a field holds decides which operators it takes and how its value is read, in both
// grammars.
enum class ValueKind {
  kEnum,    // = and !=; a bare or full enum value name, optionally double-quoted
  kTime,    // >, >=, < and <=; an RFC 3339 time in double quotes
  kString,  // =; a double-quoted string
};

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

// The values of an enum field.
struct EnumSpec {
  const google::protobuf::EnumDescriptor* (*type)();
  absl::string_view prefix;  // of the full value names, e.g. "CALL_STATE_"
  absl::string_view names;   // the short names, listed in the error
};

// Accepts the bare value ("MISSED") or the full enum name ("CALL_STATE_MISSED"), not the
// UNSPECIFIED value (it selects nothing and is always a mistake). Returns the value's number.
absl::StatusOr<int> ReadEnum(const Token& value, const EnumSpec& spec) {
  if (value.kind == TokenKind::kWord || value.kind == TokenKind::kString) {
    const std::string name = absl::StartsWith(value.text, spec.prefix)
                                 ? value.text
                                 : absl::StrCat(spec.prefix, value.text);
    const google::protobuf::EnumValueDescriptor* found = spec.type()->FindValueByName(name);
    if (found != nullptr && found->number() != 0) return found->number();
  }
  return FilterError(value.position, absl::StrCat("expected ", spec.names));
}

// What a timestamp column can hold (google.protobuf.Timestamp's range).
const absl::Time kMinTime = absl::FromUnixSeconds(-62135596800);  // 0001-01-01T00:00:00Z
const absl::Time kMaxTime = absl::FromUnixSeconds(253402300799);  // 9999-12-31T23:59:59Z

absl::StatusOr<absl::Time> ReadTime(const Token& value) {
  absl::Time t;
  std::string ignored;
  // ParseTime would accept surrounding spaces; a quoted value holds the time only.
  if (value.kind != TokenKind::kString || value.text.empty() || IsSpace(value.text.front()) ||
      IsSpace(value.text.back()) ||
      !absl::ParseTime(absl::RFC3339_full, value.text, &t, &ignored) || t < kMinTime ||
      t > kMaxTime) {
    return FilterError(value.position,
                       "expected an RFC 3339 time in double quotes, e.g. "
                       "\"2026-11-01T00:00:00Z\"");
  }
  return t;
}

absl::StatusOr<std::string> ReadString(const Token& value) {
  if (value.kind != TokenKind::kString) {
    return FilterError(value.position, "expected a string in double quotes");
  }
  if (value.text.empty() || value.text.size() > 128 ||
      !IsCleanUtf8(value.text, /*allow_controls=*/false)) {
    return FilterError(value.position,
                       "expected 1 to 128 bytes of UTF-8 without control characters");
  }
  return value.text;
}

// ---- filter: time bounds -----------------------------------------------------------------------

// Calls are stored at microsecond precision, so every bound has an equivalent on whole
// microseconds: the first microsecond a lower bound admits, the first one an upper bound
// excludes. Comparing and printing these makes "> X" and ">= X + 1 us" the same condition.
int64_t FloorMicros(absl::Time t) {
  return absl::ToUnixMicros(t);  // rounds toward the past
}
int64_t CeilMicros(absl::Time t) {
  int64_t floor = absl::ToUnixMicros(t);
  return absl::FromUnixMicros(floor) == t ? floor : floor + 1;
}
int64_t FirstAdmitted(const TimeBound& lower) {
  return lower.inclusive ? CeilMicros(lower.time) : FloorMicros(lower.time) + 1;
}
int64_t FirstExcluded(const TimeBound& upper) {
  return upper.inclusive ? FloorMicros(upper.time) + 1 : CeilMicros(upper.time);
}

// ANDs the comparison `op time` (one of > >= < <=) into the range [after, before]: repeated
// bounds narrow it, so the tightest one at each end is kept.
void Narrow(Op op, absl::Time time, std::optional<TimeBound>& after,
            std::optional<TimeBound>& before) {
  const TimeBound bound{time, op == Op::kGe || op == Op::kLe};
  if (op == Op::kGt || op == Op::kGe) {
    if (!after || FirstAdmitted(bound) > FirstAdmitted(*after)) after = bound;
  } else if (!before || FirstExcluded(bound) < FirstExcluded(*before)) {
    before = bound;
  }
}

template <typename T>
void SortUnique(std::vector<T>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

void Normalize(Filter& f) {
  SortUnique(f.directions);
  SortUnique(f.not_directions);
  SortUnique(f.states);
  SortUnique(f.not_states);
  SortUnique(f.business_phone_number_ids);
  SortUnique(f.agent_ids);
  SortUnique(f.contact_wa_ids);
}

// ---- filter: the shared reader -----------------------------------------------------------------

// A field of one grammar; FieldT is that grammar's own enum of fields.
template <typename FieldT>
struct FieldSpec {
  absl::string_view name;
  FieldT field;
  ValueKind kind;
  const EnumSpec* values = nullptr;  // kEnum only
};

// One `field op value`; the value is in the member its field's kind says.
template <typename FieldT>
struct Comparison {
  const FieldSpec<FieldT>* spec;
  size_t field_position;
  Op op = Op::kEq;
  size_t op_position = 0;
  int number = 0;    // kEnum
  absl::Time time;   // kTime
  std::string text;  // kString
};

// Remembers the fields compared with "=", which both grammars allow once per field.
template <typename FieldT>
class EqualFields {
 public:
  // False when `field` was added before.
  bool Add(FieldT field) {
    const auto bit = 1u << static_cast<unsigned>(field);
    if (seen_ & bit) return false;
    seen_ |= bit;
    return true;
  }

 private:
  unsigned seen_ = 0;
};

// The tokens of one filter text and the reading position, with the productions both grammars
// share: the AND list, the field, the operator and the value. Every error is INVALID_FILTER at
// the offending token; a lexical error is reported when the reader reaches it, so the first
// problem from the left is the one reported.
class TokenReader {
 public:
  explicit TokenReader(absl::string_view text) : tokens_(Tokenize(text)) {}

  const Token& Peek() const { return tokens_[at_]; }
  bool PeekWord(absl::string_view word) const {
    return Peek().kind == TokenKind::kWord && Peek().text == word;
  }
  void Skip() { ++at_; }

  // filter := term ( "AND" term )*, up to the end of the text.
  absl::Status Terms(absl::FunctionRef<absl::Status()> term) {
    while (true) {
      RETURN_IF_ERROR(term());
      const Token& next = Peek();
      if (next.kind == TokenKind::kEnd) return absl::OkStatus();
      if (next.kind == TokenKind::kError) return FilterError(next.position, next.text);
      if (!PeekWord("AND")) {
        return FilterError(next.position, "expected AND or the end of the filter");
      }
      Skip();
    }
  }

  // The field of a comparison, one of `fields` (`field_list` names them in the error).
  template <typename FieldT>
  absl::StatusOr<Comparison<FieldT>> ReadField(absl::Span<const FieldSpec<FieldT>> fields,
                                               absl::string_view field_list) {
    const Token& name = Peek();
    if (name.kind == TokenKind::kError) return FilterError(name.position, name.text);
    if (name.kind == TokenKind::kWord) {
      for (const FieldSpec<FieldT>& spec : fields) {
        if (spec.name == name.text) {
          Skip();
          return Comparison<FieldT>{&spec, name.position};
        }
      }
    }
    return FilterError(name.position, absl::StrCat("expected a field: ", field_list));
  }

  // The rest of a comparison whose field ReadField has read: an operator the field takes and
  // a value of its kind.
  template <typename FieldT>
  absl::Status ReadOperatorAndValue(Comparison<FieldT>& c) {
    const FieldSpec<FieldT>& spec = *c.spec;
    const Token& op = Peek();
    if (op.kind == TokenKind::kError) return FilterError(op.position, op.text);
    std::optional<Op> parsed = op.kind == TokenKind::kOperator ? OpOf(op.text) : std::nullopt;
    if (!parsed || !Allows(spec.kind, *parsed)) {
      return FilterError(op.position,
                         absl::StrCat("expected ", OperatorsOf(spec.kind), " after ", spec.name));
    }
    c.op = *parsed;
    c.op_position = op.position;
    Skip();

    const Token& value = Peek();
    if (value.kind == TokenKind::kError) return FilterError(value.position, value.text);
    switch (spec.kind) {
      case ValueKind::kEnum: {
        ASSIGN_OR_RETURN(c.number, ReadEnum(value, *spec.values));
        break;
      }
      case ValueKind::kTime: {
        ASSIGN_OR_RETURN(c.time, ReadTime(value));
        break;
      }
      case ValueKind::kString: {
        ASSIGN_OR_RETURN(c.text, ReadString(value));
        break;
      }
    }
    Skip();
    return absl::OkStatus();
  }

 private:
  std::vector<Token> tokens_;
  size_t at_ = 0;
};

// ---- filter: ListCalls' grammar ----------------------------------------------------------------

enum class Field { kDirection, kState, kOfferedTime, kBusinessNumber, kAgent, kContactWaId };

constexpr EnumSpec kDirections = {&v1::CallDirection_descriptor, "CALL_DIRECTION_",
                                  "INBOUND or OUTBOUND"};
constexpr EnumSpec kStates = {&v1::CallState_descriptor, "CALL_STATE_",
                              "OFFERED, RINGING, ANSWERED, ENDED, MISSED, REJECTED or FAILED"};

constexpr FieldSpec<Field> kFields[] = {
    {"direction", Field::kDirection, ValueKind::kEnum, &kDirections},
    {"state", Field::kState, ValueKind::kEnum, &kStates},
    {"offered_time", Field::kOfferedTime, ValueKind::kTime},
    {"business_phone_number_id", Field::kBusinessNumber, ValueKind::kString},
    {"answered_by_agent_id", Field::kAgent, ValueKind::kString},
    {"contact.wa_id", Field::kContactWaId, ValueKind::kString},
};

constexpr absl::string_view kFieldList =
    "direction, state, offered_time, business_phone_number_id, answered_by_agent_id or "
    "contact.wa_id";

class Parser {
 public:
  Parser(absl::string_view text, TimeTerms time_terms) : reader_(text), time_terms_(time_terms) {}

  absl::StatusOr<Filter> Run() {
    RETURN_IF_ERROR(reader_.Terms([this] { return Term(); }));
    Normalize(filter_);
    return filter_;
  }

 private:
  absl::Status Term() {
    std::vector<Comparison<Field>> group;
    if (reader_.Peek().kind != TokenKind::kOpen) {
      ASSIGN_OR_RETURN(Comparison<Field> c, Compare());
      group.push_back(std::move(c));
    } else {
      reader_.Skip();
      ASSIGN_OR_RETURN(Comparison<Field> first, Compare());
      group.push_back(std::move(first));
      while (reader_.PeekWord("OR")) {
        reader_.Skip();
        ASSIGN_OR_RETURN(Comparison<Field> next, Compare());
        group.push_back(std::move(next));
      }
      // An OR of different fields or of "!=" cannot be expressed as one list per field.
      if (group.size() > 1) {
        for (const Comparison<Field>& c : group) {
          if (c.spec->field != group.front().spec->field) {
            return FilterError(c.field_position,
                               absl::StrCat("every comparison inside an OR group must name the "
                                            "same field (",
                                            group.front().spec->name, ")"));
          }
          if (c.op != Op::kEq) {
            return FilterError(c.op_position, "comparisons inside an OR group must use =");
          }
        }
      }
      const Token& close = reader_.Peek();
      if (close.kind == TokenKind::kError) return FilterError(close.position, close.text);
      if (close.kind != TokenKind::kClose) {
        return FilterError(close.position, "expected OR or )");
      }
      reader_.Skip();
    }
    return Apply(group);
  }

  absl::StatusOr<Comparison<Field>> Compare() {
    ASSIGN_OR_RETURN(Comparison<Field> c, reader_.ReadField<Field>(kFields, kFieldList));
    if (c.spec->field == Field::kOfferedTime && time_terms_ == TimeTerms::kRefused) {
      return FilterError(c.field_position,
                         "offered_time is not allowed here: this method takes the time range "
                         "in start_time and end_time");
    }
    RETURN_IF_ERROR(reader_.ReadOperatorAndValue(c));
    return c;
  }

  absl::Status Apply(const std::vector<Comparison<Field>>& group) {
    const Comparison<Field>& head = group.front();
    // One "=" term per field keeps every field's condition a single OR list.
    if (head.op == Op::kEq && !equal_fields_.Add(head.spec->field)) {
      const absl::string_view name = head.spec->name;
      return FilterError(head.field_position, absl::StrCat(name, " = appears in two terms; write (",
                                                           name, " = a OR ", name, " = b)"));
    }
    for (const Comparison<Field>& c : group) {
      const bool eq = c.op == Op::kEq;
      switch (c.spec->field) {
        case Field::kDirection:
          (eq ? filter_.directions : filter_.not_directions)
              .push_back(static_cast<v1::CallDirection>(c.number));
          break;
        case Field::kState:
          (eq ? filter_.states : filter_.not_states)
              .push_back(static_cast<v1::CallState>(c.number));
          break;
        case Field::kOfferedTime:
          Narrow(c.op, c.time, filter_.offered_after, filter_.offered_before);
          break;
        case Field::kBusinessNumber:
          filter_.business_phone_number_ids.push_back(c.text);
          break;
        case Field::kAgent:
          filter_.agent_ids.push_back(c.text);
          break;
        case Field::kContactWaId:
          filter_.contact_wa_ids.push_back(c.text);
          break;
      }
    }
    return absl::OkStatus();
  }

  TokenReader reader_;
  TimeTerms time_terms_;
  Filter filter_;
  EqualFields<Field> equal_fields_;
};

// ---- filter: ListCallbacks' grammar ------------------------------------------------------------

enum class CallbackField { kState, kAssignedAgent, kContactWaId, kDueTime };

constexpr EnumSpec kCallbackStates = {&v1::CallbackState_descriptor, "CALLBACK_STATE_",
                                      "PENDING, DUE, COMPLETED or CANCELED"};

constexpr FieldSpec<CallbackField> kCallbackFields[] = {
    {"state", CallbackField::kState, ValueKind::kEnum, &kCallbackStates},
    {"assigned_agent_id", CallbackField::kAssignedAgent, ValueKind::kString},
    {"contact.wa_id", CallbackField::kContactWaId, ValueKind::kString},
    {"due_time", CallbackField::kDueTime, ValueKind::kTime},
};

constexpr absl::string_view kCallbackFieldList =
    "state, assigned_agent_id, contact.wa_id or due_time";

// filter := comparison ( "AND" comparison )*. Every field holds one value per callback, so
// "=" appears once per field and there is no OR to write.
class CallbackParser {
 public:
  explicit CallbackParser(absl::string_view text) : reader_(text) {}

  absl::StatusOr<CallbackFilter> Run() {
    RETURN_IF_ERROR(reader_.Terms([this] { return Term(); }));
    SortUnique(filter_.not_states);
    return filter_;
  }

 private:
  absl::Status Term() {
    RETURN_IF_ERROR(RefuseGroup());
    ASSIGN_OR_RETURN(Comparison<CallbackField> c,
                     reader_.ReadField<CallbackField>(kCallbackFields, kCallbackFieldList));
    RETURN_IF_ERROR(reader_.ReadOperatorAndValue(c));
    RETURN_IF_ERROR(Apply(c));
    // Said here rather than as "expected AND", since the ListCalls filter does have them.
    return RefuseGroup();
  }

  absl::Status RefuseGroup() const {
    const Token& next = reader_.Peek();
    if (next.kind == TokenKind::kOpen || next.kind == TokenKind::kClose) {
      return FilterError(next.position,
                         "parentheses are not allowed here: this filter is comparisons joined "
                         "by AND");
    }
    if (reader_.PeekWord("OR")) {
      return FilterError(next.position,
                         "OR is not allowed here: this filter is comparisons joined by AND");
    }
    return absl::OkStatus();
  }

  absl::Status Apply(const Comparison<CallbackField>& c) {
    if (c.op == Op::kEq && !equal_fields_.Add(c.spec->field)) {
      return FilterError(c.field_position,
                         absl::StrCat(c.spec->name, " = may appear only once in this filter"));
    }
    switch (c.spec->field) {
      case CallbackField::kState:
        (c.op == Op::kEq ? filter_.states : filter_.not_states)
            .push_back(static_cast<v1::CallbackState>(c.number));
        break;
      case CallbackField::kAssignedAgent:
        filter_.assigned_agent_id = c.text;
        break;
      case CallbackField::kContactWaId:
        filter_.contact_wa_id = c.text;
        break;
      case CallbackField::kDueTime:
        Narrow(c.op, c.time, filter_.due_after, filter_.due_before);
        break;
    }
    return absl::OkStatus();
  }

  TokenReader reader_;
  CallbackFilter filter_;
  EqualFields<CallbackField> equal_fields_;
};

// ---- canonical form ----------------------------------------------------------------------------

template <typename Enum>
void AppendEnums(absl::string_view label, std::vector<Enum> values,
                 const std::string& (*name)(Enum), std::string* out) {
  if (values.empty()) return;
  SortUnique(values);
  absl::StrAppend(out, label, "=");
  for (size_t i = 0; i < values.size(); ++i) {
    // A value outside the enum (a hand-built Filter) has no name; its number keeps it distinct.
    const std::string& text = name(values[i]);
    absl::StrAppend(out, i ? "," : "", text.empty() ? absl::StrCat(values[i]) : text);
  }
  absl::StrAppend(out, ";");
}

void AppendStrings(absl::string_view label, std::vector<std::string> values, std::string* out) {
  if (values.empty()) return;
  SortUnique(values);
  absl::StrAppend(out, label, "=");
  for (size_t i = 0; i < values.size(); ++i) {
    // CEscape leaves no '"' or newline unescaped, so the quoting cannot be confused.
    absl::StrAppend(out, i ? "," : "", "\"", absl::CEscape(values[i]), "\"");
  }
  absl::StrAppend(out, ";");
}

// ---- folding -----------------------------------------------------------------------------------

struct Normalizers {
  const icu::Normalizer2* nfkc_casefold;
  const icu::Normalizer2* nfd;
  const icu::Normalizer2* nfc;
};

const Normalizers& GetNormalizers() {
  static const Normalizers normalizers = [] {
    UErrorCode status = U_ZERO_ERROR;
    Normalizers n{icu::Normalizer2::getNFKCCasefoldInstance(status),
                  icu::Normalizer2::getNFDInstance(status),
                  icu::Normalizer2::getNFCInstance(status)};
    if (U_FAILURE(status)) {
      // The data is compiled into libicudata; without it the install is broken.
      std::fprintf(stderr, "calls query: ICU normalizers unavailable: %s\n", u_errorName(status));
      std::abort();
    }
    return n;
  }();
  return normalizers;
}

bool IsNumberQuery(absl::string_view query) {
  bool digit = false;
  for (char c : query) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (!absl::ascii_isspace(static_cast<unsigned char>(c)) && c != '+' && c != '-' &&
               c != '(' && c != ')' && c != '.') {
      return false;
    }
  }
  return digit;
}

// ---- page tokens -------------------------------------------------------------------------------

constexpr absl::string_view kTokenVersion = "1";

// FNV-1a, 64 bit: stable across processes and builds, unlike absl::Hash. It only detects a
// token reused with another filter; it is not a signature.
uint64_t Fnv1a64(absl::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string HashHex(absl::string_view fingerprint) {
  return absl::StrCat(absl::Hex(Fnv1a64(fingerprint), absl::kZeroPad16));
}

absl::Status TokenError() {
  return core::InvalidArgument("INVALID_PAGE_TOKEN",
                               "page_token is not one this list issued for this filter and query");
}

bool IsSignedDecimal(absl::string_view text) {
  if (absl::StartsWith(text, "-")) text.remove_prefix(1);
  if (text.empty() || text.size() > 19) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

// ---- periods -----------------------------------------------------------------------------------

constexpr int kMaxBuckets = 1000;
constexpr int kMaxCustomDays = 400;

// The local hour boundary at or before `t`, found by subtracting the local minutes and
// seconds, so that in a repeated hour (DST ending) it is the boundary of the hour `t` is in,
// not the first one with the same wall-clock reading.
absl::Time HourFloor(absl::Time t, const absl::TimeZone& zone) {
  absl::TimeZone::CivilInfo info = zone.At(t);
  return t - absl::Minutes(info.cs.minute()) - absl::Seconds(info.cs.second()) - info.subsecond;
}

absl::Time Midnight(absl::CivilDay day, const absl::TimeZone& zone) {
  // For a skipped midnight (DST starting at 00:00) FromCivil gives the transition instant,
  // which is when that day begins.
  return absl::FromCivil(day, zone);
}

// The first boundary of `granularity` after `t`.
absl::Time NextBoundary(absl::Time t, v1::TimeGranularity granularity, const absl::TimeZone& zone) {
  switch (granularity) {
    case v1::TIME_GRANULARITY_HOUR:
      return HourFloor(t, zone) + absl::Hours(1);
    case v1::TIME_GRANULARITY_DAY:
      return Midnight(absl::ToCivilDay(t, zone) + 1, zone);
    case v1::TIME_GRANULARITY_WEEK: {
      absl::CivilDay day = absl::ToCivilDay(t, zone);
      // Days from `day` to the next Monday, 1..7.
      const int ahead =
          7 - (static_cast<int>(absl::GetWeekday(day)) - static_cast<int>(absl::Weekday::monday));
      return Midnight(day + ahead, zone);
    }
    default:
      return absl::FromCivil(absl::ToCivilMonth(t, zone) + 1, zone);
  }
}

}  // namespace

// ---- filter ------------------------------------------------------------------------------------

std::string Filter::Canonical() const {
  std::string out;
  AppendEnums("direction", directions, &v1::CallDirection_Name<v1::CallDirection>, &out);
  AppendEnums("direction!", not_directions, &v1::CallDirection_Name<v1::CallDirection>, &out);
  AppendEnums("state", states, &v1::CallState_Name<v1::CallState>, &out);
  AppendEnums("state!", not_states, &v1::CallState_Name<v1::CallState>, &out);
  if (offered_after) absl::StrAppend(&out, "offered>=", FirstAdmitted(*offered_after), ";");
  if (offered_before) absl::StrAppend(&out, "offered<", FirstExcluded(*offered_before), ";");
  AppendStrings("business_phone_number_id", business_phone_number_ids, &out);
  AppendStrings("answered_by_agent_id", agent_ids, &out);
  AppendStrings("contact.wa_id", contact_wa_ids, &out);
  return out;
}

absl::StatusOr<Filter> ParseFilter(absl::string_view text, TimeTerms time_terms) {
  if (absl::StripAsciiWhitespace(text).empty()) return Filter{};
  return Parser(text, time_terms).Run();
}

absl::StatusOr<CallbackFilter> ParseCallbackFilter(absl::string_view text) {
  if (absl::StripAsciiWhitespace(text).empty()) return CallbackFilter{};
  return CallbackParser(text).Run();
}

// ---- contact search ----------------------------------------------------------------------------

std::string Fold(absl::string_view text) {
  const Normalizers& n = GetNormalizers();
  UErrorCode status = U_ZERO_ERROR;
  // Ill-formed bytes become U+FFFD, a symbol, hence a space below.
  icu::UnicodeString raw = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  // Case and compatibility forms (full-width, ligatures, "ß" -> "ss") folded together; then
  // decomposed so accents are separate marks.
  icu::UnicodeString decomposed = n.nfd->normalize(n.nfkc_casefold->normalize(raw, status), status);
  if (U_FAILURE(status)) return "";

  enum class Base { kNone, kLatin, kOther };
  Base base = Base::kNone;
  icu::UnicodeString kept;
  for (int32_t i = 0; i < decomposed.length();) {
    const UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    const uint32_t category = U_MASK(u_charType(c));
    if (category & U_GC_L_MASK) {
      UErrorCode script_status = U_ZERO_ERROR;
      base = uscript_getScript(c, &script_status) == USCRIPT_LATIN ? Base::kLatin : Base::kOther;
      kept.append(c);
    } else if (category & U_GC_M_MASK) {
      // Latin accents are noise for search; other scripts' marks (Devanagari vowel signs) are
      // part of the word.
      if (base == Base::kOther) kept.append(c);
    } else if (category & U_GC_N_MASK) {
      base = Base::kNone;
      kept.append(c);
    } else {
      base = Base::kNone;
      kept.append(u' ');
    }
  }
  icu::UnicodeString composed = n.nfc->normalize(kept, status);
  if (U_FAILURE(status)) return "";
  std::string utf8;
  composed.toUTF8String(utf8);
  std::vector<absl::string_view> words = absl::StrSplit(utf8, ' ', absl::SkipEmpty());
  return absl::StrJoin(words, " ");
}

std::string SearchKey(const events::v1::ContactRef& contact) {
  std::vector<std::string> parts;
  if (std::string name = Fold(contact.display_name()); !name.empty()) {
    parts.push_back(std::move(name));
  }
  std::string wa_digits = DigitsOf(contact.wa_id());
  std::string phone_digits = DigitsOf(contact.phone_e164());
  if (!wa_digits.empty()) parts.push_back(wa_digits);
  if (!phone_digits.empty() && phone_digits != wa_digits) parts.push_back(phone_digits);
  // Folded like the needle, which is always folded text or digits: a raw "US.1234" could never
  // contain either.
  if (std::string user = Fold(contact.user_id()); !user.empty()) parts.push_back(std::move(user));
  return absl::StrJoin(parts, " ");
}

absl::StatusOr<std::string> NormalizeQuery(absl::string_view query) {
  if (query.size() > 100) {
    return core::InvalidArgument("INVALID_QUERY", "query is longer than 100 bytes",
                                 {{"max_bytes", "100"}});
  }
  if (!IsCleanUtf8(query, /*allow_controls=*/true)) {
    return core::InvalidArgument("INVALID_QUERY", "query is not valid UTF-8");
  }
  if (IsNumberQuery(query)) return DigitsOf(query);
  return Fold(query);
}

// ---- keyset pages ------------------------------------------------------------------------------

std::string Fingerprint(const Filter& filter, absl::string_view needle) {
  // Length-prefixed so that no filter/needle pair can produce another pair's text.
  std::string canonical = filter.Canonical();
  return absl::StrCat(canonical.size(), ":", canonical, needle);
}

std::string EncodePageToken(const Cursor& last, absl::string_view fingerprint) {
  return absl::WebSafeBase64Escape(absl::StrCat(kTokenVersion, "|", absl::ToUnixMicros(last.time),
                                                "|", last.id, "|", HashHex(fingerprint)));
}

absl::StatusOr<std::optional<Cursor>> DecodePageToken(absl::string_view token,
                                                      absl::string_view fingerprint) {
  if (token.empty()) return std::nullopt;
  std::string text;
  if (!absl::WebSafeBase64Unescape(token, &text)) return TokenError();
  std::vector<absl::string_view> parts = absl::StrSplit(text, '|');
  // An id holding '|' would split into more parts; such a token was never issued.
  if (parts.size() != 4 || parts[0] != kTokenVersion) return TokenError();
  int64_t micros;
  if (!IsSignedDecimal(parts[1]) || !absl::SimpleAtoi(parts[1], &micros)) return TokenError();
  if (parts[2].empty() || !IsCleanUtf8(parts[2], /*allow_controls=*/false)) return TokenError();
  if (parts[3] != HashHex(fingerprint)) return TokenError();
  return Cursor{absl::FromUnixMicros(micros), std::string(parts[2])};
}

// ---- time ranges -------------------------------------------------------------------------------

std::pair<absl::Time, absl::Time> MonthOf(absl::Time now, const absl::TimeZone& zone) {
  absl::CivilMonth month = absl::ToCivilMonth(now, zone);
  return {absl::FromCivil(month, zone), absl::FromCivil(month + 1, zone)};
}

absl::StatusOr<Period> ResolvePeriod(v1::AnalyticsPeriod period, v1::TimeGranularity granularity,
                                     std::optional<absl::Time> custom_start,
                                     std::optional<absl::Time> custom_end, absl::Time now,
                                     const absl::TimeZone& zone) {
  if (period == v1::ANALYTICS_PERIOD_UNSPECIFIED || !v1::AnalyticsPeriod_IsValid(period)) {
    return core::InvalidArgument("MISSING_PERIOD", "period is required");
  }
  if (!v1::TimeGranularity_IsValid(granularity)) {
    return core::InvalidArgument("INVALID_GRANULARITY", "granularity is not a known value");
  }
  Period out;
  out.granularity = granularity;
  if (granularity == v1::TIME_GRANULARITY_UNSPECIFIED) {
    out.granularity = period == v1::ANALYTICS_PERIOD_LAST_24_HOURS ? v1::TIME_GRANULARITY_HOUR
                                                                   : v1::TIME_GRANULARITY_DAY;
  }

  const absl::CivilDay today = absl::ToCivilDay(now, zone);
  const absl::CivilMonth this_month = absl::ToCivilMonth(now, zone);
  out.end = now;
  switch (period) {
    case v1::ANALYTICS_PERIOD_LAST_24_HOURS:
      out.start = HourFloor(now, zone) - absl::Hours(23);
      break;
    case v1::ANALYTICS_PERIOD_LAST_7_DAYS:
      out.start = Midnight(today - 6, zone);
      break;
    case v1::ANALYTICS_PERIOD_LAST_30_DAYS:
      out.start = Midnight(today - 29, zone);
      break;
    case v1::ANALYTICS_PERIOD_THIS_MONTH:
      out.start = absl::FromCivil(this_month, zone);
      break;
    case v1::ANALYTICS_PERIOD_LAST_MONTH:
      out.start = absl::FromCivil(this_month - 1, zone);
      out.end = absl::FromCivil(this_month, zone);
      break;
    default:  // CUSTOM
      if (!custom_start || !custom_end) {
        return core::InvalidArgument("INVALID_RANGE",
                                     "a custom period needs both start_time and end_time");
      }
      if (*custom_end <= *custom_start) {
        return core::InvalidArgument("INVALID_RANGE", "end_time must be after start_time");
      }
      if (*custom_end - *custom_start > absl::Hours(24 * kMaxCustomDays)) {
        return core::InvalidArgument("RANGE_TOO_LONG", "a custom period spans at most 400 days",
                                     {{"max_days", absl::StrCat(kMaxCustomDays)}});
      }
      out.start = *custom_start;
      out.end = *custom_end;
      break;
  }

  // Bounded by the limit, so a 400-day range in hours stops at 1001 instead of building 9600.
  for (absl::Time t = out.start; t < out.end;) {
    if (static_cast<int>(out.bucket_starts.size()) == kMaxBuckets) {
      return core::InvalidArgument(
          "TOO_MANY_BUCKETS", "the period has more than 1000 buckets; choose a coarser granularity",
          {{"max_buckets", absl::StrCat(kMaxBuckets)}});
    }
    out.bucket_starts.push_back(t);
    if (out.granularity == v1::TIME_GRANULARITY_HOUR && t != out.start) {
      t += absl::Hours(1);  // consecutive absolute hours once on the local boundary
    } else {
      t = NextBoundary(t, out.granularity, zone);
    }
  }
  return out;
}

}  // namespace switchboard::calls::query
