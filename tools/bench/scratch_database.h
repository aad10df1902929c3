// A database of a benchmark's own on the suite's PostgreSQL server, dropped at the end, so a
// run never touches the suite's data:
//
//   bench::ScratchDatabase db(f.postgres_url, "routing_bench");
//   { pg::Pool pool({.url = db.url(), .schema = "routing"}); ... }   // pools closed first
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchboard::bench {

// Ends the benchmark (exit code 1, "<program>: <what>: <status>" on stderr) unless `s` is OK.
void Must(const absl::Status& s, absl::string_view what);

class ScratchDatabase {
 public:
  // Creates "<prefix>_<unix seconds>" on the server `suite_url` names (Must).
  ScratchDatabase(std::string suite_url, absl::string_view prefix);
  ~ScratchDatabase();  // drops it; every pool on it must be closed by then
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  // `suite_url` with this database's name.
  const std::string& url() const { return url_; }

 private:
  std::string suite_url_;
  std::string name_;
  std::string url_;
};

}  // namespace switchboard::bench
