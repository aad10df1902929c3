#!/usr/bin/env bash
# Builds one target of the sanitized tree (AddressSanitizer + UndefinedBehaviorSanitizer) beside
# the main build: tests/fuzz/sanitized.sh <source dir> <tree> <target> [werror].
# Configures the tree the first time; afterwards its own ninja re-runs CMake when needed.
set -euo pipefail
src=$1 tree=$2 target=$3 werror=${4:-OFF}
if [[ ! -f $tree/build.ninja ]]; then
  cmake -S "$src" -B "$tree" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSWITCHBOARD_SANITIZE=ON -DSWITCHBOARD_WERROR="$werror" >/dev/null
fi
exec ninja -C "$tree" "$target"
