#!/usr/bin/env bash
# The plugin ABI of a header set (default: the tree's include/) compared
# with the committed 1.0 baseline (tests/abi/berth-1.0.abi, made from the
# frozen tests/abi/1.0 headers).  Prints one TAP line.
#
#   tests/abi/check.sh [INCLUDE_DIR]         compare
#   tests/abi/check.sh --baseline            remake the baseline from tests/abi/1.0
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/berth-abi-XXXXXX)
trap 'rm -rf "$W"' EXIT
dump() { # dump INCLUDE_DIR OUT
  (cd "$HERE" && cc -g -O0 -fdebug-prefix-map="$HERE"=. -shared -fPIC -fvisibility=hidden -I"$1" -o "$W/abi.so" abi-types.c) &&
    abidw --no-corpus-path --no-comp-dir-path --out-file "$2" "$W/abi.so"
}
if [ "${1:-}" = --baseline ]; then
  dump 1.0 "$HERE/berth-1.0.abi" && echo "baseline written: $HERE/berth-1.0.abi"
  exit $?
fi
inc=$(cd "${1:-$HERE/../../include}" && pwd)
if ! command -v abidiff >/dev/null; then
  echo "not ok 1 - abidiff is installed (apt-get install abigail-tools)"
  exit 1
fi
if ! dump "$inc" "$W/now.abi"; then
  echo "not ok 1 - the headers in $inc compile and dump"
  exit 1
fi
if abidiff "$HERE/berth-1.0.abi" "$W/now.abi" >"$W/diff" 2>&1; then
  echo "ok 1 - the plugin ABI of $inc is the 1.0 baseline (abidiff clean)"
else
  echo "not ok 1 - the plugin ABI of $inc differs from the 1.0 baseline"
  sed 's/^/#   /' "$W/diff" | head -40
  exit 1
fi
