#!/usr/bin/env bash
# Runs a fuzz target over its seed corpus for a while (default 20 s, as `make test` does):
#   tests/fuzz/run.sh build/tests/fuzz/webhook_fuzz tests/fuzz/corpus/webhooks [seconds]
# New inputs go to a scratch copy of the corpus; crashes are written to the current directory.
set -euo pipefail
target=$1 seeds=$2 seconds=${3:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds"/. "$work"/
exec "$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -max_len=65536 \
  -print_final_stats=1 "$work"
