// The benchmarks' command lines: --name=value flags over defaults from the suite's environment
// (.run/env). A flag given twice keeps its last value; flags a benchmark does not read are
// ignored.
//
//   struct Flags : bench::Suite { int seconds = 10; };
//   bench::FlagReader flags(argc, argv);
//   flags.Suite(&f);                  // --addr, --secret, --kafka, else $SWITCHBOARD_*
//   flags.Int("seconds", &f.seconds);
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace switchboard::bench {

// Where the running suite is and how to reach it, as every benchmark needs it.
struct Suite {
  std::string addr = "127.0.0.1:50051";  // gRPC; SWITCHBOARD_ADDR
  std::string secret;                    // signs the bearer tokens; SWITCHBOARD_AUTH_SECRET
  std::string kafka;                     // bootstrap servers; SWITCHBOARD_KAFKA
};

class FlagReader {
 public:
  FlagReader(int argc, char** argv);

  // --addr (or `addr_flag`), --secret and --kafka, each else its environment variable.
  void Suite(bench::Suite* suite, const char* addr_flag = "addr") const;
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
