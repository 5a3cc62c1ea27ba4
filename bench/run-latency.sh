#!/usr/bin/env bash
# Container start-up latency and per-container memory, berth side by side
# with docker (dockerd 20.10 from Debian's docker.io) and podman (with runc)
# when they are installed.  Every engine gets its own private data root and
# socket under one temp dir, runs with --network none, and is stopped (by
# PID) and cleaned up at the end.
#
#   bench/run-latency.sh [N]      N samples per latency figure (default 20)
#   M=50 bench/run-latency.sh     containers for the run -d / PSS figure
#
# Figures printed:
#   version         median wall time of `version` (CLI start + one request)
#   run --rm true   median wall time of `run --rm busybox true`
#   exec true       median wall time of `exec C true` in a running container
#   run -d xM       wall time of M sequential `run -d busybox sleep 3600`
#   PSS/container   proportional set size of the per-container monitor
#                   (berth-shim / containerd-shim-runc-v2 / conmon), summed
#                   over the M containers and divided by M
#   daemon +PSS/c   growth of the daemon's own PSS per container
#   ps -a (M)       median wall time of `ps -a` with the M containers
#   stop -t 0       median wall time of `stop -t 0` of one of them
#   rm -f xM        wall time of one `rm -f` of all M
# and in the column "dockercli": the docker CLI on PATH as berthd's client
# (version, run --rm, exec), beside the berth CLI's.  Every wall time is
# taken by bench/timeit.c, which starts each command as hyperfine -N does
# (posix_spawn: nothing of the timer copied) and waits for it; a shell's
# own fork would add 2-3 ms of copying bash to every figure on this kind
# of machine (BENCH_SHELL_TIMER=1 times from bash instead, as before stop
# 23).  Under the table, this machine of the hour: the kernel's floor for
# `run --rm true` (bench/floor.c: an overlay mount, cgroups, namespaces,
# pivot, exec, wait, clean-up, with no engine around it), /bin/true
# spawned the same way (what every CLI figure pays before the CLI runs)
# and from bash, and the floor for `exec C true` (bench/floor.c exec, on
# the berth container exec used); this VM's speed moves 2-5x from hour to
# hour, these say how fast it is in this run
set -u
N=${1:-20}
M=${M:-50}
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$TOP/berthd" ] || { echo "build first: ./autogen.sh && ./configure && make" >&2; exit 1; }
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}"/berth-bench-XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  pkill -9 -f "berth-shim --bundle $W/" 2>/dev/null
  pkill -9 -f "conmon.*$W" 2>/dev/null
  for cg in /sys/fs/cgroup/*/berth/*; do
    [ -d "$cg" ] || continue
    grep -q . "$cg/cgroup.procs" 2>/dev/null && [ -d "$W/berth/containers/${cg##*/}" ] &&
      xargs -r kill -9 <"$cg/cgroup.procs" 2>/dev/null
  done
  sleep 0.3
  grep -o " $W[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

# timed (one run in microseconds) and bench_timer (bench/timeit.c into $W)
. "$TOP/bench/common.sh"

# microseconds, without a fork (bash 5's EPOCHREALTIME): a `date` per sample
# would add ~1 ms to every figure
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
# median of the numbers on stdin, to one decimal
median() { sort -n | awk '{a[NR]=$1} END {if (!NR) print "-"; else printf "%.1f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# PSS in KiB of the given pids, summed
pss_kib() {
  local sum=0 p v
  for p in "$@"; do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

# bench_engine NAME MONITOR_PGREP DAEMON_PID CLI...
declare -A R_RUN R_EXEC R_RUND R_PSS R_DPSS R_VER R_PS R_STOP R_RM R_IDLE R_AFTER
# median_ms CMD...: the median of N timed runs, in ms (timeit's, or
# from this shell: shell_ms)
shell_ms() {
  local i t0 t1
  for i in $(seq 1 "$N"); do
    t0=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1; t1=${EPOCHREALTIME/./}
    echo "$((t1 - t0))"; done | median | awk '{printf "%.1f", $1 / 1000}'
}
median_ms() {
  [ -x "$W/timeit" ] || { shell_ms "$@"; return; }
  "$W/timeit" "$N" "$@" 2>/dev/null | awk '/^median/ {printf "%.1f", $2}'
}
bench_engine() {
  local name=$1 mon=$2 dpid=$3; shift 3
  local cli=("$@") i t0 t1
  "${cli[@]}" run --rm --network none busybox true >/dev/null 2>&1 # warm caches
  R_VER[$name]=$(median_ms "${cli[@]}" version)
  R_RUN[$name]=$(median_ms "${cli[@]}" run --rm --network none busybox true)
  "${cli[@]}" run -d --network none --name bench-exec busybox sleep 3600 >/dev/null
  R_EXEC[$name]=$(median_ms "${cli[@]}" exec bench-exec true)
  if [ "$name" = berth ] && [ -x "$W/floor" ]; then # the same container, without an engine
    EXEC_FLOOR=$("$W/floor" exec "$("${cli[@]}" inspect -f '{{.State.Pid}}' bench-exec)" "$N" \
      2>>"$W/floor.log" | sed -n 's/^floor exec: median \([0-9.]*\) ms.*/\1/p')
  fi
  "${cli[@]}" rm -f bench-exec >/dev/null 2>&1
  sleep 1
  local d0; d0=$(pss_kib "$dpid")
  if [ -x "$W/timeit" ]; then
    R_RUND[$name]="$("$W/timeit" -s "$M" "${cli[@]}" run -d --network none busybox sleep 3600 2>/dev/null |
      awk '/^total/ {printf "%.2f s", $2}')"
  else
    t0=$(now_us)
    for i in $(seq 1 "$M"); do "${cli[@]}" run -d --network none busybox sleep 3600 >/dev/null 2>&1; done
    R_RUND[$name]=$(awk -v us=$(($(now_us) - t0)) 'BEGIN {printf "%.2f s", us / 1e6}')
  fi
  sleep 2
  local mpids; mapfile -t mpids < <(pgrep -f "$mon")
  local n=${#mpids[@]}
  if [ "$n" -gt 0 ]; then
    R_PSS[$name]="$(($(pss_kib "${mpids[@]}") / n)) KiB ($n procs)"
  else
    R_PSS[$name]="-"
  fi
  R_DPSS[$name]="$((($(pss_kib "$dpid") - d0) / M)) KiB"
  R_PS[$name]=$(median_ms "${cli[@]}" ps -a)
  local ids; mapfile -t ids < <("${cli[@]}" ps -aq)
  R_STOP[$name]=$(for i in $(seq 0 $((N < M ? N - 1 : M - 1))); do
    timed "${cli[@]}" stop -t 0 "${ids[$i]}"; done | median | awk '{printf "%.1f", $1 / 1000}')
  R_RM[$name]=$(awk -v us="$(timed "${cli[@]}" rm -f "${ids[@]}")" 'BEGIN {printf "%.0f ms", us / 1e3}')
  R_AFTER[$name]=$(daemon_mem "$dpid")
}
# the daemon's PSS and RSS a second from now: called when it first
# answered (before any request but _ping: what the loader and its start-up
# left resident) and after the runs.  PSS shares a page among the
# processes that map it, so another berthd or dockerd running lowers it.
daemon_mem() {
  sleep 1
  awk '/^Rss:/ {r = $2} /^Pss:/ {p = $2} END {printf "%.1f MiB (RSS %.1f)", p / 1024, r / 1024}' "/proc/$1/smaps_rollup"
}

# ---- the busybox image, from Debian's busybox-static ----
root="$W/bbroot"
mkdir -p "$root"/{bin,etc,tmp,root,dev,proc,sys}
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
tar --numeric-owner -C "$root" -cf "$W/bb.tar" .

# ---- the machine of the hour: the kernel's floor and a shell's fork+exec ----
FLOOR="-"
EXEC_FLOOR=""
if cc -O2 -o "$W/floor" "$TOP/bench/floor.c" 2>"$W/floor.log"; then
  mkdir -p "$W/floor-scratch"
  FLOOR=$("$W/floor" "$root" "$W/floor-scratch" "$N" 2>>"$W/floor.log" |
    sed -n 's/^floor: median \([0-9.]*\) ms.*/\1/p')
fi
FORK=$(shell_ms /bin/true)
# the timer (bench/timeit.c); without a compiler, the shell's
bench_timer
SPAWN=$FORK
[ -x "$W/timeit" ] && SPAWN=$(median_ms /bin/true)

ENGINES=()

# ---- berth ----
cat >"$W/berth.conf" <<CONF
data-root = "$W/berth";
exec-root = "$W/berth-run";
plugin-dir = "$TOP/plugins/.libs";
api: { socket = "$W/berth.sock"; };
CONF
"$TOP/berthd" --config-file "$W/berth.conf" >"$W/berthd.log" 2>&1 &
BPID=$!
PIDS+=("$BPID")
for _ in $(seq 1 100); do curl -sf --unix-socket "$W/berth.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.05; done
R_IDLE[berth]=$(daemon_mem "$BPID")
BERTH=("$TOP/berth" -H "unix://$W/berth.sock")
"${BERTH[@]}" import -c 'CMD ["sh"]' "$W/bb.tar" busybox:latest >/dev/null
"${BERTH[@]}" save -o "$W/busybox-image.tar" busybox
echo "berth:  berthd $("${BERTH[@]}" version --format '{{.Server.Version}}' 2>/dev/null)" >&2
bench_engine berth "berth-shim --bundle $W/" "$BPID" "${BERTH[@]}"
ENGINES+=(berth)

# ---- the docker CLI as berthd's client: version and run --rm only ----
if command -v docker >/dev/null; then
  DCLI=(docker -H "unix://$W/berth.sock")
  "${DCLI[@]}" run --rm --network none busybox true >/dev/null 2>&1 # warm caches
  R_VER[dockercli]=$(median_ms "${DCLI[@]}" version)
  R_RUN[dockercli]=$(median_ms "${DCLI[@]}" run --rm --network none busybox true)
  R_EXEC[dockercli]=$(median_ms "${DCLI[@]}" exec "$("${BERTH[@]}" run -d --network none busybox sleep 3600)" true)
  "${BERTH[@]}" rm -f $("${BERTH[@]}" ps -aq) >/dev/null 2>&1
  R_RUND[dockercli]=-; R_PSS[dockercli]=-; R_DPSS[dockercli]=-
  R_PS[dockercli]=-; R_STOP[dockercli]=-; R_RM[dockercli]=-; R_IDLE[dockercli]=-; R_AFTER[dockercli]=-
  ENGINES+=(dockercli)
fi

# ---- docker (dockerd 20.10, its own containerd, no bridge, no iptables) ----
if command -v dockerd >/dev/null; then
  dockerd --data-root "$W/docker" --exec-root "$W/docker-run" -H "unix://$W/docker.sock" \
    --pidfile "$W/docker.pid" --bridge=none --iptables=false --ip6tables=false \
    --storage-driver overlay2 >"$W/dockerd.log" 2>&1 &
  DPID=$!
  PIDS+=("$DPID")
  for _ in $(seq 1 200); do curl -sf --unix-socket "$W/docker.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.1; done
  R_IDLE[docker]=$(daemon_mem "$DPID")
  DOCKER=(docker -H "unix://$W/docker.sock")
  if "${DOCKER[@]}" load -i "$W/busybox-image.tar" >/dev/null 2>&1; then
    echo "docker: dockerd $("${DOCKER[@]}" version --format '{{.Server.Version}}')" >&2
    bench_engine docker "containerd-shim-runc-v2 -namespace moby" "$DPID" "${DOCKER[@]}"
    ENGINES+=(docker)
  else
    echo "docker: could not start dockerd (see $W/dockerd.log)" >&2
    tail -5 "$W/dockerd.log" >&2
  fi
  kill "$DPID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
else
  echo "docker: not installed (apt-get install docker.io)" >&2
fi

# ---- podman (runc; crun refuses this host's hybrid cgroup layout) ----
if command -v podman >/dev/null; then
  # root here cannot raise rlimits past the hard limits: podman's defaults
  # ask for more, and its conmon runs with nproc 32768
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=32768:32768"]\n' "$(ulimit -Hn)" "$(ulimit -Hn)" \
    >"$W/containers.conf"
  export CONTAINERS_CONF="$W/containers.conf"
  PODMAN=(podman --root "$W/podman/root" --runroot "$W/podman/run" --runtime runc
    --cgroup-manager cgroupfs --events-backend file --storage-driver overlay)
  if "${PODMAN[@]}" load -i "$W/busybox-image.tar" >/dev/null 2>&1; then
    "${PODMAN[@]}" tag localhost/busybox:latest docker.io/library/busybox:latest >/dev/null 2>&1
    echo "podman: $("${PODMAN[@]}" version --format '{{.Client.Version}}')" >&2
    # podman has no daemon: its "daemon" figure is left out
    bench_engine podman "conmon.*$W/podman" "$$" "${PODMAN[@]}"
    R_DPSS[podman]="(no daemon)"; R_IDLE[podman]="(no daemon)"; R_AFTER[podman]="(no daemon)"
    ENGINES+=(podman)
  else
    echo "podman: could not load the image" >&2
  fi
else
  echo "podman: not installed (apt-get install podman)" >&2
fi

# ---- the table ----
printf '\n%-22s' "N=$N, M=$M"
for e in "${ENGINES[@]}"; do printf '%-22s' "$e"; done
printf '\n%-22s' "version (ms)"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_VER[$e]}"; done
printf '\n%-22s' "run --rm true (ms)"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_RUN[$e]}"; done
printf '\n%-22s' "exec true (ms)"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_EXEC[$e]}"; done
printf '\n%-22s' "run -d x$M"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_RUND[$e]}"; done
printf '\n%-22s' "PSS/container"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_PSS[$e]}"; done
printf '\n%-22s' "daemon +PSS/container"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_DPSS[$e]}"; done
printf '\n%-22s' "daemon PSS, started"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_IDLE[$e]}"; done
printf '\n%-22s' "daemon PSS, after"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_AFTER[$e]}"; done
printf '\n%-22s' "ps -a, $M (ms)"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_PS[$e]}"; done
printf '\n%-22s' "stop -t 0 (ms)"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_STOP[$e]}"; done
printf '\n%-22s' "rm -f x$M"
for e in "${ENGINES[@]}"; do printf '%-22s' "${R_RM[$e]}"; done
printf '\n\nthis machine now: the kernel floor of run --rm true %s ms (bench/floor.c), /bin/true %s ms\n' \
  "${FLOOR:--}" "$SPAWN"
printf '(wall times %s; /bin/true from bash: %s ms)\n' \
  "$([ -x "$W/timeit" ] && echo "spawned by bench/timeit.c" || echo "from bash")" "$FORK"
[ -n "$EXEC_FLOOR" ] &&
  awk -v e="${R_EXEC[berth]}" -v f="$EXEC_FLOOR" -v t="$SPAWN" 'BEGIN {
    printf "the kernel floor of exec true %.2f ms (bench/floor.c exec: the cgroups, one setns, a fork,\n", f
    printf "  the exec of the container'"'"'s /bin/true); berth exec = that + the fork+exec of the CLI + %.1f ms\n", e - f - t }'
[ -n "$FLOOR" ] && [ "$FLOOR" != - ] &&
  awk -v r="${R_RUN[berth]}" -v f="$FLOOR" -v t="$SPAWN" 'BEGIN {
    printf "berth run --rm = %.1f x the floor (%.1f x after the start of the CLI as /bin/true)\n", r / f, (r - t) / f }'
