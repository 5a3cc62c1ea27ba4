# Helpers for berth's black-box tests: a private berthd per script, TAP
# output ("ok N - name" / "not ok N - name"), cleanup of every mount and
# process the script made, even when it fails.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# BERTH_BUILD points at another build of the tree (the sanitizer build).
BUILD=${BERTH_BUILD:-$TOP}
BERTHD="$BUILD/berthd"
BERTH_BIN="$BUILD/berth"
PLUGIN_DIR="$BUILD/plugins/.libs"
T=$(mktemp -d /tmp/berth-it-XXXXXX)
SOCK="$T/berth.sock"
export DOCKER_HOST="unix://$SOCK"
export BERTH_HOST="unix://$SOCK"
unset DOCKER_API_VERSION
# glibc's fatal messages ("free(): invalid pointer") to stderr, which is
# berthd.log, instead of a terminal berthd does not have
export LIBC_FATAL_STDERR_=1
N=0
FAILED=0
DPID=

ok() { N=$((N + 1)); echo "ok $N - $*"; }
fail() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
# check NAME CMD...: passes when CMD exits 0
check() { local name=$1; shift; if "$@" >"$T/last.out" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/#   /' "$T/last.out" | head -20; fi; }
# check_fails NAME CMD...: passes when CMD exits non-zero
check_fails() { local name=$1; shift; if "$@" >"$T/last.out" 2>&1; then fail "$name (succeeded)"; sed 's/^/#   /' "$T/last.out" | head -10; else ok "$name"; fi; }
# expect NAME WANT GOT
expect() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1"; echo "#   want: $2"; echo "#   got:  $3"; fi; }
# expect_match NAME REGEX TEXT
expect_match() { if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else fail "$1"; echo "#   /$2/ not in:"; printf '%s\n' "$3" | head -15 | sed 's/^/#   /'; fi; }

# no client call may hang a test run
# (under the sanitizer build, leak reports are for berthd, not the CLI)
berth() { ASAN_OPTIONS=detect_leaks=0 timeout -s KILL 60 "$BERTH_BIN" "$@"; }

write_conf() {
  cat >"$T/daemon.conf" <<CONF
data-root = "$T/data";
exec-root = "$T/run";
plugin-dir = "${1:-$PLUGIN_DIR}";
api: { socket = "$SOCK"; };
CONF
}

start_daemon() {
  [ -f "$T/daemon.conf" ] || write_conf
  "$BERTHD" --config-file "$T/daemon.conf" "$@" >>"$T/berthd.log" 2>&1 &
  DPID=$!
  for _ in $(seq 1 100); do
    [ -S "$SOCK" ] && curl -sf --unix-socket "$SOCK" http://x/_ping >/dev/null 2>&1 && return 0
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.05
  done
  echo "# berthd did not start:"; sed 's/^/#   /' "$T/berthd.log" | tail -20
  return 1
}

# check_stops NAME: SIGTERM to berthd; passes when it is gone within 3 s
# (its watchdog ends it at 5 s whatever still runs)
check_stops() {
  local t0 ms
  t0=$(date +%s%N)
  kill -TERM "$DPID"
  for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
  ms=$((($(date +%s%N) - t0) / 1000000))
  if ! kill -0 "$DPID" 2>/dev/null && [ "$ms" -lt 3000 ]; then
    ok "$1 ($ms ms)"
  else
    fail "$1 (took $ms ms)"
    tail -8 "$T/berthd.log" | cut -c1-220 | sed 's/^/#   /'
  fi
}

stop_daemon() {
  local sig=${1:-TERM}
  [ -n "$DPID" ] || return 0
  kill -"$sig" "$DPID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$DPID" 2>/dev/null
  wait "$DPID" 2>/dev/null
  DPID=
}

# Containers outlive berthd (their shims are not its children): end every
# shim and container process this script made, and their cgroups.
kill_containers() {
  pkill -9 -f "berth-shim --bundle $T/" 2>/dev/null
  local id d
  for d in "$T"/data/containers/*/; do
    [ -d "$d" ] || continue
    id=$(basename "$d")
    for cg in /sys/fs/cgroup/*/berth/"$id" /sys/fs/cgroup/berth/"$id"; do
      [ -d "$cg" ] || continue
      [ -f "$cg/freezer.state" ] && echo THAWED >"$cg/freezer.state" 2>/dev/null
      [ -f "$cg/cgroup.freeze" ] && echo 0 >"$cg/cgroup.freeze" 2>/dev/null
      for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    done
  done
  sleep 0.2
  for d in "$T"/data/containers/*/; do
    [ -d "$d" ] || continue
    id=$(basename "$d")
    for cg in /sys/fs/cgroup/*/berth/"$id" /sys/fs/cgroup/berth/"$id"; do
      [ -d "$cg" ] && rmdir "$cg" 2>/dev/null
    done
  done
}

cleanup() {
  stop_daemon KILL
  kill_containers
  grep -o " $T[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

# A busybox rootfs tar from Debian's busybox-static.
make_busybox_tar() {
  local out=$1 root="$T/bbroot"
  rm -rf "$root"; mkdir -p "$root"/{bin,etc,tmp,root,dev,proc,sys}
  cp /bin/busybox "$root/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar --numeric-owner -C "$root" -cf "$out" .
}

finish() {
  stop_daemon TERM
  if grep -q "Sanitizer" "$T/berthd.log" 2>/dev/null; then
    fail "berthd ran clean under the sanitizers"
    # the whole report outlives $T (run.sh shows a dozen lines of it)
    local keep="/tmp/berth-sanitizer-$(basename "$0" .sh)-$$.log"
    cp "$T/berthd.log" "$keep" 2>/dev/null && echo "#   berthd's log, with the whole report: $keep"
    grep -A30 "Sanitizer" "$T/berthd.log" | head -60 | sed 's/^/#   /'
  elif [ -n "${BERTH_BUILD:-}" ]; then
    ok "berthd ran clean under the sanitizers"
  fi
  echo "1..$N"
  [ "$FAILED" -eq 0 ]
}
