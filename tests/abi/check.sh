#!/usr/bin/env bash
# The plugin ABI of a header set (default: the tree's include/) compared
# with each committed baseline: tests/abi/berth-1.0.abi (made from the
# frozen tests/abi/1.0 headers) and berth-1.1.abi (tests/abi/1.1).  A
# minor only adds, so the 1.0 types must still be the 1.0 baseline's
# (nothing removed or changed; the types 1.1 added are reported as added),
# and the 1.1 ones the 1.1 baseline's exactly.  One TAP line per baseline.
#
#   tests/abi/check.sh [INCLUDE_DIR]         compare
#   tests/abi/check.sh --baseline VERSION    remake a baseline from tests/abi/VERSION
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/berth-abi-XXXXXX)
trap 'rm -rf "$W"' EXIT
dump() { # dump INCLUDE_DIR OUT
  (cd "$HERE" && cc -g -O0 -fdebug-prefix-map="$HERE"=. -shared -fPIC -fvisibility=hidden -I"$1" -o "$W/abi.so" abi-types.c) &&
    abidw --no-corpus-path --no-comp-dir-path --out-file "$2" "$W/abi.so"
}
if [ "${1:-}" = --baseline ]; then
  v=${2:?which version}
  dump "$v" "$HERE/berth-$v.abi" && echo "baseline written: $HERE/berth-$v.abi"
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
# only additions: nothing removed, nothing changed (harmless changes, such
# as an enumerator appended, are filtered out by abidiff itself)
only_added() {
  grep -q "Functions changes summary: 0 Removed, 0 Changed" "$1" &&
    grep -q "Variables changes summary: 0 Removed, 0 Changed" "$1"
}
n=0 rc=0
latest=1.1
for v in 1.0 1.1; do
  n=$((n + 1))
  if abidiff "$HERE/berth-$v.abi" "$W/now.abi" >"$W/diff" 2>&1; then
    echo "ok $n - the plugin ABI of $inc keeps the $v baseline (abidiff clean)"
  elif [ "$v" != "$latest" ] && only_added "$W/diff"; then
    echo "ok $n - the plugin ABI of $inc keeps the $v baseline and only adds to it ($(grep -c '\[A\]' "$W/diff") added)"
  else
    echo "not ok $n - the plugin ABI of $inc differs from the $v baseline"
    sed 's/^/#   /' "$W/diff" | head -40
    rc=1
  fi
done
echo "1..$n"
exit $rc
