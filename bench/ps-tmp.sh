#!/usr/bin/env bash
set -u
COUNT=${1:-1000}
TOP=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/berth-pstmp-XXXXXX)
BPID=
cleanup() {
  [ -n "$BPID" ] && kill -9 "$BPID" 2>/dev/null
  pkill -9 -f "berth-shim --bundle $W/" 2>/dev/null
  sleep 1
  for cg in /sys/fs/cgroup/*/berth/*; do
    [ -d "$W/data/containers/$(basename "$cg")" ] || continue
    xargs -r kill -9 <"$cg/cgroup.procs" 2>/dev/null
  done
  sleep 0.5
  for cg in /sys/fs/cgroup/*/berth/*; do
    [ -d "$W/data/containers/$(basename "$cg")" ] && rmdir "$cg" 2>/dev/null
  done
  grep -o " $W[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM
. "$TOP/bench/common.sh"
bench_conf
bench_start BERTH_TRACE=1
B=("$TOP/berth" -H "unix://$W/berth.sock")
bench_busybox
seq 1 "$COUNT" | xargs -P 8 -I{} "${B[@]}" run -d --network none busybox sleep 36000 >/dev/null
: > "$W/berthd.log"
for _ in 1 2 3 4 5; do timed "${B[@]}" ps -a; done
for _ in 1 2 3 4 5; do timed "${B[@]}" ps -q; done
t0=${EPOCHREALTIME/./}; curl -s --unix-socket "$W/berth.sock" "http://x/v1.43/containers/json?all=1" > "$W/ps.json"; t1=${EPOCHREALTIME/./}; echo "curl $((t1-t0)) us, $(wc -c < "$W/ps.json") bytes"
grep -ao 'trace api GET.* ms"' "$W/berthd.log" | tail -12
