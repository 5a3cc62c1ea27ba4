#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root) to a running berthd
# with a busybox:latest image made locally from Debian's busybox-static.
# Safe to run again: it rebuilds, reinstalls and restarts berthd.
set -euo pipefail
cd "$(dirname "$0")"

PKGS="build-essential autoconf automake libtool pkg-config libltdl-dev libconfig-dev
  libjansson-dev libseccomp-dev libarchive-dev libnl-3-dev libnl-route-3-dev
  libcurl4-openssl-dev libmicrohttpd-dev libssl-dev zlib1g-dev libnftables-dev libldns-dev nettle-dev busybox-static curl"
missing=$(for p in $PKGS; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "==> installing Debian packages: $(echo $missing)"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

echo "==> building"
[ -x configure ] || ./autogen.sh
./configure --prefix=/usr/local --sysconfdir=/etc >/dev/null
make -j"$(nproc)"
echo "==> installing into /usr/local"
make install >/dev/null
ldconfig

SOCK=/run/berth.sock
PIDFILE=/run/berth/berthd.pid
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "==> stopping the running berthd ($(cat "$PIDFILE"))"
  kill "$(cat "$PIDFILE")"
  for _ in $(seq 1 100); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.1; done
fi
echo "==> starting berthd (log: /var/log/berthd.log)"
mkdir -p /run/berth
nohup /usr/local/bin/berthd --config-file /etc/berth/daemon.conf >>/var/log/berthd.log 2>&1 &
echo $! >"$PIDFILE"
for _ in $(seq 1 100); do curl -sf --unix-socket "$SOCK" http://berth/_ping >/dev/null 2>&1 && break; sleep 0.1; done
if ! berth version; then
  echo "berthd did not come up; the end of /var/log/berthd.log:" >&2
  tail -20 /var/log/berthd.log >&2
  exit 1
fi

if ! berth image inspect busybox:latest >/dev/null 2>&1; then
  echo "==> making busybox:latest from Debian's busybox-static"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,etc,tmp,root,dev,proc,sys}
  cp /bin/busybox "$root/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >>"$root/etc/passwd"
  echo 'nogroup:x:65534:' >>"$root/etc/group"
  tar --numeric-owner -C "$root" -cf - . |
    berth import -c 'CMD ["sh"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - busybox:latest
fi
echo "==> images"
berth images
echo "==> a container: berth run --rm busybox echo ..."
berth run --rm busybox sh -c 'echo "hello from $(hostname), PID $$ in its own namespaces"'
echo
echo "berthd is running on unix://$SOCK; try: berth run -it busybox sh"
echo "or: DOCKER_HOST=unix://$SOCK docker run --rm -it busybox sh"
