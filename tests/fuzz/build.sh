#!/usr/bin/env bash
# Builds a libFuzzer target with clang (the project builds with GCC; libFuzzer needs clang):
#   tests/fuzz/build.sh <output> <generated-proto-dir> <source>...
set -euo pipefail
out=$1 gen=$2
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck disable=SC2046
exec clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root" -I"$gen" -o "$out" "$@" \
  $(pkg-config --cflags --libs absl_statusor absl_strings absl_time protobuf) -lcrypto
