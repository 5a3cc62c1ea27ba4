#!/usr/bin/env bash
# Many containers on one berthd: whether the cost of each operation stays
# flat as containers accumulate, and what each running container costs.
#
#   bench/density.sh [COUNT]     default 1000 (`run -d --network none ... sleep`)
#
# At 10, 100 and COUNT running containers it prints the median wall time of
# `run -d`, `ps -a`, `ps -q` and `inspect` (N=10 samples each), berthd's PSS
# and the average PSS of a berth-shim; then berthd's start-up time with
# COUNT containers to restore (kill -9, start, first answered /_ping).
# A private berthd on its own data root; everything is removed at the end.
set -u
COUNT=${1:-1000}
N=10
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$TOP/berthd" ] || { echo "build first: ./autogen.sh && ./configure && make" >&2; exit 1; }
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}"/berth-density-XXXXXX)
BPID=
. "$TOP/bench/common.sh"
trap bench_cleanup EXIT INT TERM
bench_conf
bench_start || { echo "berthd did not start" >&2; exit 1; }
B=("$TOP/berth" -H "unix://$W/berth.sock")
bench_busybox

median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) / 1000}'; }
pss() { awk '/^Pss:/ {s += $2} END {print s + 0}' "$@" 2>/dev/null; }
row() {
  local n=$1 run ps psq insp shims
  run=$(for _ in $(seq 1 "$N"); do timed "${B[@]}" run -d --network none busybox sleep 36000; done | median)
  ps=$(for _ in $(seq 1 "$N"); do timed "${B[@]}" ps -a; done | median)
  psq=$(for _ in $(seq 1 "$N"); do timed "${B[@]}" ps -q; done | median)
  insp=$(for _ in $(seq 1 "$N"); do timed "${B[@]}" inspect "$first"; done | median)
  mapfile -t shims < <(pgrep -f "berth-shim --bundle $W/")
  printf '%-8s %10s %10s %10s %10s %12s %14s\n' "$n" "$run" "$ps" "$psq" "$insp" \
    "$(pss "/proc/$BPID/smaps_rollup") KiB" "$(($(pss $(printf '/proc/%s/smaps_rollup ' "${shims[@]}")) / ${#shims[@]})) KiB"
}
have=0
add_to() { # run -d until $1 are running, 8 at a time
  seq $((have + 1)) "$1" | xargs -P 8 -I{} "${B[@]}" run -d --network none busybox sleep 36000 >/dev/null
  have=$1
}
first=$("${B[@]}" run -d --network none busybox sleep 36000)
have=1
printf '%-8s %10s %10s %10s %10s %12s %14s\n' running "run -d ms" "ps -a ms" "ps -q ms" "inspect" "berthd PSS" "PSS per shim"
for n in 10 100 "$COUNT"; do
  [ "$n" -gt "$COUNT" ] && continue
  add_to "$((n - N))"
  row "$n"
  have=$n
done
running=$("${B[@]}" ps -q | wc -l)
kill -9 "$BPID"
wait "$BPID" 2>/dev/null
t0=${EPOCHREALTIME/./}
bench_start
t1=${EPOCHREALTIME/./}
echo "berthd start-up with $running containers to restore: $(((t1 - t0) / 1000)) ms to the first /_ping; $("${B[@]}" ps -q | wc -l) running after it"
