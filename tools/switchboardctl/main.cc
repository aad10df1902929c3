// switchboardctl: the operator's and the demo's command line for a running suite.
//
//   switchboardctl token --tenant=acme --subject=agent-1 --roles=agent
//   switchboardctl calls list --filter='state = MISSED' --page-size=20 --output=json
//
// This file only dispatches: each command's code is in its own file (commands.h), the shared
// plumbing in cli.h. A new service's commands add one line to the table below.
#include <string>
#include <vector>

#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"

int main(int argc, char** argv) {
  using namespace switchboard::cli;  // NOLINT
  // In the order --help lists them.
  const std::vector<const Command*> commands = {
      &kTokenCommand,          //
      &kHealthCommand,         //
      &kCallsCommand,          //
      &kEligibilityCommand,    //
      &kNumbersCommand,        //
      &kRoutingCommand,        //
      &kBillingCommand,        //
      &kNotificationsCommand,  //
      &kDeadLettersCommand,    //
      &kDevCommand,            //
  };
  return Main(std::vector<std::string>(argv + 1, argv + argc), commands);
}
