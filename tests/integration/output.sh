#!/usr/bin/env bash
# Output of short-lived containers under load: a CPU hog on every core
# beside 500 short containers, 10 at a time; every byte each wrote to
# stdout and stderr just before exiting must arrive, without and with -t,
# through attach (run) and through logs (run -d, wait, logs), through the
# berth CLI and the docker CLI.
#   COUNT=1000 PARALLEL=40 tests/integration/output.sh   harder, by hand
. "$(dirname "$0")/lib.sh"
COUNT=${COUNT:-100}
PARALLEL=${PARALLEL:-10}
HOGS=()
stop_hogs() { for p in "${HOGS[@]}"; do kill "$p" 2>/dev/null; done; HOGS=(); }
trap 'stop_hogs; cleanup' EXIT
start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null

# what container i prints: stderr first, 40 stdout lines, stderr again,
# and a last stdout line without a newline, then it exits at once
cat >"$T/prog" <<'PROG'
echo "err-$1-a" >&2; n=0; while [ $n -lt 40 ]; do echo "out-$1-$n"; n=$((n+1)); done
echo "err-$1-b" >&2; printf "last-$1"
PROG
want_out() { seq 0 39 | sed "s/^/out-$1-/"; printf 'last-%s' "$1"; }
want_err() { printf 'err-%s-a\nerr-%s-b\n' "$1" "$1"; }

cat >"$T/one" <<ONE
#!/usr/bin/env bash
# one container: \$1 the number, \$2 the mode; a line in $T/bad if anything differs
i=\$1 mode=\$2 d=$T/r/\$mode-\$i
mkdir -p "\$d"
B="timeout -s KILL 120 $BERTH_BIN"
D="timeout -s KILL 120 $(command -v docker)"
prog=\$(cat $T/prog)
case \$mode in
attach) \$B run --rm busybox sh -c "\$prog" sh "\$i" >"\$d/out" 2>"\$d/err" ;;
tty)    \$B run --rm -t busybox sh -c "\$prog" sh "\$i" >"\$d/out" 2>"\$d/err" ;;
dattach) \$D run --rm busybox sh -c "\$prog" sh "\$i" >"\$d/out" 2>"\$d/err" ;;
dtty)   \$D run --rm -t busybox sh -c "\$prog" sh "\$i" >"\$d/out" 2>"\$d/err" ;;
logs)   id=\$(\$B run -d busybox sh -c "\$prog" sh "\$i") && \$B wait "\$id" >/dev/null &&
        \$B logs "\$id" >"\$d/out" 2>"\$d/err" && \$B rm "\$id" >/dev/null ;;
esac
echo \$? >"\$d/rc"
ONE
chmod +x "$T/one"

# the hog: a busy loop per core, at the containers' own priority
for _ in $(seq 1 "$(nproc)"); do
  sh -c 'while :; do :; done' &
  HOGS+=($!)
done
start=$(date +%s)
for mode in attach tty logs dattach dtty; do
  seq 1 "$COUNT" | xargs -P "$PARALLEL" -I{} "$T/one" {} "$mode"
done
stop_hogs
echo "# $((5 * COUNT)) containers ($PARALLEL at a time) beside $(nproc) busy loops in $(( $(date +%s) - start )) s"

for mode in attach tty logs dattach dtty; do
  bad=0 first=""
  for i in $(seq 1 "$COUNT"); do
    d="$T/r/$mode-$i"
    if [ "$mode" = tty ] || [ "$mode" = dtty ]; then
      # a pty: both streams on stdout in program order, \r\n line ends
      got=$(tr -d '\r' <"$d/out")
      want=$( { want_err "$i" | head -1; want_out "$i" | head -40; want_err "$i" | tail -1; printf 'last-%s' "$i"; } )
    else
      got="$(cat "$d/out")|$(cat "$d/err")"
      want="$(want_out "$i")|$(want_err "$i")"
    fi
    if [ "$(cat "$d/rc" 2>/dev/null)" != 0 ] || [ "$got" != "$want" ]; then
      bad=$((bad + 1))
      [ -z "$first" ] && first="$i: rc=$(cat "$d/rc" 2>/dev/null) got $(printf '%s' "$got" | wc -c) bytes, want $(printf '%s' "$want" | wc -c): $(printf '%s' "$got" | tail -c 60 | tr '\n' ' ')"
    fi
  done
  expect "under load, $mode: every byte of $COUNT containers arrived" "0" "$bad"
  [ -n "$first" ] && echo "#   first: $first"
done
expect "no container is left" "" "$(berth ps -aq)"
finish
