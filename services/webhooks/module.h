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

}  // namespace switchboard::webhooks
