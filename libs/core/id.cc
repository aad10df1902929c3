#include "libs/core/id.h"

#include <array>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/synchronization/mutex.h"

namespace switchboard::core {
namespace {

struct Generator {
  absl::Mutex mu;
  int64_t last_ms ABSL_GUARDED_BY(mu) = -1;
  uint32_t counter ABSL_GUARDED_BY(mu) = 0;
  absl::BitGen bits ABSL_GUARDED_BY(mu);
};

Generator& TheGenerator() {
  static Generator* g = new Generator();
  return *g;
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::string NewId(const Clock& clock) {
  int64_t ms = absl::ToUnixMillis(clock.Now());
  uint64_t rand_b;
  uint32_t counter;
  {
    Generator& g = TheGenerator();
    absl::MutexLock lock(&g.mu);
    if (ms > g.last_ms) {
      g.last_ms = ms;
      // Start the counter low in its range so that many ids fit in one millisecond.
      g.counter = absl::Uniform<uint32_t>(g.bits, 0, 0x400);
    } else {
      // Same millisecond (or the clock went back): keep ordering by counting on from the last.
      ms = g.last_ms;
      if (++g.counter > 0xfff) {
        g.counter = 0;
        ms = ++g.last_ms;
      }
    }
    counter = g.counter;
    rand_b = absl::Uniform<uint64_t>(g.bits);
  }
  std::array<uint8_t, 16> b{};
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | ((counter >> 8) & 0x0f));
  b[7] = static_cast<uint8_t>(counter & 0xff);
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<uint8_t>(rand_b >> (56 - 8 * i));
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));

  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

bool IsUuid(absl::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(id[i]))) {
      return false;
    }
  }
  return true;
}

absl::Time IdTime(absl::string_view id) {
  if (!IsUuid(id) || id[14] != '7') return absl::InfinitePast();
  int64_t ms = 0;
  for (size_t i = 0; i < 13; ++i) {
    if (id[i] == '-') continue;
    char c = absl::ascii_tolower(static_cast<unsigned char>(id[i]));
    ms = ms * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return absl::FromUnixMillis(ms);
}

}  // namespace switchboard::core
