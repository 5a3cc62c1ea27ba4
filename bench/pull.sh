#!/usr/bin/env bash
# Time to pull a ~300 MB, 3-layer image from a local registry (Debian's
# docker-registry on a loopback port), berth side by side with dockerd 20.10
# when it is installed.  Everything runs under one temp dir and is stopped
# (by PID) at the end.
#
#   bench/pull.sh [RUNS]     pulls per engine (default 3); the median is printed
#   MB=300 bench/pull.sh     total size of the two big layers
set -u
RUNS=${1:-3}
MB=${MB:-300}
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$TOP/berthd" ] || { echo "build first" >&2; exit 1; }
command -v docker-registry >/dev/null || { echo "apt-get install docker-registry" >&2; exit 1; }
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}"/berth-bench-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  grep -o " $W[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM
median() { sort -n | awk '{a[NR]=$1} END {if (!NR) print "-"; else printf "%.2f", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- registry ----
RP=$(port)
cat >"$W/reg.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $W/reg
http:
  addr: 127.0.0.1:$RP
YML
docker-registry serve "$W/reg.yml" >"$W/reg.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$RP/v2/" && break; sleep 0.1; done
R="127.0.0.1:$RP"

# ---- berthd ----
cat >"$W/berth.conf" <<CONF
data-root = "$W/berth";
exec-root = "$W/berth-run";
plugin-dir = "$TOP/plugins/.libs";
api: { socket = "$W/berth.sock"; };
registry: { driver = "distribution"; };
CONF
"$TOP/berthd" --config-file "$W/berth.conf" >"$W/berthd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf --unix-socket "$W/berth.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.05; done
B=("$TOP/berth" -H "unix://$W/berth.sock")

# ---- the image: busybox + two layers of MB/2 each (random: incompressible) ----
root="$W/bbroot"
mkdir -p "$root"/{bin,etc,tmp,root,dev,proc,sys} "$W/l2" "$W/l3"
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
tar --numeric-owner -C "$root" -cf "$W/l1.tar" .
head -c $((MB / 2 * 1000000)) /dev/urandom >"$W/l2/a"
head -c $((MB / 2 * 1000000)) /dev/urandom >"$W/l3/b"
tar -C "$W/l2" -cf "$W/l2.tar" .
tar -C "$W/l3" -cf "$W/l3.tar" .
python3 - "$W" <<'PY'
import hashlib, json, sys, tarfile, io
W = sys.argv[1]
layers = [f"{W}/l1.tar", f"{W}/l2.tar", f"{W}/l3.tar"]
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for c in iter(lambda: f.read(1 << 20), b""): h.update(c)
    return "sha256:" + h.hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                  "rootfs": {"type": "layers", "diff_ids": [sha(p) for p in layers]}}).encode()
cid = hashlib.sha256(cfg).hexdigest()
with tarfile.open(f"{W}/img.tar", "w") as t:
    ti = tarfile.TarInfo(f"{cid}.json"); ti.size = len(cfg); t.addfile(ti, io.BytesIO(cfg))
    names = []
    for i, p in enumerate(layers):
        t.add(p, arcname=f"l{i}/layer.tar"); names.append(f"l{i}/layer.tar")
    m = json.dumps([{"Config": f"{cid}.json", "RepoTags": ["big:v1"], "Layers": names}]).encode()
    ti = tarfile.TarInfo("manifest.json"); ti.size = len(m); t.addfile(ti, io.BytesIO(m))
PY
"${B[@]}" load -q -i "$W/img.tar" >/dev/null
"${B[@]}" tag big:v1 "$R/big:v1"
"${B[@]}" push "$R/big:v1" >/dev/null || { echo "push failed" >&2; exit 1; }
ID=$("${B[@]}" image inspect -f '{{.Id}}' big:v1)
SIZE=$(du -sb "$W/reg" | cut -f1)
echo "image: 3 layers, $((SIZE / 1000000)) MB compressed in the registry" >&2
rm -f "$W"/l*.tar "$W/img.tar" "$W/l2/a" "$W/l3/b"

declare -A RES
t_berth=$(for i in $(seq 1 "$RUNS"); do
  "${B[@]}" rmi -f "$ID" >/dev/null 2>&1
  s=$(date +%s%N); "${B[@]}" pull -q "$R/big:v1" >/dev/null || echo "pull failed" >&2
  echo "$((($(date +%s%N) - s) / 1000000))"; done | awk '{print $1/1000}' | median)
RES[berth]="$t_berth s"
ENGINES=(berth)

if command -v dockerd >/dev/null; then
  dockerd --data-root "$W/docker" --exec-root "$W/docker-run" -H "unix://$W/docker.sock" --pidfile "$W/docker.pid" \
    --bridge=none --iptables=false --ip6tables=false --storage-driver overlay2 >"$W/dockerd.log" 2>&1 &
  DPID=$!
  PIDS+=("$DPID")
  for _ in $(seq 1 200); do curl -sf --unix-socket "$W/docker.sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.1; done
  D=(docker -H "unix://$W/docker.sock")
  t_docker=$(for i in $(seq 1 "$RUNS"); do
    "${D[@]}" rmi -f "$R/big:v1" >/dev/null 2>&1
    s=$(date +%s%N); "${D[@]}" pull -q "$R/big:v1" >/dev/null || echo "docker pull failed" >&2
    echo "$((($(date +%s%N) - s) / 1000000))"; done | awk '{print $1/1000}' | median)
  RES[docker]="$t_docker s"
  ENGINES+=(docker)
  kill "$DPID"
  for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
fi

printf '\n%-28s' "pull ${MB} MB x3 layers"
for e in "${ENGINES[@]}"; do printf '%-14s' "$e"; done
printf '\n%-28s' "median of $RUNS (wall)"
for e in "${ENGINES[@]}"; do printf '%-14s' "${RES[$e]}"; done
printf '\n'
