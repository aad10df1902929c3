#include "libs/core/clock.h"

namespace switchboard::core {

Clock& Clock::Real() {
  static RealClock* clock = new RealClock();
  return *clock;
}

}  // namespace switchboard::core
