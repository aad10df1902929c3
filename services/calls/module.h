// The calls target: the call state machine, ring timeouts, Graph API call actions,
// history/search/export/analytics, timeline entries.
//
//   calls::Register(registry);   // then --target=calls (or all) runs it
#pragma once

#include <vector>

#include "libs/pg/migrate.h"
#include "libs/runtime/module.h"

namespace switchboard::calls {

void Register(runtime::Registry& registry);

// The SQL files in migrations/, embedded at build time.
std::vector<pg::Migration> Migrations();

}  // namespace switchboard::calls
