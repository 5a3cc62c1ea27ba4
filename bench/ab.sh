#!/usr/bin/env bash
# Two builds of berth side by side, samples interleaved (A, B, A, B, ...) so
# that the machine's drift falls on both alike: the way to see whether a
# change moved `run --rm` or `exec` by a few percent on a noisy 2-core box.
#
#   bench/ab.sh BUILD_A BUILD_B [N]     N samples of each figure (default 100)
#
# AB_RUN_OPTS adds options to the run (e.g. "--security-opt
# seccomp=unconfined", to see what a part of the start costs); AB_GAP
# (seconds, e.g. 0.1) waits that long before each sample, as a person at a
# terminal does: what is made ahead between commands is then ready.
# AB_PS=M starts M more running containers in each and samples `ps -a`
# too (the run-latency row "ps -a, 50" is AB_PS=49: with `bench`, 50).
#
# A build is a built tree (berthd, berth, berth-shim, plugins/.libs), e.g. a
# `git worktree` of the commit before a change.  Each build gets its own
# berthd, data root and socket under one temp dir; all is stopped and
# cleaned up at the end.  Prints the median of each figure in microseconds.
set -u
[ $# -ge 2 ] || { echo "usage: bench/ab.sh BUILD_A BUILD_B [N]" >&2; exit 2; }
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
N=${3:-100}
for b in "$A" "$B"; do [ -x "$b/berthd" ] || { echo "$b: no berthd (build it first)" >&2; exit 1; }; done
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}"/berth-ab-XXXXXX)

cleanup() {
  # the long-running exec target first: a container outlives its berthd
  local v c
  for v in a b; do
    c=$A; [ $v = b ] && c=$B
    [ -S "$W/$v/sock" ] && "$c/berth" -H "unix://$W/$v/sock" rm -f $("$c/berth" -H "unix://$W/$v/sock" ps -aq) >/dev/null 2>&1
  done
  for v in a b; do [ -f "$W/$v/pid" ] && kill "$(cat "$W/$v/pid")" 2>/dev/null; done
  sleep 1
  pkill -9 -f "berth-shim --bundle $W/" 2>/dev/null
  sleep 0.3
  grep -o " $W[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

start() { # start NAME BUILD
  local d=$W/$1
  mkdir -p "$d"
  cat >"$d/daemon.conf" <<CONF
data-root = "$d/data";
exec-root = "$d/run";
plugin-dir = "$2/plugins/.libs";
api: { socket = "$d/sock"; };
CONF
  "$2/berthd" --config-file "$d/daemon.conf" >"$d/log" 2>&1 &
  echo $! >"$d/pid"
  for _ in $(seq 1 100); do [ -S "$d/sock" ] && return 0; sleep 0.05; done
  echo "berthd of $2 did not start" >&2
  exit 1
}

root=$W/rootfs
mkdir -p "$root"/{bin,etc,tmp,root,dev,proc,sys}
cp /bin/busybox "$root/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
tar -C "$root" -cf "$W/busybox.tar" .
declare -A BUILD=([a]=$A [b]=$B)
for v in a b; do
  start "$v" "${BUILD[$v]}"
  cli=("${BUILD[$v]}/berth" -H "unix://$W/$v/sock")
  "${cli[@]}" import -c 'CMD ["sh"]' "$W/busybox.tar" busybox >/dev/null
  "${cli[@]}" run -d --name bench busybox sleep 100000 >/dev/null
  "${cli[@]}" run --rm busybox true >/dev/null # warm up
  for i in $(seq 1 "${AB_PS:-0}"); do "${cli[@]}" run -d --name "ps$i" busybox sleep 100000 >/dev/null; done
done

us() { local s; s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $((($(date +%s%N) - s) / 1000)); }
for _ in $(seq 1 "$N"); do
  for v in a b; do
    cli=("${BUILD[$v]}/berth" -H "unix://$W/$v/sock")
    # shellcheck disable=SC2086
    [ -n "${AB_GAP:-}" ] && sleep "$AB_GAP"
    echo "$v run $(us "${cli[@]}" run --rm ${AB_RUN_OPTS:-} busybox true)"
    [ -n "${AB_GAP:-}" ] && sleep "$AB_GAP"
    echo "$v exec $(us "${cli[@]}" exec bench true)"
    [ "${AB_PS:-0}" -gt 0 ] && echo "$v ps $(us "${cli[@]}" ps -a)"
  done
done >"$W/samples"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-16s %12s %12s\n' "N=$N (median)" A B
for k in run exec ps; do
  [ "$k" = ps ] && [ "${AB_PS:-0}" -eq 0 ] && continue
  label="run --rm true"; [ "$k" = exec ] && label="exec true"; [ "$k" = ps ] && label="ps -a"
  printf '%-16s %9s us %9s us\n' "$label" \
    "$(awk -v k=$k '$1=="a" && $2==k {print $3}' "$W/samples" | median)" \
    "$(awk -v k=$k '$1=="b" && $2==k {print $3}' "$W/samples" | median)"
done
echo "A: $A"
echo "B: $B"
