#!/usr/bin/env bash
# Builds: a 10-step Dockerfile (RUN steps that write files, a COPY of 50 MB),
# cold (--no-cache) and warm (unchanged context), berth beside docker's
# legacy builder (dockerd 20.10, DOCKER_BUILDKIT=0) and podman build when
# they are installed.  Each engine gets its own data root and socket under
# one temp dir, and is stopped (by PID) and cleaned up at the end.
#
#   bench/build.sh [N]     N samples per figure, the median printed (default 3)
set -u
N=${1:-3}
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
  sleep 0.3
  grep -o " $W[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (!NR) print "-"; else printf "%.3f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
seconds() {
  local t0; t0=$(now_ns)
  "$@" >"$W/last.log" 2>&1 || { echo "failed: $*" >&2; tail -3 "$W/last.log" >&2; }
  awk -v ns=$(($(now_ns) - t0)) 'BEGIN {printf "%.3f\n", ns / 1e9}'
}

# ---- the project ----
C="$W/ctx"
mkdir -p "$C/data"
for i in $(seq 1 50); do head -c 1048576 /dev/urandom >"$C/data/f$i"; done
cat >"$C/Dockerfile" <<'DF'
FROM busybox
ENV APP=/app
WORKDIR /app
RUN echo one >/app/1 && seq 1 10000 >/app/seq
RUN mkdir -p /app/gen && for i in 1 2 3 4 5 6 7 8 9 10; do echo $i >/app/gen/$i; done
COPY data /app/data
RUN du -s /app/data >/app/du
RUN cat /app/seq | wc -l >/app/count
LABEL bench=build
CMD ["cat","/app/count"]
DF

declare -A R_COLD R_WARM
bench_engine() {
  local name=$1; shift
  local cli=("$@") i
  R_COLD[$name]=$(for i in $(seq 1 "$N"); do seconds "${cli[@]}" build --no-cache -t "bench:$name" "$C"; done | median)
  R_WARM[$name]=$(for i in $(seq 1 "$N"); do seconds "${cli[@]}" build -t "bench:$name" "$C"; done | median)
}

root="$W/bbroot"
mkdir -p "$root"/{bin,etc,tmp,root,dev,proc,sys}
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
tar --numeric-owner -C "$root" -cf "$W/bb.tar" .

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
  DOCKER=(env DOCKER_BUILDKIT=0 docker -H "unix://$W/docker.sock")
  if "${DOCKER[@]}" load -i "$W/busybox-image.tar" >/dev/null 2>&1; then
    echo "docker: dockerd $("${DOCKER[@]}" version --format '{{.Server.Version}}')" >&2
    bench_engine docker "${DOCKER[@]}"
    ENGINES+=(docker)
  fi
  kill "$DPID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
fi

if command -v podman >/dev/null; then
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=32768:32768"]\n' "$(ulimit -Hn)" "$(ulimit -Hn)" \
    >"$W/containers.conf"
  export CONTAINERS_CONF="$W/containers.conf"
  PODMAN=(podman --root "$W/podman/root" --runroot "$W/podman/run" --runtime runc
    --cgroup-manager cgroupfs --events-backend file --storage-driver overlay)
  if "${PODMAN[@]}" load -i "$W/busybox-image.tar" >/dev/null 2>&1; then
    "${PODMAN[@]}" tag localhost/busybox:latest docker.io/library/busybox:latest >/dev/null 2>&1
    echo "podman: $("${PODMAN[@]}" version --format '{{.Client.Version}}')" >&2
    # RUN steps without a network, as berth's and docker's run here
    printf '#!/bin/sh\nsub=$1; shift\nexec %s "$sub" --network none "$@"\n' "${PODMAN[*]}" >"$W/podman-build"
    chmod +x "$W/podman-build"
    bench_engine podman "$W/podman-build"
    ENGINES+=(podman)
  fi
fi

printf '\n%-22s' "N=$N (s)"
for e in "${ENGINES[@]}"; do printf '%-12s' "$e"; done
printf '\n%-22s' "cold (--no-cache)"
for e in "${ENGINES[@]}"; do printf '%-12s' "${R_COLD[$e]}"; done
printf '\n%-22s' "warm (all cached)"
for e in "${ENGINES[@]}"; do printf '%-12s' "${R_WARM[$e]}"; done
printf '\n'
