#!/usr/bin/env bash
# Where `run --rm` spends its time: berthd's own timestamps (BERTH_TRACE=1:
# a trace line per API request and per phase of create, start, exit and
# rm; berth-shim's set-up phases in each container's shim.log), medians
# over N runs, beside the wall time the CLI sees.
#
#   bench/phases.sh [N]      (default 50; --network none, a private berthd)
set -u
N=${1:-50}
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$TOP/berthd" ] || { echo "build first: ./autogen.sh && ./configure && make" >&2; exit 1; }
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}"/berth-phases-XXXXXX)
cleanup() {
  [ -n "${BPID:-}" ] && kill "$BPID" 2>/dev/null && sleep 0.5
  pkill -9 -f "berth-shim --bundle $W/" 2>/dev/null
  grep -o " $W[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM
. "$TOP/bench/common.sh"
bench_conf
bench_timer
bench_start BERTH_TRACE=1 || { echo "berthd did not start" >&2; exit 1; }
B=("$TOP/berth" -H "unix://$W/berth.sock")
bench_busybox
for _ in 1 2 3; do "${B[@]}" run --rm --network none busybox true; done
sleep 0.5 # the last warm-up's removal ends after its CLI: its lines stay out of the table (rows keep one order)

median() { sort -n | awk '{a[NR]=$1} END {if (!NR) print "-"; else printf "%.2f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
: >"$W/berthd.log"
: >"$W/wall"
for _ in $(seq 1 "$N"); do timed "${B[@]}" run --rm --network none busybox true >>"$W/wall"; done
sleep 0.5
cp "$W/berthd.log" "$W/run.log" # run --rm's alone (the loop below is run -d, wait, rm)
# the shims' own phases: run -d, wait, read shim.log, rm
: >"$W/shim.trace"
for _ in $(seq 1 "$N"); do
  id=$("${B[@]}" run -d --network none busybox true)
  "${B[@]}" wait "$id" >/dev/null
  grep -aoE 'trace (shim|init) .*' "$W/data/containers/$id/shim.log" >>"$W/shim.trace" 2>/dev/null
  "${B[@]}" rm "$id" >/dev/null
done

# exec: create, start (hijacked until the process ends), inspect
id=$("${B[@]}" run -d --network none busybox sleep 3600)
"${B[@]}" exec "$id" true
: >"$W/berthd.log"
: >"$W/ewall"
for _ in $(seq 1 "$N"); do timed "${B[@]}" exec "$id" true >>"$W/ewall"; done
sleep 0.3
cp "$W/berthd.log" "$W/exec.log"
"${B[@]}" rm -f "$id" >/dev/null

# "trace <id> <phase words> <ms> ms": the phase is everything between
table() {
  grep -ao 'trace .* ms"' "$1" | sed 's/"$//' |
    awk '{ph=""; for (i = 3; i <= NF - 2; i++) ph = ph (ph ? " " : "") $i; print ph "\t" $(NF-1)}' |
    sed -E 's#/(containers|exec)/[0-9a-f]{64}#/\1/ID#' >"$W/phases"
  cut -f1 "$W/phases" | awk '!seen[$0]++' | while IFS= read -r ph; do
    printf '  %-42s %10s\n' "$ph" "$(awk -F'\t' -v p="$ph" '$1 == p {print $2}' "$W/phases" | median)"
  done
}
printf '%-44s %10s\n' "run --rm --network none busybox true" "median ms"
printf '%-44s %10s\n' "wall time seen by the CLI" "$(awk '{print $1 / 1000}' "$W/wall" | median)"
table "$W/run.log"
printf '%-44s\n' "berth-shim, from its start to the OK it sends"
grep -a 'trace shim ' "$W/shim.trace" >"$W/shim.only"
table "$W/shim.only"
printf '%-44s\n' "the container's init, from its clone to its hold"
grep -a 'trace init ' "$W/shim.trace" >"$W/init.only"
table "$W/init.only"
printf '%-44s %10s\n' "exec C true" "median ms"
printf '%-44s %10s\n' "wall time seen by the CLI" "$(awk '{print $1 / 1000}' "$W/ewall" | median)"
table "$W/exec.log"
