// Time-ordered identifiers: UUIDv7 (RFC 9562) text, so ids sort by creation time, index well
// in PostgreSQL and carry no tenant data.
//
//   std::string call_id = core::NewId(clock);   // "019a6c1e-7a3b-7c41-9e2d-5b0f3a1c2d4e"
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "libs/core/clock.h"

namespace switchboard::core {

// A new UUIDv7 at clock.Now(). Ids made by one process are strictly increasing, even within
// one millisecond (the 12-bit rand_a field holds a counter, RFC 9562 §6.2 method 1).
std::string NewId(const Clock& clock = Clock::Real());

// The creation time encoded in a UUIDv7 id (millisecond precision), or InfinitePast if `id`
// is not a UUIDv7.
absl::Time IdTime(absl::string_view id);

bool IsUuid(absl::string_view id);

}  // namespace switchboard::core
