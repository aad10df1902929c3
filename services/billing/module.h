// The billing target: rates each finished call exactly once, limits and alerts, invoices, cost
// analytics.
//
//   billing::Register(registry);   // then --target=billing (or all) runs it
#pragma once

#include <vector>

#include "libs/pg/migrate.h"
#include "libs/runtime/module.h"

namespace switchboard::billing {

void Register(runtime::Registry& registry);

// The SQL files in migrations/, embedded at build time.
std::vector<pg::Migration> Migrations();

}  // namespace switchboard::billing
