#!/usr/bin/env bash
# The plugin ABI of a header set (default: the tree's include/) compared
# with each committed baseline: tests/abi/berth-1.0.abi (made from the
# frozen tests/abi/1.0 headers), berth-1.1.abi (tests/abi/1.1) and
# berth-1.2.abi (tests/abi/1.2), berth-1.3.abi (tests/abi/1.3).  A minor only adds, so the older types must
# still be their baseline's (nothing removed or changed; what a later minor
# added is reported as added), and the 1.3 ones the 1.3 baseline's exactly.
# One TAP line per baseline.
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
  grep -q "Functions changes summary: 0 Removed" "$1" &&
    grep -q "Variables changes summary: 0 Removed, 0 Changed" "$1" && only_appended "$1"
}
# the only changes to existing structs are members appended at their end
# (ops tables and descriptors start with struct_size: the host reads what
# the plugin's struct_size covers): every insertion at or past the old
# size, no member moved, retyped or deleted
only_appended() {
  awk '/type size changed from/ { old = $5 + 0; next }
       /type size hasn.t changed/ { old = -1; next }
       /offset changed|deletion|type name changed|typedef name changed|underlying type/ { bad = 1 }
       /^ *.type of .[^*]*. changed/ { bad = 1 }
       / at offset [0-9]+ / { for (i = 1; i <= NF; i++) if ($i == "offset") off = $(i + 1) + 0;
                              if (old < 0 || off < old) bad = 1 }
       END { exit bad }' "$1"
}
n=0 rc=0
latest=1.3
for v in 1.0 1.1 1.2 1.3; do
  n=$((n + 1))
  if abidiff "$HERE/berth-$v.abi" "$W/now.abi" >"$W/diff" 2>&1; then
    echo "ok $n - the plugin ABI of $inc keeps the $v baseline (abidiff clean)"
  elif [ "$v" != "$latest" ] && only_added "$W/diff"; then
    echo "ok $n - the plugin ABI of $inc keeps the $v baseline and only adds to it ($(grep -c "\[A\]" "$W/diff") added, members appended)"
  else
    echo "not ok $n - the plugin ABI of $inc differs from the $v baseline"
    sed 's/^/#   /' "$W/diff" | head -40
    rc=1
  fi
done
echo "1..$n"
exit $rc
