// What one run of switchboardctl printed and returned, as its tests see it: Main() in process
// (cli_test.cc) or the built binary (binary_test.cc).
#pragma once

#include <string>

namespace switchboard::cli {

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

}  // namespace switchboard::cli
