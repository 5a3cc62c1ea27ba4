#!/usr/bin/env bash
# Where berthd's time goes, with perf (perf record -g on berthd):
#
#   bench/profile.sh [COUNT] [OUT]   default 300 running containers, OUT=/tmp/berth-profile
#
# A private berthd with COUNT running containers (`run -d --network none
# busybox sleep`); then three profiles of berthd alone, each while one
# operation repeats: `ps -a` (200 times), `run -d` + `rm -f` (50 times) and
# `exec true` (100 times).  Prints each profile's top functions by self time
# and by time including callees (perf report --no-children / --children);
# the perf.data files stay in OUT for a closer look (perf report -i …).
set -u
COUNT=${1:-300}
OUT=${2:-/tmp/berth-profile}
TOP=$(cd "$(dirname "$0")/.." && pwd)
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
[ -x "$TOP/berthd" ] || { echo "build first: ./autogen.sh && ./configure && make" >&2; exit 1; }
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}"/berth-profile-XXXXXX)
BPID=
. "$TOP/bench/common.sh"
trap bench_cleanup EXIT INT TERM
bench_conf
bench_start || { echo "berthd did not start" >&2; exit 1; }
B=("$TOP/berth" -H "unix://$W/berth.sock")
bench_busybox
mkdir -p "$OUT"
seq 1 "$COUNT" | xargs -P 8 -I{} "${B[@]}" run -d --network none busybox sleep 36000 >/dev/null
c=$("${B[@]}" ps -q | head -1)
echo "# $("${B[@]}" ps -q | wc -l) containers running"

profile() { # profile NAME COMMAND...: perf on berthd while the command runs
  local name=$1
  shift
  perf record -q -g -F 4999 -p "$BPID" -o "$OUT/$name.data" -- sleep 600 >/dev/null 2>&1 &
  local perf_pid=$!
  sleep 0.5
  "$@" >/dev/null 2>&1
  kill -INT "$perf_pid"
  wait "$perf_pid" 2>/dev/null
  echo "## $name: self time (perf report --no-children)"
  perf report -q -i "$OUT/$name.data" --no-children -g none --sort dso,symbol \
    --percent-limit 1.5 2>/dev/null | grep -v '^$' | head -20
  echo "## $name: with callees (perf report --children)"
  perf report -q -i "$OUT/$name.data" --children -g none --sort dso,symbol --percent-limit 5 \
    2>/dev/null | grep -v '^$' | head -25
}
ps_loop() { for _ in $(seq 1 200); do "${B[@]}" ps -a; done; }
run_loop() { for _ in $(seq 1 50); do "${B[@]}" run -d --network none busybox sleep 36000 | xargs "${B[@]}" rm -f; done; }
exec_loop() { for _ in $(seq 1 100); do "${B[@]}" exec "$c" true; done; }
profile ps ps_loop
profile run run_loop
profile exec exec_loop
