#include "tools/bench/scratch_database.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/pg/pg.h"

namespace switchboard::bench {

void Must(const absl::Status& s, absl::string_view what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %.*s: %s\n", program_invocation_short_name,
               static_cast<int>(what.size()), what.data(), s.ToString().c_str());
  std::exit(1);
}

ScratchDatabase::ScratchDatabase(std::string suite_url, absl::string_view prefix)
    : suite_url_(std::move(suite_url)),
      name_(absl::StrCat(prefix, "_", absl::ToUnixSeconds(absl::Now()))) {
  const size_t slash = suite_url_.rfind('/');
  const size_t query = suite_url_.find('?', slash);
  url_ = suite_url_.substr(0, slash + 1) + name_ +
         (query == std::string::npos ? "" : suite_url_.substr(query));
  pg::Pool admin({.url = suite_url_, .pool_size = 1});
  Must(admin.Exec(absl::StrCat("CREATE DATABASE ", name_), {}).status(), "create database");
}

ScratchDatabase::~ScratchDatabase() {
  pg::Pool admin({.url = suite_url_, .pool_size = 1});
  (void)admin.Exec(absl::StrCat("DROP DATABASE ", name_), {});
}

}  // namespace switchboard::bench
