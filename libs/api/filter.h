// The reader of the filters lists take (a documented subset of AIP-160): tokens, fields,
// operators and values, with every error INVALID_FILTER at the byte position of the offending
// token, the first problem from the left. A list declares its fields and builds its own filter
// from the comparisons (calls/rules/query.cc's ListCalls and ListCallbacks grammars are the
// examples):
//
//   enum class Field { kState, kDueTime };
//   constexpr filter::EnumValues kStates = {&v1::CallbackState_descriptor, "CALLBACK_STATE_",
//                                           "PENDING or DUE"};
//   constexpr filter::FieldSpec<Field> kFields[] = {
//       {"state", Field::kState, filter::ValueKind::kEnum, &kStates},
//       {"due_time", Field::kDueTime, filter::ValueKind::kTime}};
//   filter::Reader reader(text);
//   RETURN_IF_ERROR(reader.Terms([&]() -> absl::Status {
//     ASSIGN_OR_RETURN(auto c, reader.ReadField<Field>(kFields, "state or due_time"));
//     RETURN_IF_ERROR(reader.ReadOperatorAndValue(c));
//     ... use c.number / c.time / c.text ...
//   }));
//
// Tokens: words (field names, bare enum values, AND, OR), double-quoted strings (with \" and
// a doubled backslash as escapes), the operators = != > >= < <=, and parentheses. Values: enum
// values bare or quoted, bare ("MISSED") or full ("CALL_STATE_MISSED"), never the UNSPECIFIED
// value; times as RFC 3339 in double quotes; strings 1-128 bytes of UTF-8 without control
// characters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "google/protobuf/descriptor.h"
#include "libs/core/status_macros.h"

namespace switchboard::api::filter {

enum class TokenKind { kWord, kString, kOperator, kOpen, kClose, kEnd, kError };

struct Token {
  TokenKind kind;
  std::string text;  // the word, the unescaped string, the operator, or the error message
  size_t position;
};

// Splits the whole text up front. A lexical error becomes a kError token that the reader
// reports only when it reaches it.
std::vector<Token> Tokenize(absl::string_view text);

// INVALID_FILTER with metadata position.
absl::Status Error(size_t position, absl::string_view message);

enum class Op { kEq, kNe, kGt, kGe, kLt, kLe };

// What a field holds decides which operators it takes and how its value is read.
enum class ValueKind {
  kEnum,    // = and !=
  kTime,    // >, >=, < and <=
  kString,  // =
};

// The values of an enum field.
struct EnumValues {
  const google::protobuf::EnumDescriptor* (*type)();
  absl::string_view prefix;  // of the full value names, e.g. "CALL_STATE_"
  absl::string_view names;   // the short names, listed in the error
};

template <typename FieldT>
struct FieldSpec {
  absl::string_view name;
  FieldT field;
  ValueKind kind;
  const EnumValues* values = nullptr;  // kEnum only
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

// The fields compared with "=", which a filter may name once each.
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

// One end of a time range. Stored times have microsecond precision, so every bound has an
// equivalent on whole microseconds; comparing those makes "> X" and ">= X + 1 us" the same.
struct TimeBound {
  absl::Time time;
  bool inclusive = false;
};
// The first microsecond a lower bound admits; the first one an upper bound excludes.
int64_t FirstAdmitted(const TimeBound& lower);
int64_t FirstExcluded(const TimeBound& upper);
// ANDs `op time` (one of > >= < <=) into [after, before]: the tightest bound at each end wins.
void Narrow(Op op, absl::Time time, std::optional<TimeBound>& after,
            std::optional<TimeBound>& before);

absl::StatusOr<int> ReadEnum(const Token& value, const EnumValues& values);
absl::StatusOr<absl::Time> ReadTime(const Token& value);
absl::StatusOr<std::string> ReadString(const Token& value);
std::optional<Op> OpOf(absl::string_view text);
bool Allows(ValueKind kind, Op op);
absl::string_view OperatorsOf(ValueKind kind);

// The tokens of one filter text and the reading position, with the productions every grammar
// shares: the AND list, the field, the operator and the value.
class Reader {
 public:
  explicit Reader(absl::string_view text) : tokens_(Tokenize(text)) {}

  const Token& Peek() const { return tokens_[at_]; }
  bool PeekWord(absl::string_view word) const {
    return Peek().kind == TokenKind::kWord && Peek().text == word;
  }
  void Skip() { ++at_; }

  // filter := term ( "AND" term )*, up to the end of the text; a blank text has no terms.
  absl::Status Terms(absl::FunctionRef<absl::Status()> term);

  // The field of a comparison, one of `fields` (`field_list` names them in the error).
  template <typename FieldT>
  absl::StatusOr<Comparison<FieldT>> ReadField(absl::Span<const FieldSpec<FieldT>> fields,
                                               absl::string_view field_list) {
    const Token& name = Peek();
    if (name.kind == TokenKind::kError) return Error(name.position, name.text);
    if (name.kind == TokenKind::kWord) {
      for (const FieldSpec<FieldT>& spec : fields) {
        if (spec.name == name.text) {
          Skip();
          return Comparison<FieldT>{&spec, name.position};
        }
      }
    }
    return Error(name.position, absl::StrCat("expected a field: ", field_list));
  }

  // The rest of a comparison whose field ReadField has read: an operator the field takes and a
  // value of its kind.
  template <typename FieldT>
  absl::Status ReadOperatorAndValue(Comparison<FieldT>& c) {
    const FieldSpec<FieldT>& spec = *c.spec;
    const Token& op = Peek();
    if (op.kind == TokenKind::kError) return Error(op.position, op.text);
    std::optional<Op> parsed = op.kind == TokenKind::kOperator ? OpOf(op.text) : std::nullopt;
    if (!parsed || !Allows(spec.kind, *parsed)) {
      return Error(op.position,
                   absl::StrCat("expected ", OperatorsOf(spec.kind), " after ", spec.name));
    }
    c.op = *parsed;
    c.op_position = op.position;
    Skip();

    const Token& value = Peek();
    if (value.kind == TokenKind::kError) return Error(value.position, value.text);
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

}  // namespace switchboard::api::filter
