// The webhooks target: Meta's webhook verification handshake and signed POSTs turned into typed
// Kafka events.
//
//   webhooks::Register(registry);   // then --target=webhooks (or all) runs it
#pragma once

#include <vector>

#include "libs/pg/migrate.h"
#include "libs/runtime/module.h"

namespace switchboard::webhooks {

void Register(runtime::Registry& registry);

// The schema's migrations (migrations/*.sql, embedded at build time).
std::vector<pg::Migration> Migrations();

}  // namespace switchboard::webhooks
