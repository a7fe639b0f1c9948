#!/usr/bin/env bash
# Builds the annoy-ts reference driver (tools/annoy-ref/driver.cc) against the
# real Annoy header from Debian's r-cran-rcppannoy package.
#
#   tools/annoy-ref/setup.sh            prints the scalar driver's path
#   tools/annoy-ref/setup.sh --native   prints the native (-march=native) driver's path
#   tools/annoy-ref/setup.sh --all      prints both paths, scalar first
#
# Everything lives in the git-ignored .cache/annoy-ref/ of the repository:
#   deb/         the downloaded .deb and its extracted tree (Annoy's header is
#                never copied into the repository)
#   driver       g++ -O2 -ffp-contract=off: plain scalar float32, as the golden
#                fixtures in shared/fixtures/annoy were made
#   driver-native  -O3 -march=native -ffast-math -fno-associative-math, the
#                flags Python wheels are compiled with (used by benchmarks)
#
# Idempotent: a driver is recompiled only when driver.cc (or the header location
# or flags) is newer than / different from what it was built with.
# Set ANNOY_INCLUDE_DIR to a directory holding annoylib.h and kissrandom.h to
# skip the Debian package (e.g. on a machine without apt).
# Exit status: 0 on success, 1 when the toolchain or the package is unavailable.
set -euo pipefail

mode=scalar
case "${1:-}" in
  "" | --scalar) mode=scalar ;;
  --native) mode=native ;;
  --all) mode=all ;;
  -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "annoy-ref setup: unknown option '$1' (use --native or --all)" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.cache/annoy-ref"
src="$here/driver.cc"
scalar_bin="$cache/driver"
native_bin="$cache/driver-native"
scalar_flags="-O2 -ffp-contract=off"
native_flags="-O3 -march=native -ffast-math -fno-associative-math"
common_flags="-std=c++14 -Wall -Wextra -Wno-unused-parameter"

die() { echo "annoy-ref setup: $*" >&2; exit 1; }

print_paths() {
  case "$mode" in
    scalar) echo "$scalar_bin" ;;
    native) echo "$native_bin" ;;
    all) echo "$scalar_bin"; echo "$native_bin" ;;
  esac
}

# Up to date = binary exists, is newer than driver.cc, and was built with the
# same header directory and flags (recorded in a stamp next to it).
up_to_date() { # bin flags
  local bin="$1" flags="$2"
  [[ -x "$bin" && -f "$bin.stamp" && "$bin" -nt "$src" ]] || return 1
  local inc
  inc="$(cat "$cache/include-dir" 2>/dev/null)" || return 1
  [[ -f "$inc/annoylib.h" ]] || return 1
  [[ "$(cat "$bin.stamp")" == "$inc|$flags|$common_flags" ]]
}

all_up_to_date() {
  [[ -z "${ANNOY_INCLUDE_DIR:-}" || "$(cat "$cache/include-dir" 2>/dev/null)" == "$ANNOY_INCLUDE_DIR" ]] || return 1
  up_to_date "$scalar_bin" "$scalar_flags" && up_to_date "$native_bin" "$native_flags"
}

# Fast path: nothing to do.
if all_up_to_date; then print_paths; exit 0; fi

[[ -f "$src" ]] || die "missing $src"
command -v g++ >/dev/null 2>&1 || die "g++ not found: install a C++ compiler (Debian: apt-get install g++)"
mkdir -p "$cache"

# Serialise concurrent runs (test workers may all call this at once).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.lock"
  flock 9
  if all_up_to_date; then print_paths; exit 0; fi
fi

# ---- locate annoylib.h / kissrandom.h
find_header_dir() { # dir -> prints the directory holding both headers
  local h
  h="$(find "$1" -name annoylib.h -type f 2>/dev/null | head -n 1)"
  [[ -n "$h" && -f "$(dirname "$h")/kissrandom.h" ]] || return 1
  dirname "$h"
}

inc=""
if [[ -n "${ANNOY_INCLUDE_DIR:-}" ]]; then
  [[ -f "$ANNOY_INCLUDE_DIR/annoylib.h" && -f "$ANNOY_INCLUDE_DIR/kissrandom.h" ]] ||
    die "ANNOY_INCLUDE_DIR=$ANNOY_INCLUDE_DIR does not contain annoylib.h and kissrandom.h"
  inc="$ANNOY_INCLUDE_DIR"
else
  debdir="$cache/deb"
  inc="$(find_header_dir "$debdir/root" || true)"
  if [[ -z "$inc" ]]; then
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found, cannot fetch Debian's r-cran-rcppannoy (set ANNOY_INCLUDE_DIR to a directory with annoylib.h and kissrandom.h instead)"
    command -v dpkg >/dev/null 2>&1 || die "dpkg not found, cannot unpack r-cran-rcppannoy"
    mkdir -p "$debdir"
    download() {
      # apt-get download writes into the current directory; as root, tell apt
      # not to drop privileges to _apt (which could not write here).
      (cd "$debdir" && rm -f r-cran-rcppannoy_*.deb &&
        apt-get download -q -o APT::Sandbox::User=root r-cran-rcppannoy) >"$debdir/apt.log" 2>&1
    }
    if ! download; then
      if [[ "$(id -u)" == 0 ]]; then
        echo "annoy-ref setup: apt-get download failed, running apt-get update once and retrying" >&2
        apt-get update -q >"$debdir/apt-update.log" 2>&1 || true
        download || die "apt-get download r-cran-rcppannoy failed: $(tail -n 3 "$debdir/apt.log" | tr '\n' ' ')(apt-get update: $(tail -n 1 "$debdir/apt-update.log"); logs in $debdir)"
      else
        die "apt-get download r-cran-rcppannoy failed: $(tail -n 3 "$debdir/apt.log" | tr '\n' ' ')(try 'sudo apt-get update' first)"
      fi
    fi
    deb="$(ls "$debdir"/r-cran-rcppannoy_*.deb 2>/dev/null | head -n 1)"
    [[ -n "$deb" ]] || die "apt-get download produced no r-cran-rcppannoy .deb"
    rm -rf "$debdir/root.tmp"
    dpkg -x "$deb" "$debdir/root.tmp" || die "dpkg -x $deb failed"
    rm -rf "$debdir/root" && mv "$debdir/root.tmp" "$debdir/root"
    inc="$(find_header_dir "$debdir/root" || true)"
    [[ -n "$inc" ]] || die "annoylib.h / kissrandom.h not found in $deb"
  fi
fi
echo "$inc" >"$cache/include-dir"

# ---- compile (into a temporary file, then rename: never a half-written binary)
compile() { # bin flags
  local bin="$1" flags="$2"
  up_to_date "$bin" "$flags" && return 0
  # shellcheck disable=SC2086
  if ! g++ $common_flags $flags -isystem "$inc" -o "$bin.tmp.$$" "$src" >"$bin.log" 2>&1; then
    rm -f "$bin.tmp.$$"
    return 1
  fi
  mv -f "$bin.tmp.$$" "$bin"
  echo "$inc|$flags|$common_flags" >"$bin.stamp"
  return 0
}

# Both variants compile in parallel (each takes several seconds).
compile "$scalar_bin" "$scalar_flags" &
scalar_pid=$!
compile "$native_bin" "$native_flags" &
native_pid=$!
scalar_ok=1; native_ok=1
wait "$scalar_pid" || scalar_ok=0
wait "$native_pid" || native_ok=0
if [[ $scalar_ok == 0 ]]; then
  cat "$scalar_bin.log" >&2
  die "compiling $src failed ($scalar_flags); full log in $scalar_bin.log"
fi
if [[ $native_ok == 0 ]]; then
  if [[ $mode == scalar ]]; then
    echo "annoy-ref setup: warning: the native driver did not compile ($native_flags); see $native_bin.log" >&2
  else
    cat "$native_bin.log" >&2
    die "compiling $src failed ($native_flags); full log in $native_bin.log"
  fi
fi
print_paths
