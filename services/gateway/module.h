// The gateway target: every unary RPC of the suite as HTTP/1.1 JSON (the Connect protocol's
// unary shape), streamed downloads, and the notification stream as Server-Sent Events, for
// browsers and curl. It owns nothing durable (stream tickets live a minute in Redis).
//
//   gateway::Register(registry);   // then --target=gateway (or all) runs it
#pragma once

#include "libs/runtime/module.h"

namespace switchboard::gateway {

void Register(runtime::Registry& registry);

}  // namespace switchboard::gateway
