#!/usr/bin/env bash
# berthd start-up: daemon.conf errors, flags, driver selection and fallback.
. "$(dirname "$0")/lib.sh"

printf 'data-root = "%s/data";\nbogus-key = 1;\n' "$T" >"$T/bad.conf"
out=$("$BERTHD" --config-file "$T/bad.conf" 2>&1); rc=$?
expect "unknown key stops berthd" 1 "$rc"
expect "unknown key message" "berthd: bad.conf:2: unknown key 'bogus-key'" "$out"
printf 'storage: {\n  driver = 7;\n};\n' >"$T/bad2.conf"
out=$("$BERTHD" --config-file "$T/bad2.conf" 2>&1)
expect "bad value message" "berthd: bad2.conf:2: 'storage.driver' must be a string" "$out"
printf 'network: {\n  default = "bridge";\n  bridge-subnet = "10.0.0.0/33";\n};\n' >"$T/bad3.conf"
out=$("$BERTHD" --config-file "$T/bad3.conf" 2>&1)
expect_match "a bad network.bridge-subnet: its line" "^berthd: bad3.conf:3: network.bridge-subnet: Invalid subnet 10.0.0.0/33 : invalid CIDR address: 10.0.0.0/33" "$out"
out=$("$BERTHD" --config-file "$T/none.conf" 2>&1)
expect_match "missing config file" "none.conf: no such file" "$out"
out=$("$BERTHD" --bogus 2>&1); rc=$?
expect "bad flag exits 2" 2 "$rc"

# an explicit driver that cannot load: refuse to start, say why
printf 'data-root = "%s/d1";\nexec-root = "%s/r1";\nplugin-dir = "%s";\napi: { socket = "%s/x.sock"; };\nstorage: { driver = "nosuch"; };\n' "$T" "$T" "$PLUGIN_DIR" "$T" >"$T/c1.conf"
out=$("$BERTHD" --config-file "$T/c1.conf" 2>&1); rc=$?
expect "explicit unknown storage driver stops berthd" 1 "$rc"
expect_match "and says which" "storage driver 'nosuch' not found" "$out"

# default storage without overlay.so: falls back to vfs with a warning
write_conf "$T/empty-plugins"
mkdir -p "$T/empty-plugins"
start_daemon || fail "berthd starts without overlay.so"
expect "vfs fallback" "vfs" "$(docker info --format '{{.Driver}}')"
expect_match "fallback is explained in info" "falling back to vfs" "$(docker info --format '{{json .Warnings}}')"
expect_match "and in the log" "falling back to vfs" "$(cat "$T/berthd.log")"
make_busybox_tar "$T/bb.tar"
check "vfs imports" berth import "$T/bb.tar" bb:vfs
check "vfs layer holds the files" test -x "$(ls -d "$T"/data/storage/vfs/dir/*/bin/busybox | head -1)"
# diff and commit on vfs: the driver's naive changes (both trees walked)
docker run --name vd bb:vfs sh -c 'echo n >/new; echo x >>/etc/passwd; rm /bin/zcat; mkdir -p /tmp/d; touch /tmp/d/f' >/dev/null
expect "vfs: docker diff lists what overlay's would" "C /bin
D /bin/zcat
C /etc
C /etc/passwd
A /new
C /tmp
A /tmp/d
A /tmp/d/f" "$(docker diff vd)"
docker commit -c 'CMD ["cat","/new"]' vd bb:vfs2 >/dev/null
expect "vfs: the committed image runs with the file" "n" "$(docker run --rm bb:vfs2)"
expect "vfs: a deleted file stays deleted" "gone x" "$(docker run --rm bb:vfs2 sh -c 'test -e /bin/zcat || echo gone; tail -1 /etc/passwd' | xargs)"
expect "vfs: the committed image's own diff is empty" "" "$(docker create --name vd2 bb:vfs2 >/dev/null; docker diff vd2)"
docker rm vd vd2 >/dev/null
out=$("$BERTHD" --config-file "$T/daemon.conf" 2>&1); rc=$?
expect "a second berthd on the same data root is refused" 1 "$rc"
expect_match "with a reason" "data root $T/data is in use by another berthd" "$out"
out=$("$BERTHD" --config-file "$T/daemon.conf" --data-root "$T/data2" 2>&1); rc=$?
expect "a second berthd on the same socket is refused" 1 "$rc"
expect_match "with a reason" "another daemon is listening" "$out"
stop_daemon

# -H and --data-root override daemon.conf
rm -f "$SOCK"
"$BERTHD" --config-file "$T/daemon.conf" -H "unix://$T/other.sock" --data-root "$T/other" >>"$T/berthd.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do [ -S "$T/other.sock" ] && break; sleep 0.05; done
expect "-H overrides the socket" "OK" "$(curl -s --unix-socket "$T/other.sock" http://x/_ping)"
expect "--data-root overrides data-root" "$T/other" "$(docker -H "unix://$T/other.sock" info --format '{{.DockerRootDir}}')"
expect "socket mode 0660" "660" "$(stat -c %a "$T/other.sock")"
stop_daemon
check_fails "socket removed on shutdown" test -e "$T/other.sock"

# an extra network driver that fails is listed as failed; berthd runs on
write_conf
printf 'network: { default = "none"; drivers = ["none", "host", "nosuchnet"]; };\n' >>"$T/daemon.conf"
start_daemon || fail "berthd starts although an extra network driver fails"
expect_match "berth info lists it as failed, with the reason" "network +nosuchnet .*network driver 'nosuchnet' not found" "$(berth info 2>/dev/null)"
expect_match "docker info warns" "network driver nosuchnet is not available" "$(docker info --format '{{json .Warnings}}')"
expect "and the working ones are there" '["host","none"]' "$(docker info --format '{{json .Plugins.Network}}' | jq -c 'sort')"
stop_daemon
# daemon.conf no-new-privileges = true: for every container made, unless it says false
write_conf
printf 'no-new-privileges = true;\n' >>"$T/daemon.conf"
start_daemon || fail "berthd starts with no-new-privileges = true"
make_busybox_tar "$T/bbn.tar"
berth import "$T/bbn.tar" busybox:latest >/dev/null
expect "no-new-privileges = true: set in a container" "NoNewPrivs: 1" "$(berth run --rm busybox grep NoNewPrivs /proc/self/status | tr -s '\t' ' ')"
expect "and in inspect's SecurityOpt" "[no-new-privileges]" "$(berth inspect -f '{{.HostConfig.SecurityOpt}}' "$(berth create busybox true)")"
expect "--security-opt no-new-privileges=false overrides it" "NoNewPrivs: 0" "$(berth run --rm --security-opt no-new-privileges=false busybox grep NoNewPrivs /proc/self/status | tr -s '\t' ' ')"
berth rm -f $(berth ps -aq) >/dev/null 2>&1
stop_daemon
# a default network driver that fails stops berthd
write_conf
printf 'network: { default = "nosuchnet"; drivers = ["none", "nosuchnet"]; };\n' >>"$T/daemon.conf"
out=$("$BERTHD" --config-file "$T/daemon.conf" 2>&1); rc=$?
expect "a failing default network driver stops berthd" 1 "$rc"
expect_match "saying which" "network driver 'nosuchnet' not found" "$out"
# libarchive and ldns are opened at their first use (core/util/lazylib.h)
write_conf
start_daemon || fail "berthd starts (libraries opened at first use)"
expect "a berthd that has not read a tar has not loaded libarchive or ldns" "" \
  "$(grep -oE 'lib(archive|ldns)[^ ]*' "/proc/$DPID/maps" | sort -u)"
make_busybox_tar "$T/bbl.tar"
check "an import" berth import "$T/bbl.tar" bbl
expect_match "loads libarchive" "libarchive\.so" "$(cat "/proc/$DPID/maps")"
stop_daemon
# berthd stops at once with sessions open on quiet containers (logs -f,
# attach, exec), and leaves the containers as they were: an attached
# container's stdin stays open (cat would end on its EOF)
start_daemon || fail "berthd starts again"
cat_id=$(berth run -di bbl cat)
slp=$(berth run -d bbl sleep 60)
berth logs -f "$slp" >/dev/null 2>&1 &
l1=$!
mkfifo "$T/stdin"
exec 7<>"$T/stdin" # a stdin that stays open, with no process behind it
berth attach "$cat_id" <&7 >/dev/null 2>&1 &
l2=$!
berth exec "$slp" sleep 50 >/dev/null 2>&1 &
l3=$!
echo through-attach >&7
for _ in $(seq 1 40); do berth logs "$cat_id" 2>&1 | grep -q through-attach && break; sleep 0.05; done
expect "the attach carries stdin" "through-attach" "$(berth logs "$cat_id" 2>&1)"
check_stops "berthd stops within 3 s with logs -f, attach and exec open on quiet containers"
kill "$l1" "$l2" "$l3" 2>/dev/null
wait "$l1" "$l2" "$l3" 2>/dev/null
exec 7>&-
start_daemon || fail "berthd starts again"
expect "the attached container still runs, its stdin open" "true" \
  "$(berth inspect -f '{{.State.Running}}' "$cat_id" 2>&1)"
expect "the container with an exec still runs" "true" "$(berth inspect -f '{{.State.Running}}' "$slp" 2>&1)"
# a logs -f whose client goes while the container is quiet ends then, not
# at the container's next line: berthd's threads back to what they were
threads() { awk '/^Threads:/ {print $2}' "/proc/$DPID/status"; }
before=$(threads)
"$BERTH_BIN" logs -f "$slp" >/dev/null 2>&1 &
lf=$!
for _ in $(seq 1 40); do [ "$(threads)" -gt "$before" ] && break; sleep 0.05; done
check "logs -f has its threads in berthd" test "$(threads)" -gt "$before"
{ kill -9 "$lf"; wait "$lf"; } 2>/dev/null
for _ in $(seq 1 60); do [ "$(threads)" -le "$before" ] && break; sleep 0.05; done
expect "a logs -f whose client went ends on a quiet container" "$before" "$(threads)"
berth rm -f "$cat_id" "$slp" >/dev/null 2>&1
# berthd waits, before it frees its state, for the work of threads it never
# joins (a container's exit, a health probe), but not long: a container in
# its restart back-off and a probe that runs for 20 s end at the stop
rs=$(berth run -d --restart always bbl sh -c 'sleep 0.3; exit 3')
hc=$(berth run -d --health-cmd 'sleep 20' --health-interval 1s --health-timeout 30s bbl sleep 600)
for _ in $(seq 1 100); do [ "$(berth inspect -f '{{.RestartCount}}' "$rs")" -ge 2 ] && break; sleep 0.1; done
check "a container restarts (always)" test "$(berth inspect -f '{{.RestartCount}}' "$rs")" -ge 2
sleep 1.2 # the probe begun
expect_match "its probe runs" "sleep 20" "$(ps -eo args | grep -v grep | grep 'sleep 20')"
check_stops "berthd stops within 3 s with a restart back-off and a health probe under way"
expect "the stop cut the probe" "" "$(ps -eo args | grep -v grep | grep 'sleep 20')"
start_daemon || fail "berthd starts again"
for _ in $(seq 1 60); do [ "$(berth inspect -f '{{.State.Running}}' "$rs")" = true ] && break; sleep 0.1; done
expect "the restarting container is brought back" "true" "$(berth inspect -f '{{.State.Running}}' "$rs")"
expect "the cut probe was not counted" "starting 0" \
  "$(berth inspect -f '{{.State.Health.Status}} {{len .State.Health.Log}}' "$hc")"
expect "docker's template says the same" "starting 0" \
  "$(docker inspect -f '{{.State.Health.Status}} {{len .State.Health.Log}}' "$hc")"
berth rm -f "$rs" "$hc" >/dev/null 2>&1
stop_daemon
# a libarchive that does not load (a file that is not one, bound over it in
# berthd's own mount namespace): the requests that need it fail with the
# reason, the rest of berthd goes on
lib=$(ldconfig -p | awk '/libarchive\.so\.[0-9]+ .*x86-64/ {print $NF; exit}')
unshare --mount --propagation private sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' \
  sh "$lib" "$BERTHD" --config-file "$T/daemon.conf" >>"$T/berthd.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do curl -sf --unix-socket "$SOCK" http://x/_ping >/dev/null 2>&1 && break; sleep 0.05; done
msg="cannot load libarchive\.so\.[0-9]+, which berthd needs for tar archives: .*libarchive"
expect_match "an import says libarchive cannot be loaded, and why" "$msg" "$(berth import "$T/bbl.tar" bbl2 2>&1)"
expect_match "a save too" "$msg" "$(berth save -o "$T/x.tar" bbl 2>&1)"
expect_match "an export too" "$msg" "$(berth export "$(berth create bbl true)" 2>&1 >/dev/null)"
expect_match "and docker cp" "$msg" "$(docker cp "$(berth create bbl true)":/etc/passwd - 2>&1 >/dev/null)"
expect_match "a load too" "$msg" "$(berth load -i "$T/bbl.tar" 2>&1)"
expect_match "a commit too" "$msg" "$(berth commit "$(berth create bbl true)" bbl:c 2>&1)"
expect_match "and a copy into a container" "$msg" "$(docker cp "$T/daemon.conf" "$(berth create bbl true)":/ 2>&1)"
check "berthd serves on" berth version
expect "and runs containers" "hi" "$(berth run --rm bbl echo hi 2>&1)"
berth rm -f $(berth ps -aq) >/dev/null 2>&1
stop_daemon
finish
