#!/usr/bin/env bash
# Networking figures for berth, in a network and mount namespace of this
# script's own (nothing of the machine's network is touched):
#   run --rm true, --network none        median of N
#   run --rm true, default bridge        median of N (veth, address, route, /etc files)
#   run --rm true, bridge + -p 80         median of N (plus a host port and two nft rules)
#   network create + rm                  median of N
#   port throughput                      ab -n 5000 -c 8 through a published port
#                                        (busybox httpd), requests per second
# The comparison with dockerd is not made here yet (it needs dockerd in the
# namespace with its iptables; bench/run-latency.sh compares --network none).
#
#   bench/net.sh [N]    (default 20)
set -u
if [ -z "${BERTH_BENCH_NETNS:-}" ]; then
  exec env BERTH_BENCH_NETNS=1 unshare --net --mount --propagation private bash "$0" "$@"
fi
N=${1:-20}
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$TOP/berthd" ] || { echo "build first" >&2; exit 1; }
W=$(mktemp -d /tmp/berth-bench-XXXXXX)
SOCK="$W/berth.sock"
export DOCKER_HOST="unix://$SOCK" BERTH_HOST="unix://$SOCK"
ip link set lo up
cat >"$W/daemon.conf" <<CONF
data-root = "$W/data";
exec-root = "$W/run";
plugin-dir = "$TOP/plugins/.libs";
api: { socket = "$SOCK"; };
network: { drivers = [ "none", "host", "bridge" ]; default = "bridge"; };
CONF
"$TOP/berthd" --config-file "$W/daemon.conf" >"$W/berthd.log" 2>&1 &
DPID=$!
cleanup() {
  kill "$DPID" 2>/dev/null
  pkill -9 -f "berth-shim --bundle $W/" 2>/dev/null
  sleep 0.3
  grep -o " $W[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
B="$TOP/berth"
root="$W/bb"
mkdir -p "$root"/{bin,etc,tmp,www}
cp /bin/busybox "$root/bin/" && for a in sh true httpd; do ln -s busybox "$root/bin/$a"; done
echo hello >"$root/www/index.html"
tar -C "$root" -cf "$W/bb.tar" . && "$B" import "$W/bb.tar" busybox:latest >/dev/null

# median_ms CMD...: the median wall time of N runs, in ms
median_ms() {
  for _ in $(seq 1 "$N"); do
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s%N)
    echo $(((e - s) / 1000))
  done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
printf '%-40s %8s ms\n' "run --rm true (--network none)" "$(median_ms "$B" run --rm --network none busybox true)"
printf '%-40s %8s ms\n' "run --rm true (default bridge)" "$(median_ms "$B" run --rm busybox true)"
printf '%-40s %8s ms\n' "run --rm -p 80 true (bridge + a port)" "$(median_ms "$B" run --rm -p 80 busybox true)"
netcr() { "$B" network create benchnet && "$B" network rm benchnet; }
printf '%-40s %8s ms\n' "network create + rm" "$(median_ms netcr)"
"$B" run -d -p 8080:80 busybox httpd -f -p 80 -h /www >/dev/null
for _ in $(seq 1 50); do curl -s -o /dev/null -m 1 127.0.0.1:8080/index.html && break; sleep 0.1; done
rps=$(ab -q -n 5000 -c 8 http://127.0.0.1:8080/index.html 2>/dev/null | awk '/Requests per second/ {print $4}')
printf '%-40s %8s req/s\n' "port throughput (ab -n 5000 -c 8)" "${rps:-?}"
