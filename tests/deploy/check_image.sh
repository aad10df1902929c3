#!/usr/bin/env bash
# Checks the container image (deploy/image/Containerfile) against the built binary.
#
# Always, statically (no container engine needed):
#   1. every shared library `ldd BINARY` shows resolves, and comes from a Debian package the
#      runtime stage has: one of deploy/image/runtime-packages.txt, one of debian:bookworm-slim's
#      own packages (deploy/image/slim-base-packages.txt), or a dependency apt installs with a
#      listed package (Depends/Pre-Depends, read from this machine's dpkg database). A library
#      the binary links directly (readelf: NEEDED) must come from the list or the base itself,
#      not only through some other package's dependencies;
#   2. runtime-packages.txt names no package the binary does not need: each one owns a library
#      ldd shows;
#   3. the Containerfile's runtime stage is FROM debian:bookworm-slim, installs
#      runtime-packages.txt with --no-install-recommends, runs as USER 65532:65532, has
#      ENTRYPOINT the path the chart runs, exposes the chart's ports, and no image is :latest or
#      untagged; the chart's pod securityContext runs as 65532:65532; .dockerignore keeps build
#      trees, .tools/ and .run/ (local secrets) out of the build context;
#   4. prints the version of each runtime package installed here next to the one apt would
#      install now (the image gets bookworm's current one).
# Then, where a container engine can really build (podman, docker or buildah that has or can
# pull debian:bookworm-slim and passes a RUN probe), it also builds the runtime stage with the
# given binary in place of the build stage's and runs `switchboard --help`, `id` and `ldd` in
# it as 65532. With CHECK_IMAGE_FULL_BUILD=1 it builds the whole Containerfile instead (a full
# Release compile). CHECK_IMAGE_ENGINE=podman|docker|buildah|none picks or disables the engine.
#
#   tests/deploy/check_image.sh BINARY [REPO_ROOT] [MORE_BINARIES...]
#
# MORE_BINARIES (e.g. switchboardctl, also in the image) get check 1 and count for check 2;
# one that does not exist is skipped. Exit 0: all passed; 1: a check failed; 2: bad usage.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BINARY [REPO_ROOT] [MORE_BINARIES...]" >&2
  exit 2
fi
binary=$1
root=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
root=$(cd "$root" && pwd)
shift $(($# >= 2 ? 2 : 1))
image_dir="$root/deploy/image"
containerfile="$image_dir/Containerfile"
pkg_list="$image_dir/runtime-packages.txt"
base_list="$image_dir/slim-base-packages.txt"
values="$root/charts/switchboard/values.yaml"
deployment="$root/charts/switchboard/templates/deployment.yaml"
uid=65532

[ -x "$binary" ] || { echo "FAIL: $binary is not an executable (build the switchboard target)"; exit 1; }
binaries=("$binary")
for b in "$@"; do
  if [ -x "$b" ]; then binaries+=("$b"); else echo "note: $b not built, not checked"; fi
done
for f in "$containerfile" "$pkg_list" "$base_list" "$values" "$deployment"; do
  [ -f "$f" ] || { echo "FAIL: $f is missing"; exit 1; }
done

work=$(mktemp -d)
engine_image=""
cleanup() {
  if [ -n "$engine_image" ]; then "$engine" rmi -f "$engine_image" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=tests/deploy/run_checks.sh
. "$(dirname "${BASH_SOURCE[0]}")/run_checks.sh"

# Package names from a list file: '#' starts a comment, blank lines ignored.
read_list() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$1" | grep -v '^$' || true; }

read_list "$pkg_list" | sort > "$work/listed"
read_list "$base_list" | sort -u > "$work/base"
if [ -n "$(sort "$work/listed" | uniq -d)" ]; then
  echo "FAIL: runtime-packages.txt names a package twice: $(sort "$work/listed" | uniq -d | tr '\n' ' ')"
  exit 1
fi

# The runtime stage: from the last FROM line to the end of the file.
last_from=$(grep -n -i '^[[:space:]]*FROM[[:space:]]' "$containerfile" | tail -n 1 | cut -d: -f1) || true
[ -n "$last_from" ] || { echo "FAIL: $containerfile has no FROM line"; exit 1; }
tail -n "+$last_from" "$containerfile" > "$work/runtime-stage"

# --- what the binaries load -------------------------------------------------------------------

# Each library ldd shows: "binary soname path realpath" (the loader too; linux-vdso.so.1 has no
# file).
: > "$work/loaded"
: > "$work/needed"    # lines: binary soname (direct NEEDED)
: > "$work/unresolved"
for b in "${binaries[@]}"; do
  name=$(basename "$b")
  if ! ldd_out=$(ldd "$b" 2>&1); then
    echo "FAIL: ldd $b: $ldd_out"
    exit 1
  fi
  while read -r line; do
    case "$line" in
      *"=> not found"*) echo "$name ${line%% *}" >> "$work/unresolved" ;;
      *"=> /"*) path=${line#*=> }; path=${path%% (*}
                echo "$name ${line%% *} $path $(readlink -f "$path")" >> "$work/loaded" ;;
      /*) path=${line%% (*}; echo "$name ${path##*/} $path $(readlink -f "$path")" >> "$work/loaded" ;;
    esac
  done <<< "$ldd_out"
  readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sed "s/^/$name /" >> "$work/needed"
done

# The Debian package that owns each library, asking dpkg once for all of them: the path ldd
# gives and the file it links to, each also spelt with and without /usr (bookworm is
# merged-/usr, and dpkg knows a file by the name its package shipped it under).
spellings() {  # sets the array `spelt`
  local c
  spelt=()
  for c in "$@"; do
    case "$c" in /usr/*) spelt+=("$c" "${c#/usr}") ;; *) spelt+=("$c" "/usr$c") ;; esac
  done
}
declare -A owner_of=()
while read -r _ _ path real; do
  spellings "$path" "$real"
  printf '%s\n' "${spelt[@]}"
done < "$work/loaded" | sort -u > "$work/paths"
if [ -s "$work/paths" ]; then
  # "libfoo1:amd64: /usr/lib/..." (or "a:amd64, a:i386: path"); paths dpkg does not know fail
  # on stderr, which is expected.
  while IFS= read -r line; do
    path=${line##*: }
    pkgs=${line%: /*}
    pkg=${pkgs%%,*}
    owner_of[$path]=${pkg%%:*}
  done < <(xargs dpkg -S < "$work/paths" 2>/dev/null | grep -v '^diversion by' || true)
fi
: > "$work/libs"      # lines: binary soname path package ("?": no package owns it)
while read -r b so path real; do
  pkg="?"
  spellings "$real" "$path"
  for c in "${spelt[@]}"; do
    if [ -n "${owner_of[$c]:-}" ]; then pkg=${owner_of[$c]}; break; fi
  done
  echo "$b $so $path $pkg" >> "$work/libs"
done < "$work/loaded"
awk '{print $4}' "$work/libs" | sort -u > "$work/lib-packages"

# The packages apt installs with the listed ones: Pre-Depends and Depends, recursively, from the
# dpkg database here (the same bookworm packages the image gets). An alternative ("a | b") that
# the base already satisfies adds nothing; otherwise the first one installed here is followed.
dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Pre-Depends}, ${Depends}\n' |
  awk -F '\t' '$1 ~ /^ii/ {print $2 "\t" $3}' > "$work/depends-db"
declare -A deps_of=() in_base=() in_list=() via=()
while read -r p; do in_list[$p]=1; done < "$work/listed"
while IFS=$'\t' read -r p d; do deps_of[$p]=$d; done < "$work/depends-db"
while read -r p; do in_base[$p]=1; done < "$work/base"
queue=()
while read -r p; do via[$p]="listed"; queue+=("$p"); done < "$work/listed"
while [ ${#queue[@]} -gt 0 ]; do
  p=${queue[0]}
  queue=("${queue[@]:1}")
  IFS=',' read -r -a items <<< "${deps_of[$p]:-}"
  for item in "${items[@]}"; do
    chosen=""
    satisfied=""
    IFS='|' read -r -a alts <<< "$item"
    for alt in "${alts[@]}"; do
      alt=${alt%%(*}              # "libc6 (>= 2.34)" -> "libc6 "
      alt=${alt//[[:space:]]/}
      alt=${alt%%:*}              # "python3:any" -> "python3"
      [ -n "$alt" ] || continue
      if [ -n "${in_base[$alt]:-}" ] || [ "${via[$alt]:-}" = "listed" ]; then satisfied=1; break; fi
      if [ -z "$chosen" ] && [ -n "${deps_of[$alt]+x}" ]; then chosen=$alt; fi
    done
    if [ -z "$satisfied" ] && [ -n "$chosen" ] && [ -z "${via[$chosen]:-}" ]; then
      via[$chosen]="$p"
      queue+=("$chosen")
    fi
  done
done
# chain PACKAGE: "libkrb5-3 <- libgssapi-krb5-2 <- libcurl4"
chain() {
  local p=$1 out=$1
  while [ "${via[$p]:-listed}" != "listed" ]; do p=${via[$p]}; out="$out <- $p"; done
  echo "$out"
}

# --- 1. every library resolves and is in the image ----------------------------------------------

check_resolved() {
  if [ -s "$work/unresolved" ]; then
    echo "  ldd cannot find these here (a binary from another machine, or a package removed since):"
    sed 's/^/    /' "$work/unresolved"
    return 1
  fi
  echo "  $(sort -u -k2,2 "$work/libs" | wc -l) libraries, all found"
}

check_libraries_in_image() {
  local bad=0 b so path pkg how
  declare -A seen=()
  while read -r b so path pkg; do
    [ -z "${seen[$so]:-}" ] || continue
    seen[$so]=1
    if [ "$pkg" = "?" ]; then
      echo "  $so ($path, for $b): no Debian package owns it; the image cannot install it"
      bad=1; continue
    fi
    if [ -n "${in_list[$pkg]:-}" ]; then how="runtime-packages.txt"
    elif [ -n "${in_base[$pkg]:-}" ]; then how="bookworm-slim"
    elif [ -n "${via[$pkg]:-}" ]; then how="dependency: $(chain "$pkg")"
    else
      echo "  $so ($b) comes from $pkg, which the image would not have: add $pkg to" \
        "deploy/image/runtime-packages.txt"
      bad=1; continue
    fi
    printf '  %-48s %-28s %s\n' "$so" "$pkg" "$how"
  done < <(sort -k1,1 -s "$work/libs")
  return $bad
}

check_direct_libraries_named() {
  local bad=0 b so pkg
  local -A reported=()
  while read -r b so; do
    pkg=$(awk -v b="$b" -v so="$so" '$1 == b && $2 == so {print $4; exit}' "$work/libs")
    if [ -z "$pkg" ] || [ "$pkg" = "?" ]; then continue; fi  # reported by the checks above
    [ -z "${reported[$pkg]:-}" ] || continue
    if [ -z "${in_list[$pkg]:-}" ] && [ -z "${in_base[$pkg]:-}" ]; then
      if [ -n "${via[$pkg]:-}" ]; then
        echo "  $b links $so directly; its package $pkg is in the image only as a dependency" \
          "($(chain "$pkg")): list $pkg in deploy/image/runtime-packages.txt"
      else
        echo "  $b links $so directly; its package $pkg is not in the image: list $pkg in" \
          "deploy/image/runtime-packages.txt"
      fi
      reported[$pkg]=1
      bad=1
    fi
  done < "$work/needed"
  [ $bad -eq 0 ] && echo "  $(awk '{print $2}' "$work/needed" | sort -u | wc -l) direct (NEEDED) libraries, each from a listed or base package"
  return $bad
}

# --- 2. nothing listed that is not needed -------------------------------------------------------

check_no_extra_packages() {
  local bad=0 p
  while read -r p; do
    if ! grep -qx "$p" "$work/lib-packages"; then
      echo "  runtime-packages.txt lists $p, but no library the binary loads comes from it:" \
        "remove it (ca-certificates and other non-library packages belong in the Containerfile)"
      bad=1
    elif [ -n "${in_base[$p]:-}" ]; then
      echo "  note: $p is also in bookworm-slim; listed anyway as a direct dependency"
    fi
  done < "$work/listed"
  return $bad
}

# --- 3. the Containerfile and the chart ---------------------------------------------------------

check_runtime_stage() {
  local bad=0 stage="$work/runtime-stage" entry chart_cmd user_line
  if ! grep -qiE '^[[:space:]]*FROM[[:space:]]+(docker\.io/(library/)?)?debian:bookworm-slim([[:space:]]|$)' "$stage"; then
    echo "  the last stage is not FROM debian:bookworm-slim: $(head -n 1 "$stage")"; bad=1
  fi
  if ! grep -q 'runtime-packages\.txt' "$stage" || ! grep -q -- '--no-install-recommends' "$stage"; then
    echo "  the runtime stage does not install deploy/image/runtime-packages.txt with --no-install-recommends"; bad=1
  fi
  if ! grep -q 'ca-certificates' "$stage"; then
    echo "  the runtime stage does not install ca-certificates"; bad=1
  fi
  user_line=$(grep -iE '^[[:space:]]*USER[[:space:]]' "$stage" | tail -n 1 | awk '{print $2}')
  if [ "$user_line" != "$uid:$uid" ]; then
    echo "  the runtime stage's last USER is '${user_line:-none}', not the numeric $uid:$uid"; bad=1
  fi
  entry=$(grep -iE '^[[:space:]]*ENTRYPOINT' "$stage" | tail -n 1 | sed -E 's/^[[:space:]]*ENTRYPOINT[[:space:]]*//I')
  chart_cmd=$(sed -nE 's/^[[:space:]]*command:[[:space:]]*(\[.*\])[[:space:]]*$/\1/p' "$deployment" | head -n 1)
  if [ -z "$chart_cmd" ]; then
    echo "  no command: [...] in $deployment"; bad=1
  elif [ "$(tr -d ' ' <<< "$entry")" != "$(tr -d ' ' <<< "$chart_cmd")" ]; then
    echo "  ENTRYPOINT $entry differs from the chart's command $chart_cmd"; bad=1
  fi
  local bin_path
  bin_path=$(sed -E 's/^\["([^"]*)".*/\1/' <<< "$chart_cmd")
  if ! grep -qE "^[[:space:]]*COPY[[:space:]].*[[:space:]]${bin_path}[[:space:]]*$" "$stage"; then
    echo "  the runtime stage copies nothing to $bin_path"; bad=1
  fi
  local port exposed
  exposed=$(grep -iE '^[[:space:]]*EXPOSE' "$stage" | sed -E 's/^[[:space:]]*EXPOSE//I' | tr ' ' '\n' | sed 's#/tcp##' | grep -v '^$' || true)
  for port in $(sed -n '/^ports:/,/^[^ ]/p' "$values" | sed -nE 's/^[[:space:]]+[a-z]+:[[:space:]]*([0-9]+).*/\1/p'); do
    grep -qx "$port" <<< "$exposed" || { echo "  the chart uses port $port, the Containerfile does not EXPOSE it"; bad=1; }
  done
  # Every FROM in the file: a tagged (or digest-pinned) image, never :latest, or an earlier stage.
  local stages img
  stages=$(grep -ioE '^[[:space:]]*FROM[[:space:]].*[[:space:]]AS[[:space:]]+[^[:space:]]+' "$containerfile" | awk '{print $NF}')
  while read -r img; do
    if grep -qw -- "$img" <<< "$stages"; then continue; fi
    case "$img" in
      *:latest|*:latest@*) echo "  FROM $img: pin a release, not :latest"; bad=1 ;;
      *@sha256:*|*:*) ;;
      *) echo "  FROM $img: no tag (that means :latest)"; bad=1 ;;
    esac
  done < <(grep -iE '^[[:space:]]*FROM[[:space:]]' "$containerfile" |
           awk '{for (i = 2; i <= NF; i++) if ($i !~ /^--/) {print $i; break}}')
  if grep -q ':latest' "$containerfile"; then echo "  the Containerfile mentions :latest"; bad=1; fi
  [ $bad -eq 0 ] && echo "  FROM debian:bookworm-slim, USER $user_line, ENTRYPOINT $entry, EXPOSE $(tr '\n' ' ' <<< "$exposed")"
  return $bad
}

check_chart_user() {
  local bad=0 key value
  for key in runAsUser runAsGroup; do
    value=$(sed -n '/^podSecurityContext:/,/^[^ ]/p' "$values" | sed -nE "s/^[[:space:]]+$key:[[:space:]]*([0-9]+).*/\1/p")
    if [ "$value" != "$uid" ]; then
      echo "  values.yaml podSecurityContext.$key is '${value:-unset}', the image's USER is $uid"; bad=1
    fi
  done
  grep -qE '^[[:space:]]+runAsNonRoot:[[:space:]]*true' "$values" ||
    { echo "  values.yaml does not set runAsNonRoot: true"; bad=1; }
  grep -q 'toYaml \$.Values.podSecurityContext' "$deployment" ||
    { echo "  deployment.yaml does not apply .Values.podSecurityContext"; bad=1; }
  [ $bad -eq 0 ] && echo "  chart: podSecurityContext runAsUser/runAsGroup $uid, runAsNonRoot"
  return $bad
}

check_build_context() {
  local ignore="$root/.dockerignore" bad=0 pattern
  [ -f "$root/.containerignore" ] && ignore="$root/.containerignore"
  [ -f "$ignore" ] || { echo "  no .dockerignore: build trees, .tools/ and .run/ secrets would be sent"; return 1; }
  for pattern in build .tools .run; do
    grep -qE "^/?${pattern//./\\.}(\*|/|/\*\*)?$" "$ignore" ||
      { echo "  $(basename "$ignore") does not exclude $pattern"; bad=1; }
  done
  return $bad
}

# --- 4. versions ----------------------------------------------------------------------------

print_versions() {
  local p installed
  local -a pkgs
  local -A candidate=()
  mapfile -t pkgs < <(cat "$work/listed"; printf '%s\n' ca-certificates tzdata fonts-dejavu-core)
  # One apt-cache call (each one reads all of apt's lists): "pkg:" then "  Candidate: v".
  while read -r p installed; do candidate[$p]=$installed; done < <(
    LC_ALL=C apt-cache policy "${pkgs[@]}" 2>/dev/null |
      awk '/^[^ ].*:$/ {p = substr($0, 1, length($0) - 1)} /^ +Candidate: / {print p, $2}' || true)
  printf '  %-28s %-28s %s\n' package "installed here" "apt candidate (what a build gets)"
  for p in "${pkgs[@]}"; do
    installed=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || installed=""
    printf '  %-28s %-28s %s\n' "$p" "${installed:-(not installed)}" "${candidate[$p]:-(unknown: no apt lists)}"
  done
}

run "libraries resolve (ldd)" check_resolved
run "every library's package is in the image" check_libraries_in_image
run "direct libraries come from listed or base packages" check_direct_libraries_named
run "runtime-packages.txt lists only needed packages" check_no_extra_packages
run "Containerfile runtime stage" check_runtime_stage
run "chart runs as the image's user" check_chart_user
run "build context excludes build trees and secrets" check_build_context
echo "runtime package versions:"
print_versions

# --- with a container engine ------------------------------------------------------------------

engine=""
# usable ENGINE: the engine answers, has (or pulls) the base images, can RUN in a build and run
# a container.
usable() {
  local e=$1 img out rc
  command -v "$e" >/dev/null || { echo "$e: not installed"; return 1; }
  out=$(timeout 30 "$e" info 2>&1 >/dev/null) || { echo "$e: '$e info' fails: $(tail -n 1 <<< "$out")"; return 1; }
  local images=(debian:bookworm-slim)
  [ "${CHECK_IMAGE_FULL_BUILD:-}" != 1 ] || images+=(debian:bookworm)
  for img in "${images[@]}"; do
    if ! "$e" inspect --type image "$img" >/dev/null 2>&1 && ! "$e" image inspect "$img" >/dev/null 2>&1; then
      out=$(timeout 120 "$e" pull "$img" 2>&1) ||
        { echo "$e: cannot get $img: $(tail -n 1 <<< "$out")"; return 1; }
    fi
  done
  printf 'FROM debian:bookworm-slim\nRUN true\n' > "$work/probe.Containerfile"
  out=$(build_with "$e" "$work/probe.Containerfile" "$work" localhost/switchboard-check-probe:1 2>&1) ||
    { echo "$e: cannot RUN in a build: $(first_error "$out")"; return 1; }
  out=$(engine=$e run_in localhost/switchboard-check-probe:1 true 2>&1) ||
    { echo "$e: cannot run a container: $(first_error "$out")"; rc=1; }
  "$e" rmi -f localhost/switchboard-check-probe:1 >/dev/null 2>&1 || true
  return "${rc:-0}"
}
# The line of an engine's output that says what went wrong (the OCI runtime's own message).
first_error() {
  grep -m 1 -iE 'crun|runc|oci|permission|error' <<< "$1" || tail -n 1 <<< "$1"
}
build_with() {  # ENGINE CONTAINERFILE CONTEXT TAG
  case "$1" in
    buildah) buildah bud -q -f "$2" -t "$4" "$3" ;;
    *) "$1" build -q -f "$2" -t "$4" "$3" ;;
  esac
}
run_in() {  # IMAGE ENTRYPOINT ARGS... (as the image's user, unless the image has none)
  local img=$1 ep=$2 ctr rc
  shift 2
  case "$engine" in
    buildah)
      ctr=$(buildah from -q "$img")
      set +e; buildah run "$ctr" -- "$ep" "$@"; rc=$?; set -e
      buildah rm "$ctr" >/dev/null
      return $rc ;;
    *) "$engine" run --rm --entrypoint "$ep" "$img" "$@" ;;
  esac
}

choice=${CHECK_IMAGE_ENGINE:-}
if [ "$choice" = none ]; then
  echo "engine: none (CHECK_IMAGE_ENGINE=none); the image was checked statically only"
else
  reasons=()
  for e in ${choice:-podman docker buildah}; do
    if reason=$(usable "$e"); then engine=$e; break; fi
    reasons+=("$reason")
  done
  if [ -z "$engine" ]; then
    echo "engine: none usable; the image was checked statically only:"
    printf '  %s\n' "${reasons[@]}"
  fi
fi

check_engine_image() {
  local ctx="$work/context" cf tag=$engine_image out
  if [ "${CHECK_IMAGE_FULL_BUILD:-}" = 1 ]; then
    echo "  building the whole Containerfile (a full Release compile)"
    build_with "$engine" "$containerfile" "$root" "$tag" > "$work/build.log" 2>&1 ||
      { echo "  $engine cannot build the Containerfile:"; tail -n 40 "$work/build.log"; return 1; }
  else
    # The runtime stage as it is, with the binaries given here instead of the build stage's.
    mkdir -p "$ctx/deploy/image" "$ctx/out"
    cp "$pkg_list" "$ctx/deploy/image/"
    cp "${binaries[@]}" "$ctx/out/"
    cf="$ctx/Containerfile"
    sed -E 's#^([[:space:]]*COPY)[[:space:]]+--from=build[[:space:]]+/out/#\1 out/#' "$work/runtime-stage" > "$cf"
    if grep -q -- '--from=' "$cf"; then
      echo "  the runtime stage copies from the build stage other than 'COPY --from=build /out/<file>':"
      grep -- '--from=' "$cf" | sed 's/^/    /'
      return 1
    fi
    # Files the stage copies that this check does not have (switchboardctl not built): skip them.
    while read -r f; do
      [ -e "$ctx/$f" ] || { echo "  note: $f not given, left out"; sed -i "\\#COPY[[:space:]]\+${f}[[:space:]]#d" "$cf"; }
    done < <(sed -nE 's#^[[:space:]]*COPY[[:space:]]+(out/[^[:space:]]+).*#\1#p' "$cf")
    build_with "$engine" "$cf" "$ctx" "$tag" > "$work/build.log" 2>&1 ||
      { echo "  $engine cannot build the runtime stage:"; tail -n 20 "$work/build.log"; return 1; }
  fi
  out=$(run_in "$tag" id -u)
  [ "$out" = "$uid" ] || { echo "  the image runs as uid '$out', not $uid"; return 1; }
  out=$(run_in "$tag" ldd /usr/bin/switchboard)
  if grep -q 'not found' <<< "$out"; then
    echo "  in the image, ldd /usr/bin/switchboard cannot find:"; grep 'not found' <<< "$out"; return 1
  fi
  run_in "$tag" /usr/bin/switchboard --help > "$work/help" ||
    { echo "  switchboard --help fails in the image"; cat "$work/help"; return 1; }
  grep -q '^usage: switchboard' "$work/help" || { echo "  unexpected --help output"; head -n 5 "$work/help"; return 1; }
  echo "  $engine: built $tag; as uid $uid: ldd finds every library, switchboard --help works"
}

if [ -n "$engine" ]; then
  engine_image=localhost/switchboard-check:$$  # removed on exit
  run "image builds and runs ($engine)" check_engine_image
fi

echo "deploy_image: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
