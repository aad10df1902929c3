// The built switchboardctl as a user runs it (SWITCHBOARDCTL_BIN): what it prints where, and its
// exit codes. No server: the one command that dials an address finds nothing listening there.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/support/servers.h"
#include "tools/switchboardctl/run_result.h"

namespace switchboard::cli {
namespace {

// Runs the binary with `args`, without the SWITCHBOARD_* variables of the calling shell.
Result Run(const std::vector<std::string>& args) {
  const std::string dir = testing::TempDir("switchboardctl-test");
  std::string command =
      "(env -u SWITCHBOARD_OUTPUT -u SWITCHBOARD_ADDR -u SWITCHBOARD_TOKEN "
      "-u SWITCHBOARD_AUTH_SECRET " SWITCHBOARDCTL_BIN;
  for (const std::string& a : args) {
    absl::StrAppend(&command, " '", absl::StrReplaceAll(a, {{"'", "'\\''"}}), "'");
  }
  // testing::Run() sends the subshell's stderr to stdout; the binary's goes to the file.
  absl::StrAppend(&command, " 2>", dir, "/stderr)");
  Result r;
  r.code = testing::Run(command, &r.out);
  std::ifstream err(dir + "/stderr");
  std::stringstream text;
  text << err.rdbuf();
  r.err = text.str();
  std::filesystem::remove_all(dir);
  return r;
}

// The texts themselves are cli_test's; here the process: stdout, nothing on stderr, exit 0.
TEST_CASE("switchboardctl --version and --help print on stdout and exit 0") {
  const Result version = Run({"--version"});
  CHECK(version.code == 0);
  CHECK(version.err.empty());
  CHECK(version.out == "switchboardctl 0.1.0\n");
  const Result help = Run({"--help"});
  CHECK(help.code == 0);
  CHECK(help.err.empty());
  CHECK(absl::StartsWith(help.out, "usage: switchboardctl "));
}

TEST_CASE("switchboardctl calls list --bogus=1: a usage error, exit code 2") {
  Result r = Run({"calls", "list", "--bogus=1"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "switchboardctl: calls list: unknown flag --bogus (see --help)\n");
}

TEST_CASE("switchboardctl calls list where nothing listens: exit code 1, the address named") {
  const std::string addr = absl::StrCat("127.0.0.1:", testing::FreePort());
  Result text = Run({"calls", "list", "--addr=" + addr, "--token=t"});
  CHECK(text.code == 1);
  CHECK(text.out.empty());
  INFO(text.err);
  CHECK(absl::StartsWith(text.err, absl::StrCat("error: UNAVAILABLE cannot reach ", addr, ": ")));
  CHECK(absl::EndsWith(text.err, "\n"));
  CHECK(std::count(text.err.begin(), text.err.end(), '\n') == 1);

  Result json = Run({"calls", "list", "--addr=" + addr, "--token=t", "--output=json"});
  CHECK(json.code == 1);
  CHECK(json.out.empty());
  INFO(json.err);
  CHECK(absl::StartsWith(
      json.err, absl::StrCat(R"({"code":"UNAVAILABLE","message":"cannot reach )", addr, ": ")));
  CHECK(absl::EndsWith(json.err, R"(","reason":"","metadata":{}})"
                                 "\n"));
}

}  // namespace
}  // namespace switchboard::cli
