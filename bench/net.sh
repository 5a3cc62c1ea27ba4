#!/usr/bin/env bash
# Networking figures, berth beside dockerd 20.10 (Debian's docker.io, with
# its default bridge and iptables) in the same run, in a network and mount
# namespace of this script's own: nothing of the machine's network, bridges
# or firewall is touched, and dockerd's iptables rules live and die with the
# namespace.
#   run --rm true, --network none        median of N
#   run --rm true, default bridge        median of N (veth, address, route, /etc files)
#   run --rm -p 80 true                  median of N (plus a host port and its NAT)
#   network create + rm                  median of N
#   port throughput                      ab -n 5000 -c 8 through a published port
#                                        (busybox httpd), requests per second
# With BERTH_TRACE=1 berthd logs its phases; the breakdown of a bridged
# run --rm is printed at the end (medians per phase).
#
#   bench/net.sh [N]    (default 20)
set -u
if [ -z "${BERTH_BENCH_NETNS:-}" ]; then
  exec env BERTH_BENCH_NETNS=1 unshare --net --mount --propagation private bash "$0" "$@"
fi
N=${1:-20}
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$TOP/berthd" ] || { echo "build first" >&2; exit 1; }
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}"/berth-bench-XXXXXX)
ip link set lo up
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  pkill -9 -f "berth-shim --bundle $W/" 2>/dev/null
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  grep -o " $W[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT
median_ms() { # CMD...: the median wall time of N runs, in ms
  for _ in $(seq 1 "$N"); do
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s%N)
    echo $(((e - s) / 1000))
  done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
declare -A R

# bench ENGINE PORT CLI...: the figures of one engine
bench() {
  local e=$1 port=$2; shift 2
  local cli=("$@")
  "${cli[@]}" run --rm --network none busybox true >/dev/null 2>&1 # warm caches
  "${cli[@]}" run --rm busybox true >/dev/null 2>&1
  R[$e,none]=$(median_ms "${cli[@]}" run --rm --network none busybox true)
  R[$e,bridge]=$(median_ms "${cli[@]}" run --rm busybox true)
  R[$e,port]=$(median_ms "${cli[@]}" run --rm -p 80 busybox true)
  netcr() { "${cli[@]}" network create benchnet && "${cli[@]}" network rm benchnet; }
  R[$e,netcr]=$(median_ms netcr)
  "${cli[@]}" run -d --name benchweb -p "$port:80" busybox httpd -f -p 80 -h /www >/dev/null
  for _ in $(seq 1 50); do curl -s -o /dev/null -m 1 "127.0.0.1:$port/index.html" && break; sleep 0.1; done
  R[$e,rps]=$(ab -q -n 5000 -c 8 "http://127.0.0.1:$port/index.html" 2>/dev/null | awk '/Requests per second/ {print $4}')
  "${cli[@]}" rm -f benchweb >/dev/null 2>&1
}

# ---- the image: busybox-static with /www ----
root="$W/bb"
mkdir -p "$root"/{bin,etc,tmp,www}
cp /bin/busybox "$root/bin/" && for a in sh true httpd; do ln -s busybox "$root/bin/$a"; done
echo hello >"$root/www/index.html"
tar -C "$root" -cf "$W/bb.tar" .
ENGINES=()

# ---- berth ----
cat >"$W/daemon.conf" <<CONF
data-root = "$W/data";
exec-root = "$W/run";
plugin-dir = "$TOP/plugins/.libs";
api: { socket = "$W/berth.sock"; };
network: { drivers = [ "none", "host", "bridge" ]; default = "bridge"; };
CONF
BERTH_TRACE=1 "$TOP/berthd" --config-file "$W/daemon.conf" >"$W/berthd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf --unix-socket "$W/berth.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.05; done
B=("$TOP/berth" -H "unix://$W/berth.sock")
"${B[@]}" import -c 'CMD ["sh"]' "$W/bb.tar" busybox:latest >/dev/null
"${B[@]}" save -o "$W/image.tar" busybox
bench berth 8080 "${B[@]}"
ENGINES+=(berth)
# the phases of bridged runs, from berthd's trace lines
: >"$W/berthd.log"
for _ in $(seq 1 "$N"); do "${B[@]}" run --rm busybox true >/dev/null 2>&1; done
PHASES=$(sed -nE 's/.*[" ]trace [0-9a-f]+ (.*) ([0-9.]+) ms.*/\1\t\2/p' "$W/berthd.log" | sort -t"$(printf '\t')" -k1,1 -k2,2n |
  awk -F'\t' 'function out() { if (n) printf "  %-28s %7.2f ms\n", p, v[int((n + 1) / 2)] }
    $1 != p { out(); p = $1; n = 0 } { v[++n] = $2 } END { out() }')

# ---- docker: dockerd 20.10 with its default bridge, in this namespace ----
if command -v dockerd >/dev/null; then
  dockerd --data-root "$W/docker" --exec-root "$W/docker-run" -H "unix://$W/docker.sock" \
    --pidfile "$W/docker.pid" --storage-driver overlay2 >"$W/dockerd.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do curl -sf --unix-socket "$W/docker.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.1; done
  D=(docker -H "unix://$W/docker.sock")
  if "${D[@]}" load -i "$W/image.tar" >/dev/null 2>&1; then
    bench docker 8081 "${D[@]}"
    ENGINES+=(docker)
  else
    echo "docker: could not start dockerd (see $W/dockerd.log)" >&2
    tail -5 "$W/dockerd.log" >&2
  fi
else
  echo "docker: not installed (apt-get install docker.io)" >&2
fi

printf '\n%-36s' "N=$N (medians)"
for e in "${ENGINES[@]}"; do printf '%14s' "$e"; done
for k in "none:run --rm true, --network none (ms)" "bridge:run --rm true, default bridge (ms)" \
  "port:run --rm -p 80 true (ms)" "netcr:network create + rm (ms)" "rps:port throughput (req/s)"; do
  printf '\n%-36s' "${k#*:}"
  for e in "${ENGINES[@]}"; do printf '%14s' "${R[$e,${k%%:*}]:-?}"; done
done
printf '\n\nberth, bridged run --rm by phase (berthd trace):\n%s\n' "$PHASES"
