#include "services/gateway/rules/limiter.h"

#include <algorithm>

namespace switchboard::gateway::rules {

absl::Duration Limiter::Take(absl::string_view key, absl::Time now) {
  if (rate_ <= 0) return absl::ZeroDuration();  // unlimited
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) Evict(now);
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  if (now > b.at) {
    b.tokens = std::min(burst_, b.tokens + absl::ToDoubleSeconds(now - b.at) * rate_);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1 - b.tokens) / rate_);
}

void Limiter::Evict(absl::Time now) {
  // A bucket refilled to the brim is the same as none: forget those first, else everything.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    auto current = it++;
    if (current->second.tokens + absl::ToDoubleSeconds(now - current->second.at) * rate_ >=
        burst_) {
      buckets_.erase(current);
    }
  }
  if (buckets_.size() >= max_keys_) buckets_.clear();
}

}  // namespace switchboard::gateway::rules
