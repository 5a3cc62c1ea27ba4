# Shared by the berth-only benches (phases.sh, density.sh): a private berthd
# on a temp dir, the busybox image from Debian's busybox-static, timing
# without forks (run-latency.sh takes its timer, timed and bench_timer).
# Source it after setting W (the temp dir) and TOP.

# kill berthd ($BPID), the shims and containers under $W, and remove their
# cgroups, mounts and $W itself (the EXIT trap of a bench with containers)
bench_cleanup() {
  [ -n "${BPID:-}" ] && kill -9 "$BPID" 2>/dev/null
  pkill -9 -f "berth-shim --bundle $W/" 2>/dev/null
  sleep 1
  # one kill, one rmdir, one umount for all (a fork costs ~5 ms on this VM:
  # one per cgroup made the clean-up of 1,000 containers take minutes)
  local cg mine=()
  for cg in /sys/fs/cgroup/*/berth/*; do
    [ -d "$W/data/containers/${cg##*/}" ] && mine+=("$cg")
  done
  [ ${#mine[@]} -gt 0 ] && cat "${mine[@]/%//cgroup.procs}" 2>/dev/null | xargs -r kill -9 2>/dev/null
  sleep 0.5
  [ ${#mine[@]} -gt 0 ] && rmdir "${mine[@]}" 2>/dev/null
  grep -o " $W[^ ]*" /proc/self/mounts | sort -r | xargs -r umount -l 2>/dev/null
  rm -rf "$W"
}

# berthd.conf for a data root, exec root and socket under $W
bench_conf() {
  cat >"$W/berth.conf" <<CONF
data-root = "$W/data";
exec-root = "$W/run";
plugin-dir = "$TOP/plugins/.libs";
api: { socket = "$W/berth.sock"; };
CONF
}

# start berthd (extra environment in $@, e.g. BERTH_TRACE=1) and wait for
# its first answered /_ping; BPID is its pid
bench_start() {
  env "$@" "$TOP/berthd" --config-file "$W/berth.conf" >>"$W/berthd.log" 2>&1 &
  BPID=$!
  for _ in $(seq 1 400); do
    curl -sf --unix-socket "$W/berth.sock" http://x/_ping >/dev/null 2>&1 && return 0
    sleep 0.025
  done
  return 1
}

# the busybox image, imported as "busybox" through the CLI in B
bench_busybox() {
  local root="$W/bbroot" a
  mkdir -p "$root"/{bin,etc,tmp,root,dev,proc,sys}
  cp /bin/busybox "$root/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  tar --numeric-owner -C "$root" -cf "$W/bb.tar" .
  "${B[@]}" import "$W/bb.tar" busybox >/dev/null
}

# the wall time of a command in microseconds: bench/timeit.c's when
# bench_timer built it (spawned as hyperfine -N spawns, without the copy of
# bash a fork makes: 2-3 ms on this kind of machine), else from bash (5's
# EPOCHREALTIME: no fork of date either)
timed() {
  if [ -x "$W/timeit" ]; then
    "$W/timeit" 1 "$@" 2>/dev/null | awk '/^median/ {printf "%d\n", $2 * 1000}'
    return
  fi
  local t0 t1
  t0=${EPOCHREALTIME/./}
  "$@" >/dev/null 2>&1
  t1=${EPOCHREALTIME/./}
  echo $((t1 - t0))
}

# build bench/timeit.c into $W for timed (not with BENCH_SHELL_TIMER=1)
bench_timer() {
  [ -z "${BENCH_SHELL_TIMER:-}" ] && cc -O2 -o "$W/timeit" "$TOP/bench/timeit.c" 2>/dev/null
  return 0
}
