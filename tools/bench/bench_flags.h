// The benchmarks' command lines: --name=value flags over defaults from the suite's environment
// (.run/env). A flag given twice keeps its last value; flags a benchmark does not read are
// ignored.
//
//   bench::FlagReader flags(argc, argv);
//   flags.Text("addr", &f.addr, "SWITCHBOARD_ADDR");   // --addr, else $SWITCHBOARD_ADDR
//   flags.Int("seconds", &f.seconds);
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace switchboard::bench {

class FlagReader {
 public:
  FlagReader(int argc, char** argv);

  // --name=value into *out; else environment variable `env` when it is set; else *out stays.
  void Text(const char* name, std::string* out, const char* env = nullptr) const;
  // --name=N into *out (std::atoll's reading: not a number is 0); else *out stays.
  void Int(const char* name, int* out) const;
  void Int(const char* name, int64_t* out) const;
  // Whether the switch --name was given.
  bool Has(const char* name) const { return switches_.count(name) > 0; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> switches_;
};

}  // namespace switchboard::bench
