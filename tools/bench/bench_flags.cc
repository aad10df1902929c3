#include "tools/bench/bench_flags.h"

#include <cstdlib>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace switchboard::bench {

FlagReader::FlagReader(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (!absl::ConsumePrefix(&arg, "--")) continue;
    size_t eq = arg.find('=');
    if (eq == absl::string_view::npos) {
      switches_.emplace(arg);
    } else {
      values_[std::string(arg.substr(0, eq))] = std::string(arg.substr(eq + 1));
    }
  }
}

void FlagReader::Suite(bench::Suite* suite, const char* addr_flag) const {
  Text(addr_flag, &suite->addr, "SWITCHBOARD_ADDR");
  Text("secret", &suite->secret, "SWITCHBOARD_AUTH_SECRET");
  Text("kafka", &suite->kafka, "SWITCHBOARD_KAFKA");
}

void FlagReader::Text(const char* name, std::string* out, const char* env) const {
  if (auto it = values_.find(name); it != values_.end()) {
    *out = it->second;
  } else if (const char* v = env != nullptr ? std::getenv(env) : nullptr) {
    *out = v;
  }
}

void FlagReader::Int(const char* name, int64_t* out) const {
  if (auto it = values_.find(name); it != values_.end()) *out = std::atoll(it->second.c_str());
}

void FlagReader::Int(const char* name, int* out) const {
  if (auto it = values_.find(name); it != values_.end()) *out = std::atoi(it->second.c_str());
}

}  // namespace switchboard::bench
