#!/usr/bin/env bash
# Installs everything Switchboard needs to build, test and run locally, from Debian bookworm
# packages (and buf, playwright-core and the console's TypeScript, esbuild and uPlot from npm).
# Safe to run again: it only installs what is missing.
#
#   tools/install-deps.sh           # as root, or as a user with sudo
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  # rpc and serialisation
  libgrpc++-dev libgrpc-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libabsl-dev
  # stores and streams
  librdkafka-dev libhiredis-dev libpq-dev
  # observability, http, crypto, json, phone numbers
  prometheus-cpp-dev libcivetweb-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev
  libphonenumber-dev libicu-dev libjwt-dev libboost1.74-dev
  # invoices as PDF (cairo, with a font) and reading them back in tests (pdftotext)
  libcairo2-dev fonts-dejavu-core poppler-utils
  # tests and tools
  catch2 postgresql redis-server redis-tools kcat prometheus wrk clang libclang-rt-14-dev
  clang-format curl python3-yaml python3-jsonschema
  nodejs npm procps
  # a Python gRPC client in the reflection test (what grpcurl does, from Debian's packages)
  python3-grpcio python3-protobuf
  # the browser tests: Debian's Chromium, driven headless by playwright-core (below)
  chromium
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
  # nodejs/npm may come from elsewhere on developer machines; accept any working binary.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# buf (protobuf linter) from npm, pinned, into the project's tool directory.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$here/.tools/node_modules/.bin/buf" ]; then
  echo "install-deps: installing buf into .tools/"
  mkdir -p "$here/.tools"
  npm install --silent --no-audit --no-fund --prefix "$here/.tools" @bufbuild/buf@1.47.2 >/dev/null
fi
# playwright-core drives Debian's Chromium in the browser tests; it never downloads a browser.
if [ ! -d "$here/.tools/node_modules/playwright-core" ]; then
  echo "install-deps: installing playwright-core into .tools/"
  npm install --silent --no-audit --no-fund --prefix "$here/.tools" playwright-core@1.64.1 >/dev/null
fi
# The console's toolchain (TypeScript, esbuild) and its chart library (uPlot), pinned; the
# gateway's build bundles the console with them (services/gateway/console/build.mjs).
if [ ! -d "$here/.tools/node_modules/esbuild" ] || [ ! -d "$here/.tools/node_modules/typescript" ] ||
   [ ! -d "$here/.tools/node_modules/uplot" ]; then
  echo "install-deps: installing typescript, esbuild and uplot into .tools/"
  npm install --silent --no-audit --no-fund --prefix "$here/.tools" typescript@5.9.3 esbuild@0.28.2 \
    uplot@1.6.32 >/dev/null
fi
echo "install-deps: ok"
