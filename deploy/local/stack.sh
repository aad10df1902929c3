#!/usr/bin/env bash
# The local stack: Redis and PostgreSQL as the current user on free loopback ports (as `nobody`
# when run as root, because PostgreSQL refuses root), the Meta simulator standing in for the
# WhatsApp Cloud API, and `switchboard --target=all` with an embedded Kafka. State lives in the
# run directory (.run/ by default); nothing uses a system service.
#
#   deploy/local/stack.sh up      # start (idempotent), writes .run/env
#   deploy/local/stack.sh down    # stop everything it started
#   deploy/local/stack.sh status
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
run=${SWITCHBOARD_RUN_DIR:-$repo/.run}
build=${SWITCHBOARD_BUILD_DIR:-$repo/build}
bin=$build/services/switchboard/switchboard
sim=$build/tools/meta-sim/meta-sim
# The demo's WhatsApp business number, as the simulator and the registry know it.
demo_number_id=106540352242922
demo_waba_id=102290129340398
demo_display="+1 631-555-3601"
mkdir -p "$run"

say() { printf '%s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}
wait_for() {  # wait_for SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}
pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
  die "PostgreSQL server binaries not found (run tools/install-deps.sh)"
}
as_db_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

redis_up() {
  if [ -f "$run/redis.port" ] && redis-cli -p "$(cat "$run/redis.port")" ping >/dev/null 2>&1; then
    return
  fi
  local port; port=$(free_port 6390)
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --pidfile "$run/redis.pid" --logfile "$run/redis.log" --dir "$run" >/dev/null
  wait_for 10 redis-cli -p "$port" ping || die "redis did not start; see $run/redis.log"
  echo "$port" > "$run/redis.port"
}

postgres_up() {
  local bin_dir; bin_dir=$(pg_bin)
  # PostgreSQL must be able to reach its data directory as the user it runs as.
  local data=$run/pg
  if [ "$(id -u)" -eq 0 ]; then data=/tmp/switchboard-pg-$(echo "$run" | md5sum | cut -c1-8); fi
  echo "$data" > "$run/pg.dir"
  if [ -f "$run/pg.port" ] && "$bin_dir/pg_isready" -q -h 127.0.0.1 -p "$(cat "$run/pg.port")"; then
    return
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown nobody: "$data"
    as_db_user "$bin_dir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      --no-instructions >"$run/initdb.log" 2>&1 || die "initdb failed; see $run/initdb.log"
  fi
  local port; port=$(free_port 5440)
  as_db_user "$bin_dir/pg_ctl" -D "$data" -l "$data/postgres.log" -w -t 30 \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1" start >/dev/null \
    || die "postgres did not start; see $data/postgres.log"
  echo "$port" > "$run/pg.port"
  psql -h 127.0.0.1 -p "$port" -U postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname='switchboard'" | grep -q 1 \
    || psql -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE switchboard" >/dev/null
}

secret() {  # secret NAME: a random hex secret kept in the run directory
  [ -f "$run/$1" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$run/$1"
  chmod 600 "$run/$1"
  cat "$run/$1"
}

# Alive, and not a zombie (a process killed with -9 stays one until its parent reaps it).
running() {
  [ -f "$run/$1.pid" ] || return 1
  local pid; pid=$(cat "$run/$1.pid")
  kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# The Meta simulator: the Graph API the suite calls, and the WhatsApp users whose signed
# webhooks it posts to the suite's edge.
meta_sim_up() {
  [ -x "$sim" ] || die "$sim is missing: run 'make build' first"
  running meta-sim && return
  local port; port=$(free_port 9090)
  [ -f "$run/webhooks.port" ] || free_port 8080 > "$run/webhooks.port"
  rm -f "$run/meta-sim.ready"
  "$sim" --host=127.0.0.1 --port="$port" --ready-file="$run/meta-sim.ready" \
    --phone-number-id="$demo_number_id" --waba-id="$demo_waba_id" \
    --display-phone-number="$demo_display" --access-token="$(secret meta-access-token)" \
    --app-secret="$(secret meta-app-secret)" \
    --callback-url="http://127.0.0.1:$(cat "$run/webhooks.port")/webhooks/whatsapp" \
    --ring-timeout=30s --webhook-retry-initial=200ms --webhook-retry-max=5s \
    >>"$run/meta-sim.log" 2>&1 &
  echo $! > "$run/meta-sim.pid"
  wait_for 10 test -f "$run/meta-sim.ready" || die "meta-sim did not start; see $run/meta-sim.log"
  echo "$port" > "$run/meta-sim.port"
}

switchboard_up() {
  [ -x "$bin" ] || die "$bin is missing: run 'make build' first"
  running switchboard && return
  local grpc metrics webhooks gateway
  grpc=$(free_port 50051); metrics=$(free_port 9464); webhooks=$(cat "$run/webhooks.port")
  gateway=$(free_port 8090)
  port_free "$webhooks" || die "port $webhooks (webhooks edge) is taken"
  rm -f "$run/ready.json"
  SWITCHBOARD_AUTH_SECRET=$(secret auth-secret) \
  SWITCHBOARD_META_APP_SECRET=$(secret meta-app-secret) \
  SWITCHBOARD_META_ACCESS_TOKEN=$(secret meta-access-token) \
  SWITCHBOARD_META_VERIFY_TOKEN=$(secret meta-verify-token) \
    "$bin" --target=all \
    --listen-host=127.0.0.1 --grpc-port="$grpc" --metrics-port="$metrics" \
    --webhooks-port="$webhooks" --gateway-port="$gateway" --meta-graph-url="http://127.0.0.1:$(cat "$run/meta-sim.port")" \
    --redis-url="redis://127.0.0.1:$(cat "$run/redis.port")/0" \
    --postgres-url="postgresql://postgres@127.0.0.1:$(cat "$run/pg.port")/switchboard" \
    --kafka-bootstrap-file="$run/kafka.bootstrap" --ready-file="$run/ready.json" \
    --agent-cooldown="${SWITCHBOARD_AGENT_COOLDOWN:-10s}" \
    --gateway-dev-sign-in=on \
    >>"$run/switchboard.log" 2>&1 &
  echo $! > "$run/switchboard.pid"
  wait_for 30 test -f "$run/ready.json" || die "switchboard did not start; see $run/switchboard.log"
  cat > "$run/env" <<ENV
export SWITCHBOARD_ADDR=127.0.0.1:$grpc
export SWITCHBOARD_METRICS=127.0.0.1:$metrics
export SWITCHBOARD_WEBHOOKS=127.0.0.1:$webhooks
export SWITCHBOARD_GATEWAY=http://127.0.0.1:$gateway
export SWITCHBOARD_KAFKA=$(cat "$run/kafka.bootstrap")
export SWITCHBOARD_AUTH_SECRET=$(cat "$run/auth-secret")
export SWITCHBOARD_META_APP_SECRET=$(cat "$run/meta-app-secret")
export SWITCHBOARD_META_SIM=http://127.0.0.1:$(cat "$run/meta-sim.port")
export SWITCHBOARD_DEMO_NUMBER=$demo_number_id
export SWITCHBOARD_DEMO_WABA=$demo_waba_id
export SWITCHBOARD_TENANT=demo
export SWITCHBOARD_SUBJECT=operator
ENV
}

stop_process() {  # stop_process NAME: SIGTERM, then SIGKILL after 30 s
  if [ -f "$run/$1.pid" ]; then
    local pid; pid=$(cat "$run/$1.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      wait_for 30 sh -c "! kill -0 $pid" || kill -KILL "$pid"
    fi
    rm -f "$run/$1.pid"
  fi
}

down() {
  stop_process switchboard
  stop_process meta-sim
  if [ -f "$run/pg.dir" ] && [ -f "$(cat "$run/pg.dir")/postmaster.pid" ]; then
    as_db_user "$(pg_bin)/pg_ctl" -D "$(cat "$run/pg.dir")" -m fast stop >/dev/null || true
  fi
  if [ -f "$run/redis.port" ]; then
    redis-cli -p "$(cat "$run/redis.port")" shutdown nosave >/dev/null 2>&1 || true
  fi
  rm -f "$run/redis.port" "$run/pg.port" "$run/ready.json" "$run/env" "$run/webhooks.port" \
    "$run/meta-sim.port" "$run/meta-sim.ready"
  say "stopped"
}

status() {
  [ -f "$run/env" ] || { say "not running"; return 1; }
  # shellcheck disable=SC1091
  . "$run/env"
  "$build/tools/switchboardctl/switchboardctl" health
}

case "${1:-up}" in
  up) redis_up; postgres_up; meta_sim_up; switchboard_up ;;
  down) down ;;
  status) status ;;
  *) die "usage: stack.sh up|down|status" ;;
esac
