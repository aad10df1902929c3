# Sourced by the deploy checks (check_chart.sh, check_image.sh): `run NAME FUNCTION [ARGS...]`
# runs one check in a subshell with errexit on and counts it: exit 0 passes, 77 ($SKIP) skips,
# anything else fails; each script prints the counts at its end.
# shellcheck shell=bash

passed=0 failed=0 skipped=0
SKIP=77

run() {
  local name=$1 rc
  shift
  set +e
  (set -euo pipefail; "$@")
  rc=$?
  set -e
  case $rc in
    0) echo "ok:   $name"; passed=$((passed + 1)) ;;
    "$SKIP") echo "skip: $name"; skipped=$((skipped + 1)) ;;
    *) echo "FAIL: $name"; failed=$((failed + 1)) ;;
  esac
}
