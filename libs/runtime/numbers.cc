#include "libs/runtime/numbers.h"

#include "absl/strings/str_cat.h"
#include "libs/api/reasons.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"
#include "libs/runtime/grpc.h"

namespace switchboard::runtime {
namespace {

constexpr size_t kMaxEntries = 100000;

std::string Key(absl::string_view tenant, absl::string_view number) {
  return absl::StrCat(tenant, "|", number);
}

}  // namespace

absl::Status NumberNotFound(absl::string_view number) {
  return core::Error(absl::StatusCode::kNotFound, api::kPhoneNumberNotFound,
                     "no such phone number in this tenant",
                     {{"phone_number_id", std::string(number)}});
}

RegistryNumbers::RegistryNumbers(std::shared_ptr<Peer<webhooks::v1::WebhooksService>> registry,
                                 const core::Clock& clock)
    : registry_(std::move(registry)), clock_(clock) {}

std::optional<absl::Status> RegistryNumbers::Known(absl::string_view tenant,
                                                   absl::string_view number) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(Key(tenant, number));
  if (it == entries_.end() || it->second.expires <= clock_.Now()) return std::nullopt;
  return absl::OkStatus();
}

absl::Status RegistryNumbers::Check(const grpc::ServerContextBase* incoming,
                                    absl::string_view tenant, absl::string_view number) {
  if (std::optional<absl::Status> known = Known(tenant, number)) return *known;
  webhooks::v1::GetPhoneNumberRequest req;
  req.set_phone_number_id(std::string(number));
  absl::Status asked =
      CallPeer(*registry_, incoming, &webhooks::v1::WebhooksService::Stub::GetPhoneNumber, req)
          .status();
  const std::string key = Key(tenant, number);
  if (asked.code() == absl::StatusCode::kNotFound ||
      asked.code() == absl::StatusCode::kInvalidArgument) {
    absl::MutexLock lock(&mu_);
    entries_.erase(key);  // deleted since
    return NumberNotFound(number);
  }
  absl::MutexLock lock(&mu_);
  if (!asked.ok()) {
    // The registry could not say: a yes, however old, beats refusing everyone.
    if (entries_.contains(key)) return absl::OkStatus();
    return core::Unavailable(
        "PHONE_NUMBER_REGISTRY_UNAVAILABLE",
        absl::StrCat("the number registry could not be asked: ", asked.message()));
  }
  if (entries_.size() >= kMaxEntries) entries_.clear();  // bounded; start over
  entries_[key] = {clock_.Now() + kOwnedTtl};
  return absl::OkStatus();
}

}  // namespace switchboard::runtime
