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
# sim COMMAND JSON: drive the Meta simulator (its customers and their phones).
sim() {
  curl -sf -X POST "$SWITCHBOARD_META_SIM/sim/$1" -H 'Content-Type: application/json' -d "$2"
}
# from WA_ID: the JSON fields naming a customer of the demo number.
from() { printf '"phone_number_id":"%s","from":"%s"' "$SWITCHBOARD_DEMO_NUMBER" "$1"; }
# wait_state CALL STATE: poll `calls get` (at most 15 s) until the call is in STATE.
wait_state() {
  for _ in $(seq 150); do
    "$ctl" calls get --call="$1" | grep -qE "^  state +$2\$" && return 0
    sleep 0.1
  done
  echo "  (call $1 did not reach $2 in 15 s)"; return 1
}
# newest_call WA_ID: the id of the contact's latest call, once its first webhook has landed.
newest_call() {
  local id=""
  for _ in $(seq 100); do
    id=$("$ctl" calls list --query="$1" --page-size=1 | awk 'NR == 2 { print $1 }')
    [ -n "$id" ] && break
    sleep 0.1
  done
  echo "$id"
}
agent1() { SWITCHBOARD_SUBJECT=agent-1 "$ctl" "$@"; }
demo_number=--number=$SWITCHBOARD_DEMO_NUMBER

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
echo "  valid (tenant demo): accepted; the tenant's latest calls:"
"$ctl" calls list --page-size=3 2>&1 | sed '/next page/d; s/^/  /'

# A fresh contact and business number each run, so the scenes replay on a running stack.
# Contacts are valid Brazilian mobiles (+55 11 9XXXX-XXXX: 13 digits); the consumers refuse
# events whose phone is not a valid E.164 number.
suffix=$(date +%s | tail -c 6)
number=10655$suffix
ana="--contact=55119999$suffix --number=$number"

scene "A tenant acts only through its own WhatsApp numbers"
printf '  number %s, not registered yet: ' "$number"
"$ctl" eligibility check --contact=55119999$suffix --number="$number" 2>&1 | sed 's/^error: //' || true
"$ctl" numbers register --phone-number-id="$number" --waba-id="$SWITCHBOARD_DEMO_WABA" \
  --display="+1 631-55$suffix" | sed 's/^/  /'

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
bruno="--contact=55119888$suffix --number=$number"
"$ctl" eligibility message $bruno --text="call me please" >/dev/null
"$ctl" eligibility consent $bruno --consent=meta_permission >/dev/null
for i in 1 2 3 4 5; do "$ctl" dev missed-call --contact="5511977$i$suffix" --number="$number"; done
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

scene "Routing: agents choose their call availability; teams say who rings for the number"
for a in agent-1 agent-2 agent-3; do
  SWITCHBOARD_SUBJECT=$a "$ctl" routing availability set --to=available >/dev/null
done
echo "  support rings agent-1 and agent-2 at once for 10 s, then escalates to backup;"
echo "  backup rings agent-3 for 5 s, then auto-replies to the caller:"
"$ctl" routing team set --team=backup --mode=broadcast --members=agent-3 --ring-timeout=5s \
  --fallback=auto_reply --text="Sorry we missed your call! An agent will call you back shortly."
"$ctl" routing team set --team=support --mode=broadcast --members=agent-1,agent-2 \
  --numbers="$SWITCHBOARD_DEMO_NUMBER" --ring-timeout=10s --fallback=escalation --escalate-to=backup
"$ctl" routing agents

scene "An inbound call: Carla calls; both agents' alerts ring; agent-1 answers first"
sim behaviour "{\"wa_id\":\"$carla\",\"name\":\"Carla Souza\",\"hang_up_after_ms\":4000}" >/dev/null
# agent-2's browser, as notifications streams it: the alert, then its withdrawal.
stream2=$(mktemp)
SWITCHBOARD_SUBJECT=agent-2 "$ctl" notifications watch --count=2 --for=30s >"$stream2" 2>&1 &
watch2=$!
echo "  Carla taps the call button in WhatsApp (she will hang up 4 s after an answer)"
sim call "{$(from "$carla")}" | sed 's/^/  meta: /'; echo
call_in=$(newest_call "$carla")
wait_state "$call_in" RINGING
"$ctl" calls get --call="$call_in" | grep -E '^  (state|offered) '
echo "  agent-1 clicks Answer: routing's claim first (one winner), then pre_accept + accept:"
agent1 calls answer --call="$call_in"
echo "  agent-2 clicks Answer a moment later; the call is taken, and its alert was withdrawn:"
SWITCHBOARD_SUBJECT=agent-2 "$ctl" calls answer --call="$call_in" 2>&1 | sed 's/^/  /' || true
wait "$watch2" || true
echo "  agent-2's live stream (switchboardctl notifications watch): the card rang, then went away:"
sed 's/^/    /' "$stream2"; rm -f "$stream2"
"$ctl" routing agents --filter='team_id = "support"'
wait_state "$call_in" ENDED
"$ctl" calls get --call="$call_in"
echo "  The call ended: agent-1 cools down (10 s in this stack, 60 s by default) ..."
"$ctl" routing availability --agent=agent-1 | sed -n 2,3p
for _ in $(seq 200); do
  "$ctl" routing availability --agent=agent-1 | grep -q 'AVAILABLE (' && break
  sleep 0.1
done
echo "  ... and is Available again by itself:"
"$ctl" routing availability --agent=agent-1 | sed -n 2p
echo "  agent-1 writes an internal note; the contact's notes list it across calls:"
agent1 calls notes add --call="$call_in" \
  --text="Carla wants a quote for 20 seats; call her back today." >/dev/null
"$ctl" calls notes list --contact="$carla"
echo "  The edge counted Meta's call webhooks:"
curl -s "http://$SWITCHBOARD_METRICS/metrics" \
  | grep -E '^switchboard_webhook_(requests|events)_total' || true

scene "A missed call: nobody answers Daniel; support escalates to backup, then auto-replies"
daniel=55219777$suffix
sim behaviour "{\"wa_id\":\"$daniel\",\"name\":\"Daniel Lima\"}" >/dev/null
sim message "{$(from "$daniel"),\"text\":\"Hi, I have a question about the new plan\"}" >/dev/null
sim call "{$(from "$daniel")}" >/dev/null
call_missed=$(newest_call "$daniel")
wait_state "$call_missed" RINGING
echo "  support rings agent-1 and agent-2 for 10 s (nobody picks up) ..."
"$ctl" calls get --call="$call_missed" | grep -E '^  (state|offered) '
for _ in $(seq 150); do
  "$ctl" calls get --call="$call_missed" | grep -q 'agent-3' && break
  sleep 0.1
done
echo "  ... then backup rings agent-3 for 5 s ..."
"$ctl" calls get --call="$call_missed" | grep -E '^  (state|offered) '
for _ in $(seq 100); do
  "$ctl" calls get --call="$call_missed" | grep -qE '^  state +MISSED$' && break
  sleep 0.1
done
echo "  ... and the fallback ran: the call is MISSED and Daniel got the auto-reply on WhatsApp"
"$ctl" calls get --call="$call_missed" | grep -E '^  (state|end reason|fallback|disconnected by|ended) '
for _ in $(seq 100); do
  curl -s "http://$SWITCHBOARD_METRICS/metrics" \
    | grep -q 'switchboard_notifications_outbound_total{outcome="sent_text"}' && break
  sleep 0.1
done
curl -s "http://$SWITCHBOARD_METRICS/metrics" | grep -E '^switchboard_(notifications_outbound|routing_fallbacks)_total' \
  | grep -v ' 0$' | sed 's/^/  /' || true
echo "  Each agent let one offer ring out; after 3 in a row an agent would go DND (MAX_NO_ANSWER)."
echo "  The supervisor's wallboard for support (today's calls; Carla's was answered there):"
"$ctl" routing team stats --team=support
echo "  ... and for backup, the team that rang Daniel last:"
"$ctl" routing team stats --team=backup | sed -n 2,3p
echo "  agent-1 schedules a callback for 3 s from now:"
"$ctl" calls callbacks schedule --contact="$daniel" "$demo_number" --in=3s --agent=agent-1 \
  --name="Daniel Lima" --phone="+$daniel" --source-call="$call_missed" \
  --note="Missed call; asked about the new plan"
for _ in $(seq 100); do
  "$ctl" calls callbacks list --filter="contact.wa_id = \"$daniel\" AND state = DUE" \
    | grep -q "Daniel Lima" && break
  sleep 0.1
done
echo "  ...and when it is due, it turns DUE (CallbackDue goes out on calls.state.v1):"
"$ctl" calls callbacks list --filter="contact.wa_id = \"$daniel\""

scene "An outbound call: agent-1 calls Carla back"
echo "  Carla asked to be called (her message above); agent-1 asks for WhatsApp's call permission:"
agent1 calls permission --contact="$carla" "$demo_number" \
  --text="Hi Carla, may we call you about your quote?"
echo "  ...and Carla taps Accept"
sim permission_reply \
  "{$(from "$carla"),\"response\":\"accept\",\"response_source\":\"user_action\"}" >/dev/null
for _ in $(seq 100); do
  agent1 eligibility check --contact="$carla" "$demo_number" | grep -q '^  ELIGIBLE' && break
  sleep 0.1
done
agent1 eligibility check --contact="$carla" "$demo_number"
sim behaviour "{\"wa_id\":\"$carla\",\"answer_after_ms\":1000,\"hang_up_after_ms\":-1}" >/dev/null
echo "  agent-1 clicks Call (eligibility reserves a rate-limit token, then Graph connect):"
call_out=$(agent1 calls start --contact="$carla" "$demo_number" --name="Carla Souza" \
  --phone="+$carla" --kind=user_requested)
echo "$call_out"
call_out=$(awk '{ print $1 }' <<<"$call_out")
echo "  Carla's phone rings; she picks up after a second:"
wait_state "$call_out" ANSWERED
"$ctl" calls list --query="$carla" --page-size=1 | sed -n 2p
sleep 2  # they talk
echo "  agent-1 hangs up; the call stays ANSWERED until Meta's terminate confirms the duration:"
agent1 calls end --call="$call_out"
wait_state "$call_out" ENDED
"$ctl" calls get --call="$call_out"

scene "Billing: every finished call is rated once; the month's usage against its limit"
echo "  Carla's call gets its cost from billing (default plan: \$0.005 a minute, whole minutes):"
for _ in $(seq 100); do
  "$ctl" billing entries --filter="call_id = \"$call_out\"" | grep -q CALL && break
  sleep 0.1
done
"$ctl" billing entries --filter="call_id = \"$call_out\""
for _ in $(seq 100); do
  "$ctl" calls get --call="$call_out" | grep -qE '^  cost +\$' && break
  sleep 0.1
done
"$ctl" calls get --call="$call_out" | grep -E '^  (duration|cost) '
# The usage card on a tenant of its own, so every run starts the month afresh.
card_tenant=usage-$(date +%s)
card() { SWITCHBOARD_TENANT=$card_tenant "$ctl" "$@"; }
wait_minutes() {  # wait_minutes N: until the card's tenant has used N minutes
  for _ in $(seq 100); do
    card --output=json billing usage | grep -q "\"minutesUsed\":\"$1\"" && return 0
    sleep 0.1
  done
}
echo "  A tenant on a 1 000-minute plan ($card_tenant) has talked 450 minutes this month:"
card billing plan set --limit=1000 >/dev/null
card dev ended-call --contact="$carla" "$demo_number" --ended="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --talk=27000s >/dev/null
wait_minutes 450
card billing usage
echo "  ...and 360 more: above 80 %, the card warns (and eligibility adds MONTHLY_MINUTES_NEAR_LIMIT):"
card dev ended-call --contact="$carla" "$demo_number" --ended="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --talk=21600s >/dev/null
wait_minutes 810
card billing usage
echo "  The admin buys 500 more minutes for this month:"
card billing topup --minutes=500

scene "Invoices: each month's, issued when it ends in the plan's zone, as PDF, CSV and JSON"
last_month=$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)
echo "  A call of last month ($last_month), as calls publishes it (dev ended-call):"
"$ctl" dev ended-call --contact="$carla" "$demo_number" --ended="${last_month}-28T15:00:00Z" \
  --talk=330s
invoice=""
for _ in $(seq 200); do  # the sweep issues a month's invoice within seconds of its end
  invoice=$("$ctl" billing invoices | awk -v m="$last_month" '$2 == "invoice" && $3 == m && $4 == "OPEN" { print $NF; exit }')
  [ -n "$invoice" ] && break
  sleep 0.1
done
"$ctl" billing invoices
echo "  Last month's invoice, line by line; it never changes once issued:"
"$ctl" billing invoice --id="$invoice"
"$ctl" billing download --id="$invoice" --format=pdf --out="$run/invoice.pdf"
"$ctl" billing download --id="$invoice" --format=csv --out="$run/invoice.csv"
if command -v pdftotext >/dev/null; then
  echo "  The PDF, read back with pdftotext:"
  pdftotext -layout "$run/invoice.pdf" - | sed '/^\s*$/d; s/^/    /' | head -12
fi

scene "The browser gateway: every API as JSON over HTTP, the stream as Server-Sent Events"
token=$(SWITCHBOARD_SUBJECT=agent-1 "$ctl" token --roles=agent)
echo "  POST $SWITCHBOARD_GATEWAY/switchboard.billing.v1.BillingService/GetUsage (as a supervisor):"
curl -s -X POST "$SWITCHBOARD_GATEWAY/switchboard.billing.v1.BillingService/GetUsage" \
  -H "Authorization: Bearer $("$ctl" token --roles=supervisor)" -H 'Content-Type: application/json' \
  -d '{}' | cut -c1-300 | sed 's/^/    /'; echo
echo "  The same fault as gRPC gives it, in the Connect error shape:"
curl -s -X POST "$SWITCHBOARD_GATEWAY/switchboard.calls.v1.CallsService/GetCall" \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"callId":"not-an-id"}' | sed 's/^/    /'; echo
echo "  A browser trades its token for a one-minute, single-use ticket, then opens the stream:"
ticket=$(curl -s -X POST "$SWITCHBOARD_GATEWAY/v1/events/tickets" \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{}' \
  | sed -E 's/.*"ticket":"([^"]+)".*/\1/')
curl -sN --max-time 2 "$SWITCHBOARD_GATEWAY/v1/events?ticket=$ticket" | cut -c1-160 \
  | sed 's/^/    /' || true
echo "  The ticket is spent once used:"
curl -s "$SWITCHBOARD_GATEWAY/v1/events?ticket=$ticket" | sed 's/^/    /'; echo

scene "RED metrics per method on /metrics"
curl -s "http://$SWITCHBOARD_METRICS/metrics" | grep -E '^switchboard_grpc_server_handled_total' | grep -v Health | head -8 || true
echo "  ..."
curl -s "http://$SWITCHBOARD_METRICS/metrics" | grep -E '^switchboard_eligibility_denials_total' | head -8 || true

scene "The Calls page: summary cards for this month, the latest calls, the CSV export"
"$ctl" calls stats
"$ctl" calls list --page-size=5
"$ctl" calls export --out="$run/calls.csv"
head -4 "$run/calls.csv" | sed 's/^/  /'

cat <<INFO

The suite is running.
  gRPC (all services)  $SWITCHBOARD_ADDR     health: $ctl health
  metrics              http://$SWITCHBOARD_METRICS/metrics
  kafka (embedded)     $SWITCHBOARD_KAFKA    e.g. kcat -L -b $SWITCHBOARD_KAFKA
  webhooks edge        http://$SWITCHBOARD_WEBHOOKS/webhooks/whatsapp
  console              $SWITCHBOARD_GATEWAY/console/?tenant=demo&agent=agent-1&roles=agent,supervisor,admin
                       (opens signed in as agent-1 through the demo's dev sign-in)
  browser gateway      $SWITCHBOARD_GATEWAY  JSON RPCs and /v1/events (docs/gateway.md)
  meta simulator       $SWITCHBOARD_META_SIM  e.g. curl -X POST $SWITCHBOARD_META_SIM/sim/stats
  logs                 $run/switchboard.log  (one JSON object per line)
  environment          . $run/env            (then $ctl ...)
Stop it with: make stop
INFO
