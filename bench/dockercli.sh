#!/usr/bin/env bash
# The docker CLI as berthd's client: where its `run --rm` goes, beside its
# `version`.  A private berthd with BERTH_TRACE=1 logs each request's end
# and length; the CLI is started from bash between two EPOCHREALTIME reads
# (the same for both commands, so their difference carries no timer's
# cost).  Per command, medians over N runs: the CLI's start to its first
# request, each request in berthd, the CLI's own time between requests,
# from the last answer to its exit; then its own time in all (wall time
# less the time some request of it was in berthd) and berthd's.
#
#   bench/dockercli.sh [N]     (default 20; needs the docker CLI on PATH)
#
# What it answers: issue 16's "docker CLI run --rm <= its version + 12 ms"
# row, split into what berthd does and what the CLI does by itself.  Then
# the row as run-latency.sh times it (each command N times back to back,
# bench/timeit.c), beside the same two commands against a do-nothing engine
# (bench/fake-engine.py: every answer at once, a container that exits as it
# starts): the CLI's own cost of `run` over `version`, which no engine can
# take off, and what berthd's container costs on top of it.
set -u
N=${1:-20}
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$TOP/berthd" ] || { echo "build first: ./autogen.sh && ./configure && make" >&2; exit 1; }
command -v docker >/dev/null || { echo "no docker CLI on PATH" >&2; exit 1; }
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}"/berth-dockercli-XXXXXX)
BPID=
. "$TOP/bench/common.sh"
FPID=
trap 'kill "$FPID" 2>/dev/null; bench_cleanup' EXIT INT TERM
bench_conf
bench_start BERTH_TRACE=1 || { echo "berthd did not start" >&2; exit 1; }
B=("$TOP/berth" -H "unix://$W/berth.sock")
bench_busybox
# "docker ..." through the docker CLI, "berth ..." through berth's (the
# same berthd's work with a client that is not a Go program beside it)
CMDS=("docker version" "docker run --rm --network none busybox true"
  "docker run --rm --sig-proxy=false --network none busybox true"
  "berth run --rm --network none busybox true")
cli() { # CLI WORDS...: the command against the private berthd
  local c=$1
  shift
  if [ "$c" = docker ]; then docker -H "unix://$W/berth.sock" "$@"; else "${B[@]}" "$@"; fi
}
for c in "${CMDS[@]}"; do
  # shellcheck disable=SC2086 # the command's words
  for _ in 1 2 3; do cli $c >/dev/null 2>&1; done
done
sleep 0.5
: >"$W/berthd.log"
for _ in $(seq 1 "$N"); do
  for k in "${!CMDS[@]}"; do
    s=$EPOCHREALTIME
    # shellcheck disable=SC2086
    cli ${CMDS[$k]} >/dev/null 2>&1
    e=$EPOCHREALTIME
    echo "$k $s $e" >>"$W/marks"
    # back to back, as run-latency.sh times them: 0.1 s of idle between
    # runs makes this VM's next run --rm 1.5-2x slower (its idle vCPUs'
    # wake-up), whichever the CLI
  done
done
sleep 0.3
echo "the docker CLI ($(docker version --format '{{.Client.Version}}' 2>/dev/null)) against berthd, medians of $N, ms"
python3 - "$W/berthd.log" "$W/marks" "${CMDS[@]}" <<'PY'
import re, sys, statistics as st, datetime as dt
log, marks, cmds = sys.argv[1], sys.argv[2], sys.argv[3:]
reqs = []  # (begin, end, name): berthd's "trace api METHOD PATH X ms" at the request's end
for line in open(log, errors="replace"):
    m = re.match(r'time="([^"]+)Z".*msg="trace api (\S+) (\S+) ([\d.]+) ms"', line)
    if not m:
        continue
    day, frac = m.group(1).split(".")
    end = dt.datetime.strptime(day, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc).timestamp() + float("0." + frac)
    path = re.sub(r"/containers/[0-9a-f]{64}", "/containers/ID", m.group(3)).split("?")[0]
    reqs.append((end - float(m.group(4)) / 1000, end, m.group(2) + " " + path))
rows = {}
def put(k, cmd, v):
    rows.setdefault(cmd, {}).setdefault(k, []).append(v)
for line in open(marks):
    k, s, e = line.split()
    cmd, s, e = cmds[int(k)], float(s), float(e)
    mine = sorted(r for r in reqs if s <= r[0] and r[1] <= e)
    prev, what, busy, upto = s, "the CLI's start", 0.0, s
    for b, f, name in mine:
        # a request sent while another is in berthd (the wait before the
        # start) has no gap of its own
        gap = "%s -> %s" % (what, name) if b >= prev else "(sent while %s was in berthd)" % what.replace("'s answer", "").replace("the CLI's start", "-")
        put(gap, cmd, max(0.0, b - prev) * 1e3)
        put("  in berthd: %s" % name, cmd, (f - b) * 1e3)
        busy += max(0.0, f - max(b, upto)); upto = max(upto, f)  # the union of requests
        if f > prev:
            prev, what = f, name + "'s answer"
    put("%s -> the CLI's exit" % what, cmd, (e - prev) * 1e3)
    put("wall time", cmd, (e - s) * 1e3)
    put("some request in berthd", cmd, busy * 1e3)
    put("the CLI by itself", cmd, (e - s - busy) * 1e3)
own = {}
for cmd in cmds:
    print("\n" + cmd)
    for k, v in rows.get(cmd, {}).items():
        print("  %-70s %8.2f" % (k, st.median(v)))
    own[cmd] = st.median(rows.get(cmd, {}).get("the CLI by itself", [0]))
base = cmds[0]
for cmd in cmds[1:]:
    if cmd.startswith("docker "):
        print("\n%s: the CLI by itself is %s + %.2f ms" % (cmd, base, own[cmd] - own[base]))
PY

# ---- back to back, as run-latency.sh times them, beside a do-nothing engine
bench_timer
[ -x "$W/timeit" ] || exit 0
python3 "$TOP/bench/fake-engine.py" "$W/fake.sock" &
FPID=$!
sleep 0.5
F=(docker -H "unix://$W/fake.sock")
D=(docker -H "unix://$W/berth.sock")
"${F[@]}" run --rm --network none busybox true >/dev/null 2>&1
med() { "$W/timeit" "$N" "$@" 2>/dev/null | awk '/^median/ {print $2}'; }
echo
echo "back to back, medians of $N (ms); 3 rounds, the engines alternated"
printf '%-8s %-22s %-22s %s\n' round "do-nothing engine" berthd "berthd's container over the do-nothing's"
for r in 1 2 3; do
  fv=$(med "${F[@]}" version)
  fr=$(med "${F[@]}" run --rm --network none busybox true)
  bv=$(med "${D[@]}" version)
  br=$(med "${D[@]}" run --rm --network none busybox true)
  awk -v r="$r" -v fv="$fv" -v fr="$fr" -v bv="$bv" -v br="$br" 'BEGIN {
    printf "%-8s %-22s %-22s %.2f\n", r, sprintf("%.1f + %.1f", fv, fr - fv), sprintf("%.1f + %.1f", bv, br - bv), br - fr }'
done
echo "(each cell: version + what run takes more; the target is berthd's run <= its version + 12)"
