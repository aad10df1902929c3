// The eligibility target: answers "may this call happen, and if not, every reason why"; reserves
// rate-limit tokens at call start.
//
//   eligibility::Register(registry);   // then --target=eligibility (or all) runs it
#pragma once

#include <vector>

#include "libs/pg/migrate.h"
#include "libs/runtime/module.h"

namespace switchboard::eligibility {

void Register(runtime::Registry& registry);

// The SQL files in migrations/, embedded at build time.
std::vector<pg::Migration> Migrations();

}  // namespace switchboard::eligibility
