// The routing target: picks and rings agents, first-answer-wins claims, cooldown, fallbacks.
//
//   routing::Register(registry);   // then --target=routing (or all) runs it
#pragma once

#include <vector>

#include "libs/pg/migrate.h"
#include "libs/runtime/module.h"

namespace switchboard::routing {

void Register(runtime::Registry& registry);

// The SQL files in migrations/, embedded at build time.
std::vector<pg::Migration> Migrations();

}  // namespace switchboard::routing
