// Request rate per client (a token bucket per key: `rate` a second, bursts of `burst`), kept
// in memory by each replica (the gateway owns nothing durable). Thread-safe; time from the
// caller. Bounded: past `max_keys`, the buckets that have refilled are forgotten (a forgotten key
// starts full, so nothing changes for it), and if that is not enough, all of them.
#pragma once

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchboard::gateway::rules {

class Limiter {
 public:
  Limiter(double rate, double burst, size_t max_keys = 100000)
      : rate_(rate), burst_(burst), max_keys_(max_keys) {}

  // Takes one token for `key`: zero when allowed, else how long until one is available.
  absl::Duration Take(absl::string_view key, absl::Time now);

 private:
  struct Bucket {
    double tokens;
    absl::Time at;
  };
  void Evict(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double rate_;
  const double burst_;
  const size_t max_keys_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchboard::gateway::rules
