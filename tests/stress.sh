#!/usr/bin/env bash
# The stress loop for the heap corruption of berthd (issue 9): each round
# kills berthd (-9) under restart-policy containers and loggers, restarts
# it, removes restarting containers, runs 50 short containers at once and
# checks every output, and runs exec and logs in parallel.
#
#   ROUNDS=50 tests/stress.sh                      the normal build
#   BERTH_BUILD=<tree> ROUNDS=50 tests/stress.sh   an --enable-sanitizers or
#                                                  --enable-tsan tree
#
# tests/run.sh runs 3 rounds on the normal build and 3 under ThreadSanitizer.
# It is what caught berthd's heap corruption (issue 9: libmicrohttpd 0.9.75
# writing into a freed connection after MHD_upgrade_action(CLOSE); see
# core/api/server.c): before the fix berthd died within 2 to 44 rounds,
# after it 50 rounds run clean (2.4 min normal, 9.6 min under TSan).  Run it
# with `ulimit -c unlimited` to keep a core if berthd ever dies again.
. "$(dirname "$0")/integration/lib.sh"
ROUNDS=${ROUNDS:-2}
BERTH_CLI="$T/cli/berth"
mkdir -p "$T/cli"
printf '#!/bin/sh\nASAN_OPTIONS=detect_leaks=0 TSAN_OPTIONS=report_bugs=0 exec "%s" "$@"\n' "$BERTH_BIN" >"$BERTH_CLI"
chmod 755 "$BERTH_CLI"
start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
for i in 1 2 3; do
  berth run -d --name log$i busybox sh -c 'i=0; while true; do i=$((i+1)); echo "line $i"; sleep 0.05; done' >/dev/null
done

round_ok=0
for r in $(seq 1 "$ROUNDS"); do
  bad=""
  for i in 1 2 3; do berth run -d --restart always --name rp$r-$i busybox sh -c 'sleep 0.2; exit 1' >/dev/null; done
  sleep 0.5
  stop_daemon KILL
  start_daemon || { bad="$bad restart"; break; }
  for i in 1 2 3; do berth rm -f rp$r-$i >/dev/null || bad="$bad rm-rp$i"; done
  [ -z "$(berth ps -aq --filter name=rp)" ] || bad="$bad rp-left"
  pids=""
  for i in $(seq 1 50); do
    ( out=$(timeout 60 "$BERTH_CLI" run --rm busybox echo "out-$r-$i" 2>&1)
      [ "$out" = "out-$r-$i" ] || echo "run $i: [$out]" >>"$T/lost.$r" ) &
    pids="$pids $!"
  done
  for i in $(seq 1 10); do
    ( [ "$(timeout 60 "$BERTH_CLI" exec log1 echo "exec-$i" 2>&1)" = "exec-$i" ] || echo "exec $i" >>"$T/lost.$r" ) &
    pids="$pids $!"
    ( timeout 60 "$BERTH_CLI" logs --tail 5 log$((i % 3 + 1)) 2>&1 | grep -q '^line [0-9]*$' || echo "logs $i" >>"$T/lost.$r" ) &
    pids="$pids $!"
  done
  wait $pids
  [ -s "$T/lost.$r" ] && bad="$bad lost($(wc -l <"$T/lost.$r")): $(head -3 "$T/lost.$r" | tr '\n' ' ')"
  kill -0 "$DPID" 2>/dev/null || bad="$bad berthd-died"
  left=$(berth ps -aq | wc -l)
  [ "$left" -eq 3 ] || bad="$bad containers-left=$left"
  if [ -n "$bad" ]; then fail "round $r:$bad"; else round_ok=$((round_ok + 1)); fi
  if ! kill -0 "$DPID" 2>/dev/null || grep -q "Sanitizer\|SIGSEGV\|corrupt" "$T/berthd.log"; then
    fail "round $r: berthd crashed or a sanitizer reported"
    grep -v 'level=info' "$T/berthd.log" | tail -40 | sed 's/^/#   /'
    break
  fi
done
expect "all $ROUNDS rounds clean" "$ROUNDS" "$round_ok"
# every line of a logger is there, in order, across the kill -9s
berth logs log1 | awk '{ if ($2 != NR) { print "line " NR " is [" $0 "]"; exit 1 } }' >"$T/order" 2>&1
expect "log1's lines are all there and in order" "" "$(cat "$T/order")"
berth rm -f log1 log2 log3 >/dev/null
expect "no container is left" "" "$(berth ps -aq)"
expect "no overlay mount is left" "" "$(grep -o " $T/data/storage[^ ]*" /proc/self/mounts)"
finish
