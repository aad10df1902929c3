// runtime::Numbers for unit tests: a fixed set of (tenant, number) pairs.
//
//   runtime::testing::FakeNumbers numbers({{"acme", "106540352242922"}});
#pragma once

#include <set>
#include <string>
#include <utility>

#include "libs/runtime/numbers.h"

namespace switchboard::runtime::testing {

class FakeNumbers final : public Numbers {
 public:
  explicit FakeNumbers(std::set<std::pair<std::string, std::string>> owned)
      : owned_(std::move(owned)) {}

  absl::Status Check(const grpc::ServerContextBase*, absl::string_view tenant,
                     absl::string_view number) override {
    return Known(tenant, number).value_or(NumberNotFound(number));
  }
  std::optional<absl::Status> Known(absl::string_view tenant, absl::string_view number) override {
    if (owned_.count({std::string(tenant), std::string(number)}) > 0) return absl::OkStatus();
    return std::nullopt;
  }

 private:
  std::set<std::pair<std::string, std::string>> owned_;
};

}  // namespace switchboard::runtime::testing
