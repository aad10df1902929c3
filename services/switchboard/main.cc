// The one binary: `switchboard --target=all` runs every service in one process,
// `--target=calls` (or a comma list) runs a subset. See libs/runtime/app.h.
#include "libs/runtime/app.h"
#include "services/billing/module.h"
#include "services/calls/module.h"
#include "services/eligibility/module.h"
#include "services/gateway/module.h"
#include "services/notifications/module.h"
#include "services/routing/module.h"
#include "services/webhooks/module.h"

int main(int argc, char** argv) {
  using namespace switchboard;  // NOLINT
  runtime::Registry registry;
  runtime::RegisterInfrastructure(registry);
  eligibility::Register(registry);
  calls::Register(registry);
  routing::Register(registry);
  billing::Register(registry);
  notifications::Register(registry);
  webhooks::Register(registry);
  gateway::Register(registry);
  return runtime::Main(registry, argc, argv);
}
