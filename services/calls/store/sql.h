// Internal to the calls store (store/*.cc): the statement builder and row helpers its files
// share. Not for anything outside store/.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/pg/pg.h"
#include "services/calls/rules/query.h"
#include "services/calls/store/store.h"

namespace switchboard::calls::store_sql {

using core::FromProto;

inline constexpr absl::Duration kSettingsCacheTtl = absl::Seconds(5);
inline constexpr int kExportBatch = 5000;
// How many trailing digits of a number search the trigram index looks up.
inline constexpr size_t kNumberTail = 7;

inline absl::Status Unparsable(absl::string_view what) {
  return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_RECORD",
                     absl::StrCat("a stored ", what, " does not parse"));
}

inline pg::Param NullIfEmpty(const std::string& s) {
  return s.empty() ? pg::Param(std::nullopt) : pg::Param(s);
}

inline pg::Param OptionalTime(bool has, const google::protobuf::Timestamp& t) {
  return has ? pg::Param(FromProto(t)) : pg::Param(std::nullopt);
}

// A PostgreSQL array literal of quoted text elements: {"a","b\"c"}.
inline std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

template <typename Enum>
inline std::string IntArray(const std::vector<Enum>& values) {
  std::vector<int> ints;
  for (Enum v : values) ints.push_back(static_cast<int>(v));
  return absl::StrCat("{", absl::StrJoin(ints, ","), "}");
}

// A statement assembled from conditions, with positional parameters.
class Sql {
 public:
  explicit Sql(std::string text) : text_(std::move(text)) {}

  // Adds a parameter; returns its placeholder ("$3").
  std::string Arg(pg::Param p) {
    params_.push_back(std::move(p));
    return absl::StrCat("$", params_.size());
  }
  void Append(absl::string_view s) { absl::StrAppend(&text_, s); }
  void And(absl::string_view condition) { absl::StrAppend(&text_, " AND ", condition); }

  // "column = $n" for one value, "column = ANY($n::type[])" for several.
  template <typename Enum>
  void InInts(absl::string_view column, const std::vector<Enum>& values, bool negate) {
    if (values.empty()) return;
    if (values.size() == 1) {
      And(absl::StrCat(column, negate ? " <> " : " = ",
                       Arg(static_cast<int64_t>(static_cast<int>(values[0])))));
    } else {
      And(absl::StrCat(column, negate ? " <> ALL(" : " = ANY(", Arg(IntArray(values)),
                       "::smallint[])"));
    }
  }
  void InTexts(absl::string_view column, const std::vector<std::string>& values) {
    if (values.empty()) return;
    if (values.size() == 1) {
      And(absl::StrCat(column, " = ", Arg(values[0])));
    } else {
      And(absl::StrCat(column, " = ANY(", Arg(TextArray(values)), "::text[])"));
    }
  }
  void Bound(absl::string_view column, const std::optional<query::TimeBound>& b, bool lower) {
    if (!b.has_value()) return;
    const char* op = lower ? (b->inclusive ? " >= " : " > ") : (b->inclusive ? " <= " : " < ");
    And(absl::StrCat(column, op, Arg(b->time)));
  }

  const std::string& text() const { return text_; }
  const std::vector<pg::Param>& params() const { return params_; }

 private:
  std::string text_;
  std::vector<pg::Param> params_;
};

// LIKE's wildcards and escape in a needle made literal.
inline std::string LikeLiteral(absl::string_view needle) {
  std::string out = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  out += '%';
  return out;
}

// The conditions of a history filter and search (after "WHERE tenant_id = $1").
inline void Where(Sql& sql, const query::Filter& f, absl::string_view needle) {
  sql.InInts("direction", f.directions, false);
  sql.InInts("direction", f.not_directions, true);
  sql.InInts("state", f.states, false);
  sql.InInts("state", f.not_states, true);
  sql.Bound("offered_time", f.offered_after, true);
  sql.Bound("offered_time", f.offered_before, false);
  sql.InTexts("business_phone_number_id", f.business_phone_number_ids);
  sql.InTexts("agent_id", f.agent_ids);
  sql.InTexts("contact_key", f.contact_wa_ids);
  if (needle.empty()) return;
  const bool digits =
      std::all_of(needle.begin(), needle.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && needle.size() > kNumberTail) {
    // A number's leading digits (country and area code) are in nearly every row, and so are
    // their trigrams: looking them up in the trigram index reads most of it. The index looks up
    // the number's tail; the whole needle is checked on the rows found (the concatenation keeps
    // the planner from using the index for it).
    sql.And(absl::StrCat("search_text LIKE ",
                         sql.Arg(LikeLiteral(needle.substr(needle.size() - kNumberTail)))));
    sql.And(absl::StrCat("(search_text || '') LIKE ", sql.Arg(LikeLiteral(needle))));
    return;
  }
  sql.And(absl::StrCat("search_text LIKE ", sql.Arg(LikeLiteral(needle))));
}

inline constexpr char kTotalsColumns[] =
    "count(*), count(*) FILTER (WHERE state IN (3, 4)), "
    "count(*) FILTER (WHERE state = 5), count(*) FILTER (WHERE state = 6), "
    "count(*) FILTER (WHERE state = 7), count(*) FILTER (WHERE direction = 1), "
    "count(*) FILTER (WHERE direction = 2), "
    "coalesce(sum(duration_seconds) FILTER (WHERE state IN (3, 4)), 0), "
    "coalesce(sum(billed_minutes), 0), coalesce(sum(cost_micros), 0), "
    "coalesce(max(cost_currency), ''), count(*) FILTER (WHERE state IN (1, 2))";

inline Totals ReadTotals(const pg::Result& r, int row, int first) {
  Totals t;
  t.total = r.GetInt(row, first);
  t.answered = r.GetInt(row, first + 1);
  t.missed = r.GetInt(row, first + 2);
  t.rejected = r.GetInt(row, first + 3);
  t.failed = r.GetInt(row, first + 4);
  t.inbound = r.GetInt(row, first + 5);
  t.outbound = r.GetInt(row, first + 6);
  t.duration_seconds = r.GetInt(row, first + 7);
  t.billed_minutes = r.GetInt(row, first + 8);
  t.cost_micros = r.GetInt(row, first + 9);
  t.currency = std::string(r.Get(row, first + 10));
  t.waiting = r.GetInt(row, first + 11);
  return t;
}

// A timestamptz[] literal.
inline std::string TimeArray(const std::vector<absl::Time>& times) {
  std::vector<std::string> parts;
  for (absl::Time t : times) {
    parts.push_back(absl::FormatTime("\"%Y-%m-%d %H:%M:%E6S+00\"", t, absl::UTCTimeZone()));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

template <typename Message>
inline absl::StatusOr<Message> Parse(const pg::Result& r, int row, int col,
                                     absl::string_view what) {
  Message m;
  if (!m.ParseFromString(r.GetBytes(row, col))) return Unparsable(what);
  return m;
}

}  // namespace switchboard::calls::store_sql
