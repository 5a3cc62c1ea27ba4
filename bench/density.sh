#!/usr/bin/env bash
# Many containers on one berthd: whether the cost of each operation stays
# flat as containers accumulate, and what each running container costs.
#
#   bench/density.sh [COUNT]     default 1000 (`run -d --network none ... sleep`)
#
# At 10, 100 and COUNT running containers it prints the median wall time of
# `run -d`, `ps -a`, `ps -q` and `inspect` (N=10 samples each), berthd's PSS
# and the average PSS of a berth-shim, and the kernel's floor for a
# container's run with no engine around it (bench/floor.c, N rounds) at
# the same moment: what of run -d's growth the kernel itself shows (it
# walks every task at pivot_root, for one), and bash's fork and exec of
# /bin/true (what every CLI figure pays: whether the machine itself got
# slower with the containers); then berthd's start-up time
# with COUNT containers to restore (kill -9, start, first answered /_ping).
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
bench_timer
bench_start || { echo "berthd did not start" >&2; exit 1; }
B=("$TOP/berth" -H "unix://$W/berth.sock")
bench_busybox

median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) / 1000}'; }
pss() { awk '/^Pss:/ {s += $2} END {print s + 0}' "$@" 2>/dev/null; }
floor_ms() {
  [ -x "$W/floor" ] || { echo -; return; }
  mkdir -p "$W/floor-scratch"
  "$W/floor" "$W/bbroot" "$W/floor-scratch" "$N" 2>/dev/null | sed -n 's/^floor: median \([0-9.]*\) ms.*/\1/p'
}
cc -O2 -o "$W/floor" "$TOP/bench/floor.c" 2>/dev/null
declare -A RUN_AT FLOOR_AT
row() {
  local n=$1 run ps psq insp shims fl
  run=$(for _ in $(seq 1 "$N"); do timed "${B[@]}" run -d --network none busybox sleep 36000; done | median)
  ps=$(for _ in $(seq 1 "$N"); do timed "${B[@]}" ps -a; done | median)
  psq=$(for _ in $(seq 1 "$N"); do timed "${B[@]}" ps -q; done | median)
  insp=$(for _ in $(seq 1 "$N"); do timed "${B[@]}" inspect "$first"; done | median)
  fl=$(floor_ms)
  tr=$(for _ in $(seq 1 "$N"); do timed /bin/true; done | median) # the machine: any process's start
  RUN_AT[$n]=$run
  FLOOR_AT[$n]=$fl
  mapfile -t shims < <(pgrep -f "berth-shim --bundle $W/")
  printf '%-8s %10s %10s %10s %10s %12s %14s %10s %10s\n' "$n" "$run" "$ps" "$psq" "$insp" \
    "$(pss "/proc/$BPID/smaps_rollup") KiB" "$(($(pss $(printf '/proc/%s/smaps_rollup ' "${shims[@]}")) / ${#shims[@]})) KiB" "$fl" "$tr"
}
have=0
add_to() { # run -d until $1 are running, 8 at a time
  seq $((have + 1)) "$1" | xargs -P 8 -I{} "${B[@]}" run -d --network none busybox sleep 36000 >/dev/null
  have=$1
}
first=$("${B[@]}" run -d --network none busybox sleep 36000)
have=1
printf '%-8s %10s %10s %10s %10s %12s %14s %10s %10s\n' running "run -d ms" "ps -a ms" "ps -q ms" "inspect" "berthd PSS" "PSS per shim" "floor ms" "/bin/true"
for n in 10 100 "$COUNT"; do
  [ "$n" -gt "$COUNT" ] && continue
  add_to "$((n - N))"
  row "$n"
  have=$n
done
awk -v r1="${RUN_AT[10]:-0}" -v rn="${RUN_AT[$COUNT]:-0}" -v f1="${FLOOR_AT[10]:-0}" -v fn="${FLOOR_AT[$COUNT]:-0}" -v n="$COUNT" 'BEGIN {
  if (r1 > 0 && f1 > 0) printf "run -d at %d / at 10: %.2fx (+%.1f ms); the kernel floor (bench/floor.c) at %d / at 10: %.2fx (+%.1f ms)\n", n, rn / r1, rn - r1, n, fn / f1, fn - f1 }'
running=$("${B[@]}" ps -q | wc -l)
kill -9 "$BPID"
wait "$BPID" 2>/dev/null
t0=${EPOCHREALTIME/./}
bench_start
t1=${EPOCHREALTIME/./}
echo "berthd start-up with $running containers to restore: $(((t1 - t0) / 1000)) ms to the first /_ping; $("${B[@]}" ps -q | wc -l) running after it"
