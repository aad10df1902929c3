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
echo "  (the token was accepted; the calls API answers UNIMPLEMENTED until its service lands)"

# A fresh contact and business number each run, so the scenes replay on a running stack.
suffix=$(date +%s | tail -c 6)
number=10655$suffix
ana="--contact=551199999$suffix --number=$number"

scene "Eligibility: may an agent call Ana on number $number? Every reason, for the tooltip"
"$ctl" eligibility check $ana
echo '  Ana writes: "Olá! Pode me ligar amanhã?"'
"$ctl" eligibility message $ana --text="Olá! Pode me ligar amanhã?"
"$ctl" eligibility check $ana
echo '  Ana accepts the WhatsApp call permission request'
"$ctl" eligibility consent $ana --consent=meta_permission
"$ctl" eligibility check $ana

scene "Rate limit: five calls a minute per number; the sixth reservation takes nothing"
for i in 1 2 3 4 5 6; do "$ctl" eligibility reserve $ana | head -2; done
"$ctl" eligibility check $ana

scene "Suspension: five missed calls in 30 minutes pause calling for 15 minutes"
bruno="--contact=551188888$suffix --number=$number"
"$ctl" eligibility message $bruno --text="call me please" >/dev/null
"$ctl" eligibility consent $bruno --consent=meta_permission >/dev/null
for i in 1 2 3 4 5; do "$ctl" dev missed-call --contact="55117777$i$suffix" --number="$number"; done
for _ in $(seq 100); do
  "$ctl" eligibility check $bruno | grep -q SUSPENDED_MISSED_CALLS && break
  sleep 0.1
done
"$ctl" eligibility check $bruno

scene "Ana changes her mind: opt-outs are detected in seven languages, negations included"
"$ctl" eligibility message $ana --text="Por favor, não me ligue mais"
"$ctl" eligibility check $ana | head -3

scene "WhatsApp edge: Meta's signed webhooks in (the Meta simulator plays Meta and the customers)"
echo "  The tenant registers its WhatsApp number; webhooks for it now reach the tenant"
"$ctl" numbers register --phone-number-id="$SWITCHBOARD_DEMO_NUMBER" \
  --waba-id="$SWITCHBOARD_DEMO_WABA" --display="+1 631-555-3601"
edge="http://$SWITCHBOARD_WEBHOOKS/webhooks/whatsapp"
verify=$(cat "$run/meta-verify-token")
printf '  subscription handshake, right token: '
curl -s "$edge?hub.mode=subscribe&hub.verify_token=$verify&hub.challenge=1158201444"; echo
printf '  subscription handshake, wrong token: HTTP '
curl -s -o /dev/null -w '%{http_code}\n' "$edge?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"
printf '  a POST without a signature:          HTTP '
curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' -d '{}' "$edge"
printf '  a POST with a forged signature:      HTTP '
curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
  -H "X-Hub-Signature-256: sha256=$(printf '%064d' 0)" -d '{}' "$edge"
carla=55119668$suffix
echo "  Carla (+$carla) writes on WhatsApp: \"Can you call me this afternoon?\""
curl -s -X POST "$SWITCHBOARD_META_SIM/sim/message" -H 'Content-Type: application/json' \
  -d "{\"phone_number_id\":\"$SWITCHBOARD_DEMO_NUMBER\",\"from\":\"$carla\",\"text\":\"Can you call me this afternoon?\"}" >/dev/null
echo "  The webhook is verified, published on whatsapp.events.v1, and eligibility reads it:"
for _ in $(seq 100); do
  "$ctl" eligibility check --contact="$carla" --number="$SWITCHBOARD_DEMO_NUMBER" \
    | grep -q NO_CONVERSATION_HISTORY || break
  sleep 0.1
done
"$ctl" eligibility check --contact="$carla" --number="$SWITCHBOARD_DEMO_NUMBER"
echo "  Carla calls the business (nobody answers yet: the calls service comes next)"
curl -s -X POST "$SWITCHBOARD_META_SIM/sim/call" -H 'Content-Type: application/json' \
  -d "{\"phone_number_id\":\"$SWITCHBOARD_DEMO_NUMBER\",\"from\":\"$carla\"}"; echo
for _ in $(seq 50); do
  curl -s "http://$SWITCHBOARD_METRICS/metrics" | grep -q 'kind="call_connected",outcome="published"' && break
  sleep 0.1
done
curl -s "http://$SWITCHBOARD_METRICS/metrics" | grep -E '^switchboard_webhook_(requests|events)_total' || true

scene "RED metrics per method on /metrics"
curl -s "http://$SWITCHBOARD_METRICS/metrics" | grep -E '^switchboard_grpc_server_handled_total' | grep -v Health | head -8 || true
echo "  ..."
curl -s "http://$SWITCHBOARD_METRICS/metrics" | grep -E '^switchboard_eligibility_denials_total' | head -8 || true

cat <<INFO

The suite is running.
  gRPC (all services)  $SWITCHBOARD_ADDR     health: $ctl health
  metrics              http://$SWITCHBOARD_METRICS/metrics
  kafka (embedded)     $SWITCHBOARD_KAFKA    e.g. kcat -L -b $SWITCHBOARD_KAFKA
  webhooks edge        http://$SWITCHBOARD_WEBHOOKS/webhooks/whatsapp
  meta simulator       $SWITCHBOARD_META_SIM  e.g. curl -X POST $SWITCHBOARD_META_SIM/sim/stats
  logs                 $run/switchboard.log  (one JSON object per line)
  environment          . $run/env            (then $ctl ...)
Stop it with: make stop
INFO
