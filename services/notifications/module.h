// The notifications target: live event streams to dashboards and agents, missed-call auto-replies,
// usage and suspension alerts.
//
//   notifications::Register(registry);   // then --target=notifications (or all) runs it
#pragma once

#include <vector>

#include "libs/pg/migrate.h"
#include "libs/runtime/module.h"

namespace switchboard::notifications {

void Register(runtime::Registry& registry);

// The SQL files in migrations/, embedded at build time.
std::vector<pg::Migration> Migrations();

}  // namespace switchboard::notifications
