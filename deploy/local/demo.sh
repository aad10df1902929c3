#!/usr/bin/env bash
# `make demo`: brings the local stack up and walks through what the suite does today, then
# leaves it running. Each later issue adds its scene.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
run=${SWITCHBOARD_RUN_DIR:-$repo/.run}
build=${SWITCHBOARD_BUILD_DIR:-$repo/build}
ctl=$build/tools/switchboardctl/switchboardctl

"$repo/deploy/local/stack.sh" up
# shellcheck disable=SC1091
. "$run/env"

scene() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

scene "Every service reports on grpc.health.v1"
"$ctl" health

scene "The suite's Kafka topics, as kcat sees the embedded cluster ($SWITCHBOARD_KAFKA)"
kcat -L -b "$SWITCHBOARD_KAFKA" 2>/dev/null | grep -E '^  topic' | sed 's/^  /  /'

scene "Every call needs a bearer token; the tenant comes from it"
printf '  no token:            '; "$ctl" calls list --anonymous 2>&1 | sed 's/^error: //' || true
forged=$(SWITCHBOARD_AUTH_SECRET=not-the-suites-secret-at-all "$ctl" token --tenant=demo --subject=mallory)
printf '  forged signature:    '; "$ctl" calls list --token="$forged" 2>&1 | sed 's/^error: //' || true
expired=$("$ctl" token --tenant=demo --subject=agent-1 --ttl=-1m)
printf '  expired:             '; "$ctl" calls list --token="$expired" 2>&1 | sed 's/^error: //' || true
printf '  valid (tenant demo): '; "$ctl" calls list 2>&1 | sed 's/^error: //' || true
echo "  (the calls API answers UNIMPLEMENTED until its service lands: the token was accepted)"

scene "RED metrics per method on /metrics"
curl -s "http://$SWITCHBOARD_METRICS/metrics" | grep -E '^switchboard_grpc_server_handled_total' | head -6 || true

cat <<INFO

The suite is running.
  gRPC (all services)  $SWITCHBOARD_ADDR     health: $ctl health
  metrics              http://$SWITCHBOARD_METRICS/metrics
  kafka (embedded)     $SWITCHBOARD_KAFKA    e.g. kcat -L -b $SWITCHBOARD_KAFKA
  logs                 $run/switchboard.log  (one JSON object per line)
  environment          . $run/env            (then $ctl ...)
Stop it with: make stop
INFO
