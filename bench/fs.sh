#!/usr/bin/env bash
# commit and cp of 100 MB, berth side by side with docker (dockerd 20.10 from
# Debian's docker.io) when it is installed.  Each engine gets its own data
# root and socket under one temp dir, runs with --network none, and is
# stopped (by PID) and cleaned up at the end.
#
#   bench/fs.sh [N]      N samples per figure, the median printed (default 3)
#   MB=200 bench/fs.sh   the size of the changes and of the copied tree
#
# Figures printed (wall time of the client command):
#   commit               `commit C img` of a container holding MB MB of new files
#                        (MB files of 1 MiB from /dev/urandom), paused meanwhile
#   cp host->ctr         `cp DIR C:/in` of a host tree of MB files of 1 MiB
#   cp ctr->host         `cp C:/data DIR` of the container's MB MB
set -u
N=${1:-3}
MB=${MB:-100}
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$TOP/berthd" ] || { echo "build first: ./autogen.sh && ./configure && make" >&2; exit 1; }
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}"/berth-bench-XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  pkill -9 -f "berth-shim --bundle $W/" 2>/dev/null
  for cg in /sys/fs/cgroup/*/berth/*; do
    [ -d "$cg" ] || continue
    grep -q . "$cg/cgroup.procs" 2>/dev/null && [ -d "$W/berth/containers/$(basename "$cg")" ] &&
      xargs -r kill -9 <"$cg/cgroup.procs" 2>/dev/null
  done
  sleep 0.3
  grep -o " $W[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (!NR) print "-"; else printf "%.2f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# seconds CMD...: the wall time of one run, in seconds
seconds() {
  local t0; t0=$(now_ns)
  "$@" >/dev/null 2>&1 || echo "failed: $*" >&2
  awk -v ns=$(($(now_ns) - t0)) 'BEGIN {printf "%.3f\n", ns / 1e9}'
}

declare -A R_COMMIT R_CPIN R_CPOUT
bench_engine() {
  local name=$1; shift
  local cli=("$@") i
  "${cli[@]}" run -d --network none --name fsb busybox sh -c \
    "mkdir /data; i=0; while [ \$i -lt $MB ]; do head -c 1048576 /dev/urandom >/data/f\$i; i=\$((i+1)); done; touch /done; sleep 3600" >/dev/null
  for _ in $(seq 1 600); do "${cli[@]}" exec fsb test -e /done 2>/dev/null && break; sleep 0.2; done
  R_COMMIT[$name]=$(for i in $(seq 1 "$N"); do seconds "${cli[@]}" commit fsb "fsb:$i"; done | median)
  R_CPIN[$name]=$(for i in $(seq 1 "$N"); do seconds "${cli[@]}" cp "$W/src" "fsb:/in$i"; done | median)
  R_CPOUT[$name]=$(for i in $(seq 1 "$N"); do seconds "${cli[@]}" cp fsb:/data "$W/out-$name-$i"; done | median)
  local got; got=$(du -sm "$W/out-$name-1" 2>/dev/null | cut -f1)
  [ "${got:-0}" -ge "$MB" ] || echo "$name: cp ctr->host brought ${got:-0} MB, not $MB" >&2
  rm -rf "$W"/out-"$name"-*
  "${cli[@]}" rm -f fsb >/dev/null 2>&1
  for i in $(seq 1 "$N"); do "${cli[@]}" rmi "fsb:$i" >/dev/null 2>&1; done
}

# ---- the busybox image and the host tree ----
root="$W/bbroot"
mkdir -p "$root"/{bin,etc,tmp,root,dev,proc,sys} "$W/src"
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
tar --numeric-owner -C "$root" -cf "$W/bb.tar" .
for i in $(seq 1 "$MB"); do head -c 1048576 /dev/urandom >"$W/src/f$i"; done

ENGINES=()
cat >"$W/berth.conf" <<CONF
data-root = "$W/berth";
exec-root = "$W/berth-run";
plugin-dir = "$TOP/plugins/.libs";
api: { socket = "$W/berth.sock"; };
CONF
"$TOP/berthd" --config-file "$W/berth.conf" >"$W/berthd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf --unix-socket "$W/berth.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.05; done
BERTH=("$TOP/berth" -H "unix://$W/berth.sock")
"${BERTH[@]}" import -c 'CMD ["sh"]' "$W/bb.tar" busybox:latest >/dev/null
"${BERTH[@]}" save -o "$W/busybox-image.tar" busybox
bench_engine berth "${BERTH[@]}"
ENGINES+=(berth)

if command -v dockerd >/dev/null; then
  dockerd --data-root "$W/docker" --exec-root "$W/docker-run" -H "unix://$W/docker.sock" \
    --pidfile "$W/docker.pid" --bridge=none --iptables=false --ip6tables=false \
    --storage-driver overlay2 >"$W/dockerd.log" 2>&1 &
  DPID=$!
  PIDS+=("$DPID")
  for _ in $(seq 1 200); do curl -sf --unix-socket "$W/docker.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.1; done
  DOCKER=(docker -H "unix://$W/docker.sock")
  if "${DOCKER[@]}" load -i "$W/busybox-image.tar" >/dev/null 2>&1; then
    echo "docker: dockerd $("${DOCKER[@]}" version --format '{{.Server.Version}}')" >&2
    bench_engine docker "${DOCKER[@]}"
    ENGINES+=(docker)
  else
    echo "docker: could not start dockerd (see $W/dockerd.log)" >&2
  fi
  kill "$DPID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
else
  echo "docker: not installed (apt-get install docker.io)" >&2
fi

printf '\n%-22s' "N=$N, MB=$MB (s)"
for e in "${ENGINES[@]}"; do printf '%-14s' "$e"; done
printf '\n%-22s' "commit"
for e in "${ENGINES[@]}"; do printf '%-14s' "${R_COMMIT[$e]}"; done
printf '\n%-22s' "cp host->ctr"
for e in "${ENGINES[@]}"; do printf '%-14s' "${R_CPIN[$e]}"; done
printf '\n%-22s' "cp ctr->host"
for e in "${ENGINES[@]}"; do printf '%-14s' "${R_CPOUT[$e]}"; done
printf '\n'
