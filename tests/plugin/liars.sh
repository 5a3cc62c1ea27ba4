#!/usr/bin/env bash
# The lying-plugin matrix, through a real berthd: every lie a driver file
# can tell is refused with one line that says what is wrong, and a driver
# that crashes in an op is contained (a log line names the driver and op;
# berthd and the other containers go on).  Liars are built from
# tests/plugin/liar.c and contrib/ with the public headers only.
. "$(dirname "$0")/../integration/lib.sh"

CC="cc -I$TOP/include -Wall -Wextra -Wno-override-init -Werror -shared -fPIC"
mkdir -p "$T/so"
# inject FILE FUNCTION STATEMENT: FILE with STATEMENT first in FUNCTION
inject() {
  awk -v fn="^static [a-z ]+\\*?$2\\(" -v stmt="$3" '$0 ~ fn {infn=1} {print} infn && /\{$/ {print "  " stmt; infn=0}' "$1"
}
# liar FILE-BASE FLAGS...: builds $T/so/<base>.so from liar.c
liar() {
  local base=$1; shift
  $CC -DIDENT="$(tr -c 'a-zA-Z0-9\n' _ <<<"$base")" "$@" -o "$T/so/$base.so" "$TOP/tests/plugin/liar.c"
}
liar magic -DLIE_MAGIC
liar major -DLIE_MAJOR
liar minor -DLIE_MINOR
liar short -DLIE_SIZE
liar noop -DLIE_NO_OP -DNAME='"noop"'
liar dup -DNAME='"dup"'
mkdir -p "$T/so/other" && cp "$T/so/dup.so" "$T/so/other/dup.so"
liar host -DNAME='"host"'
liar escape -DNAME='"../../../escape"'
liar initfail -DLIE_INIT -DNAME='"initfail"'
liar segv -DLIE_SEGV_INIT -DNAME='"segv"'
liar fine -DNAME='"fine"'

# one berthd with every network liar as an extra driver: each is listed as
# failed with its reason, and berthd serves
write_conf
extras=""
for f in magic major minor short noop dup other/dup host escape initfail segv fine; do
  extras="$extras, \"$T/so/$f.so\""
done
printf 'network: { drivers = [ "none", "host"%s ]; default = "none"; };\n' "$extras" >>"$T/daemon.conf"
start_daemon || fail "berthd starts in spite of the lying extra drivers"
ls=$(berth plugin ls --format '{{.Origin}} | {{.Status}}' 2>&1)
status() { grep -F "$T/so/$1.so |" <<<"$ls" | head -1 | sed 's/^[^|]*| //'; }
expect_match "wrong magic: refused" "not a berth plugin|magic" "$(status magic)"
expect_match "newer major: refused, saying both" "ABI 2\.[0-9]+.*1\.[0-9]+|major" "$(status major)"
expect_match "newer minor: refused, saying both" "1\.99" "$(status minor)"
expect_match "a descriptor shorter than 1.0's: refused" "size|short" "$(status short)"
expect_match "a required op missing: named" "create_network" "$(status noop)"
expect_match "the first 'dup' loads" "^active" "$(status dup)"
expect_match "a second driver called 'dup': refused as a duplicate" "dup.*already|duplicate" "$(status other/dup)"
expect_match "a file calling itself like a built-in: refused" "built-in" "$(status host)"
expect_match "a bad driver name: refused" "name" "$(status escape)"
check_fails "... and nothing was made outside the data root" test -e "$T/escape"
expect_match "init's own error is shown" "no bridge module on this host" "$(status initfail)"
expect_match "a crash in init: contained, the driver disabled, op named" "disabled: crashed \(signal 11\) in op init" "$(status segv)"
expect_match "berthd's log names the crashed driver and op" "berthd: fatal signal 11 in the network driver 'segv', op init: the driver is disabled" "$(cat "$T/berthd.log")"
expect_match "the honest one is active" "^active" "$(status fine)"
check "berthd serves" berth version
stop_daemon

# an inconsistent op group (reads advertised, no read_next) as the log
# driver: berthd refuses to start, with the line
liar badlog -DLIE_LOG_GROUP -DNAME='"badlog"'
write_conf
printf 'log: { driver = "%s"; };\n' "$T/so/badlog.so" >>"$T/daemon.conf"
: >"$T/berthd.log"
timeout 20 "$BERTHD" --config-file "$T/daemon.conf" >>"$T/berthd.log" 2>&1
expect "a configured log driver with a broken op group stops berthd" 1 "$?"
expect_match "saying which op is missing" "read_next" "$(cat "$T/berthd.log")"

# a storage driver that crashes in an op (contrib's dirs, crashing in
# metadata): berthd goes on, the container that runs on it too; later
# calls into the disabled driver fail with a clear error
inject "$TOP/contrib/storage-example/dirs.c" dirs_metadata '*(volatile int *)(size_t)(id[0] == 0) = 1;' >"$T/dirs.c"
check "a crashing variant of contrib's storage driver builds" $CC -o "$T/so/dirs.so" "$T/dirs.c"
grep -q 'volatile int' "$T/dirs.c" || fail "the crash was put into metadata"
write_conf
printf 'storage: { driver = "%s"; };\n' "$T/so/dirs.so" >>"$T/daemon.conf"
: >"$T/berthd.log"
start_daemon || fail "berthd starts on it"
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
quiet=$(berth run -d busybox sleep 300)
expect "a container runs on it" true "$(berth inspect -f '{{.State.Running}}' "$quiet" 2>&1)"
berth image inspect busybox >/dev/null 2>&1
expect_match "the crash in metadata is logged with driver and op" "berthd: fatal signal 11 in the storage driver 'dirs', op metadata: the driver is disabled, berthd goes on" "$(cat "$T/berthd.log")"
check "berthd serves" berth version
expect "the container runs on" true "$(berth inspect -f '{{.State.Running}}' "$quiet" 2>&1)"
expect "exec into it works" hi "$(berth exec "$quiet" echo hi 2>&1)"
out=$(berth run --rm busybox true 2>&1)
expect_match "a new container is refused, saying why" "storage driver is disabled: it crashed \(signal 11\) in op metadata" "$out"
expect_match "plugin ls shows it disabled" "disabled: crashed" "$(berth plugin ls 2>&1 | grep dirs)"
berth rm -f "$quiet" >/dev/null 2>&1
for _ in $(seq 1 50); do pgrep -f "sleep 300" -a | grep -q . || break; sleep 0.1; done
expect "rm -f ends the container all the same" "" "$(for p in $(pgrep -f 'sleep 300'); do grep -l "$quiet" /proc/$p/cgroup 2>/dev/null; done)"
stop_daemon

# a log driver that crashes in an op: in berth-shim (log), the driver is
# disabled and the container runs on, its output no longer logged; in
# berthd (read_next), `logs` fails with the reason and berthd goes on.
# Each crash is logged with the driver and op.
mkdir -p "$T/crash"
awk '/^static int ex_log\(/ {print; getline; print; print "  if (memmem(m->line, m->len, \"crash-in-log\", 12)) *(volatile int *)0 = 1;"; next}
     /^    \*m = \(struct berth_log_msg\)/ {print; print "    if (strstr(text, \"crash-in-read\")) *(volatile int *)0 = 1;"; next} {print}' \
  "$TOP/contrib/plugin-example/example.c" >"$T/crash/example-log.c"
check "a crashing variant of contrib's log driver builds" $CC -D_GNU_SOURCE -o "$T/crash/example-log.so" "$T/crash/example-log.c"
expect "with both crashes in it" 2 "$(grep -c 'volatile int' "$T/crash/example-log.c")"
write_conf
printf 'log: { driver = "%s"; };\n' "$T/crash/example-log.so" >>"$T/daemon.conf"
rm -rf "$T/data"
: >"$T/berthd.log"
start_daemon || fail "berthd starts with the crashing driver"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
quiet=$(berth run -d busybox sh -c 'echo crash-in-read; sleep 300')
bad=$(berth run -d busybox sh -c 'echo before; echo crash-in-log; sleep 0.5; echo after; sleep 300')
for _ in $(seq 1 50); do grep -q 'op log' "$T/data/containers/$bad/shim.log" 2>/dev/null && break; sleep 0.1; done
expect_match "the shim says which driver and op crashed, and goes on" "berth-shim: fatal signal 11 in the log driver 'example-log', op log: the driver is disabled, berth-shim goes on" "$(cat "$T/data/containers/$bad/shim.log" 2>&1)"
sleep 0.6
expect "the container whose log driver crashed runs on" true "$(berth inspect -f '{{.State.Running}}' "$bad")"
expect "what was logged before the crash reads back" before "$(berth logs "$bad" 2>&1)"
out=$(berth logs "$quiet" 2>&1)
expect_match "reading a line that crashes the reader: logs fails, saying why" "log driver is disabled: it crashed \(signal 11\) in op read_next" "$out"
expect_match "docker logs says the same (docker's error frame)" "error from daemon in stream: .*disabled" "$(docker logs "$quiet" 2>&1)"
expect_match "berthd's log names driver and op" "berthd: fatal signal 11 in the log driver 'example-log', op read_next: the driver is disabled, berthd goes on" "$(cat "$T/berthd.log")"
check "berthd is fine" berth version
expect "the other container runs on" true "$(berth inspect -f '{{.State.Running}}' "$quiet")"
# a shim that dies (kill -9) takes its container with it: recorded as
# exited with the reason, nothing of it left running
shim=$(pgrep -f "berth-shim --bundle $T/data/containers/$bad" | head -1)
kill -9 "$shim"
for _ in $(seq 1 100); do [ "$(berth inspect -f '{{.State.Running}}' "$bad")" = false ] && break; sleep 0.1; done
expect "the container whose shim died is recorded as exited" false "$(berth inspect -f '{{.State.Running}}' "$bad")"
expect_match "with the reason" "berth-shim died" "$(berth inspect -f '{{.State.Error}}' "$bad")"
expect "nothing of it is left running" "" "$(pgrep -f 'sleep 300' -a | while read -r p _; do grep -l "$bad" /proc/$p/cgroup 2>/dev/null; done)"
berth rm -f "$quiet" "$bad" >/dev/null
stop_daemon

# a registry driver that crashes in an op (contrib's dir-registry, in open
# for a repository named "crash/..."): the pull fails saying so, berthd
# and a running container go on
inject "$TOP/contrib/registry-example/dir-registry.c" dr_open 'if (!strncmp(t->repo, "crash/", 6)) *(volatile int *)0 = 1;' >"$T/dir-registry.c"
check "a crashing variant of contrib's registry driver builds" $CC -o "$T/so/dir-registry.so" "$T/dir-registry.c" -lcrypto
grep -q 'volatile int' "$T/dir-registry.c" || fail "the crash was put into open"
rm -rf "$T/data"
write_conf
printf 'registry: { driver = "%s"; dir-registry: { root = "%s"; }; };\n' "$T/so/dir-registry.so" "$T/regdir" >>"$T/daemon.conf"
: >"$T/berthd.log"
start_daemon || fail "berthd starts with it"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
quiet=$(berth run -d busybox sleep 300)
out=$(berth pull reg.example/crash/me:1 2>&1)
expect_match "a pull that crashes the driver fails, saying why" "registry driver is disabled: it crashed \(signal 11\) in op open" "$out"
expect_match "berthd's log names driver and op" "berthd: fatal signal 11 in the registry driver 'dir-registry', op open: the driver is disabled, berthd goes on" "$(cat "$T/berthd.log")"
check "berthd serves" berth version
expect "the container runs on" true "$(berth inspect -f '{{.State.Running}}' "$quiet" 2>&1)"
berth rm -f "$quiet" >/dev/null 2>&1
stop_daemon
finish
