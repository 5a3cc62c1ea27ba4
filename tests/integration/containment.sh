#!/usr/bin/env bash
# Containment: what a hostile image or container tries against the host.
# Each block is one finding of the hostile probe (issue 8): the exec escape
# (CVE-2019-5736 class) against copies of the binaries, image symlinks that
# point at host paths, container files that would stall berthd, and
# crashes and hangs of the daemon.  Through berth and the docker CLI.
. "$(dirname "$0")/lib.sh"

# berthd and its helpers run from copies the attack may try to overwrite
BIN="$T/bin"
mkdir -p "$BIN"
cp "$BUILD/berthd" "$BUILD/berth-shim" "$BUILD/berth-init" "$BIN/"
BERTHD="$BIN/berthd"
sums() { (cd "$BIN" && sha256sum berthd berth-shim berth-init); }
SUMS_BEFORE=$(sums)
# the berth CLI as a plain command (for timeout and loops over both CLIs);
# in sanitizer builds leak reports are berthd's business, not the CLI's
mkdir -p "$T/cli"
printf '#!/bin/sh\nASAN_OPTIONS=detect_leaks=0 exec "%s" "$@"\n' "$BERTH_BIN" >"$T/cli/berth"
chmod 755 "$T/cli/berth"
BERTH_CLI="$T/cli/berth"
# the data root on a shared mount, as under a systemd host's "/" (this
# machine's is private): every container of this suite starts there (the
# init's pivot_root refused a rootfs shared with berthd's until stop 32)
mount --bind "$T" "$T" && mount --make-shared "$T"
start_daemon || { fail "berthd starts"; finish; exit 1; }

# image: busybox, the exe grabber, a "#!/proc/self/exe" script
gcc -static -O2 -o "$T/grab" "$TOP/tests/integration/containment/exe-grabber.c" || fail "build the grabber"
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
mkdir -p "$T/attack"
cp "$T/grab" "$T/attack/grab"
printf '#!/proc/self/exe\n' >"$T/attack/x.sh"
chmod 755 "$T/attack/x.sh"
mkimage() { # mkimage NAME SHELL-CODE: busybox changed by SHELL-CODE (run in the rootfs), as NAME
  rm -rf "$T/img" && mkdir -p "$T/img" && tar -C "$T/img" -xf "$T/bb.tar" && (cd "$T/img" && eval "$2") &&
    tar --numeric-owner -C "$T/img" -cf "$T/img.tar" . && berth import -c 'CMD ["sh"]' "$T/img.tar" "$1" >/dev/null
}
mkimage attack 'cp -a "$T/attack/." .'

# ---- 1. the exec escape -------------------------------------------------
berth run -d --name victim attack /grab 30 >/dev/null
sleep 0.3
for i in 1 2 3 4 5; do
  timeout 20 "$BERTH_CLI" exec victim /x.sh >/dev/null 2>&1
  timeout 20 docker exec victim /x.sh >/dev/null 2>&1
  timeout 20 "$BERTH_CLI" exec victim true >/dev/null 2>&1
done
# berthd goes away (crash, upgrade): nothing runs its binary any more
stop_daemon KILL
sleep 3
expect "exec escape: berthd, berth-shim and berth-init on disk are unchanged" "$SUMS_BEFORE" "$(sums)"
# fresh copies, so that what follows does not depend on this outcome
cp "$BUILD/berthd" "$BUILD/berth-shim" "$BUILD/berth-init" "$BIN/"
# the grabber's report, from its log file (berthd may be what was broken)
log=$(cat "$T"/data/containers/*/*-json.log 2>/dev/null | sed 's/.*"log":"//; s/\\n".*//')
start_daemon || fail "berthd starts again"
expect_match "exec escape: the grabber ran" "watching" "$log"
if grep -q WROTE <<<"$log"; then fail "exec escape: nothing was written through a grabbed exe"; sed 's/^/#   /' <<<"$log" | head
else ok "exec escape: nothing was written through a grabbed exe"; fi
# what it could grab at all is the sealed copy, never a file on disk
grabbed=$(grep '^grabbed' <<<"$log" | grep -v 'memfd:berth-shim' || true)
expect "exec escape: the only exe a container can grab is the sealed memfd" "" "$grabbed"
shim_pid=$(pgrep -f "berth-shim --bundle $T/" | head -1)
expect_match "the shim runs from the sealed memfd" "memfd:berth-shim" "$(readlink /proc/$shim_pid/exe)"
berth rm -f victim >/dev/null

# ---- 2. image symlinks that point at host paths ---------------------------
mkdir -p "$T/hostetc" "$T/hostdir" "$T/volsrc"
echo data >"$T/volsrc/f"
mkimage etclink 'rm -rf etc && ln -s "$T/hostetc" etc && mkdir -p ".$T/hostetc" && cp "$T/bbroot/etc/passwd" "$T/bbroot/etc/group" ".$T/hostetc/"'
mkimage etcself 'rm -rf etc && ln -s /etc etc'
mkimage datalink 'ln -s "$T/hostdir" data'
for cli in "$BERTH_CLI" docker; do
  out=$(timeout 60 $cli run --rm etclink cat /etc/hostname /etc/hosts 2>&1)
  expect_match "${cli##*/}: /etc -> host dir: the etc files are the container's" "localhost" "$out"
  expect "${cli##*/}: /etc -> host dir: nothing written in the host dir" "" "$(ls -A "$T/hostetc")"
  out=$(timeout 60 $cli run --rm -u daemon etcself id 2>&1)
  if grep -q "uid=1" <<<"$out"; then fail "${cli##*/}: /etc -> /etc: -u daemon is not the host's daemon user"; else ok "${cli##*/}: /etc -> /etc: -u daemon is not the host's daemon user"; fi
  out=$(timeout 60 $cli run --rm -v "$T/volsrc:/data/sub" -w /data/wd datalink sh -c 'cat /data/sub/f; cd /data/wd && echo wd-ok' 2>&1)
  expect "${cli##*/}: -v and -w under an image symlink land inside the container" "data
wd-ok" "$out"
  expect "${cli##*/}: -v and -w under an image symlink: nothing made on the host" "" "$(ls -A "$T/hostdir")"
done

# ---- 3. container files that would stall or exhaust berthd ----------------
mkimage fifopasswd 'rm etc/passwd && mkfifo etc/passwd'
for cli in "$BERTH_CLI" docker; do
  out=$(timeout 30 $cli run --rm -u nobody fifopasswd id 2>&1); rc=$?
  expect_match "${cli##*/}: run with a FIFO /etc/passwd fails at once" "not a regular file" "$out rc=$rc"
done
berth run -d --name fifo busybox sleep 1000 >/dev/null
berth run -d --name zero busybox sleep 1000 >/dev/null
berth exec fifo sh -c 'rm /etc/passwd && mkfifo /etc/passwd'
berth exec zero sh -c 'ln -sf /dev/zero /etc/passwd'
rss_before=$(awk '/VmRSS/{print $2}' /proc/$DPID/status)
for cli in "$BERTH_CLI" docker; do
  for c in fifo zero; do
    out=$(timeout 30 $cli exec -u nobody $c id 2>&1); rc=$?
    expect_match "${cli##*/}: exec with /etc/passwd a $c fails at once" "not a regular file" "$out rc=$rc"
  done
done
rss_after=$(awk '/VmRSS/{print $2}' /proc/$DPID/status)
check "berthd's memory did not grow reading /dev/zero" test $((rss_after - rss_before)) -lt 20000
check "rm -f of both" berth rm -f fifo zero
check "berthd still answers" berth ps

# ---- 4. the daemon: one per data root; exec failures end the CLI -------------
sed "s#socket = \"$SOCK\"#socket = \"$T/second.sock\"#" "$T/daemon.conf" >"$T/second.conf"
out=$(timeout 20 "$BERTHD" --config-file "$T/second.conf" 2>&1); rc=$?
expect "a second berthd on the same data root refuses to start" 1 "$rc"
expect_match "a second berthd: clear message" "data root $T/data is in use by another berthd \(pid $DPID\)" "$out"
check "the first berthd is unaffected" berth ps
berth run -d --name ex busybox sleep 1000 >/dev/null
for cli in "$BERTH_CLI" docker; do
  out=$(timeout 30 $cli exec -u nosuchuser ex id 2>&1); rc=$?
  expect "${cli##*/}: exec -u nosuchuser exits 126 at once" 126 "$rc"
  expect_match "${cli##*/}: exec -u nosuchuser: docker's message" "unable to find user nosuchuser: no matching entries in passwd file" "$out"
done
berth stop -t 0 ex >/dev/null
for cli in "$BERTH_CLI" docker; do
  out=$(timeout 30 $cli exec ex true 2>&1); rc=$?
  expect_match "${cli##*/}: exec in a stopped container fails at once" "is not running" "$out rc=$rc"
done
berth rm -f ex >/dev/null

# ---- 5. races that lost output or containers ---------------------------------
# attach/start: every short container's output arrives, with both cores busy
hogs=""
for _ in 1 2; do (while :; do :; done) & hogs="$hogs $!"; done
lost=0
for i in $(seq 1 40); do
  out=$(timeout 30 "$BERTH_CLI" run --rm busybox sh -c "echo out-$i; echo err-$i >&2" 2>&1)
  [ "$out" = "out-$i
err-$i" ] || { lost=$((lost + 1)); echo "# berth run $i: [$out]"; }
  out=$(timeout 30 docker run --rm busybox echo docker-$i 2>&1)
  [ "$out" = "docker-$i" ] || { lost=$((lost + 1)); echo "# docker run $i: [$out]"; }
done
kill $hogs 2>/dev/null; wait $hogs 2>/dev/null
expect "attach/start: 80 short containers under load, no output lost" 0 "$lost"

# rm -f against restart-policy restarts: removed stays removed
for i in 1 2 3 4 5; do berth run -d --restart always --name rp$i busybox sh -c 'sleep 0.1; exit 1' >/dev/null; done
sleep 1.5
rc=0
for i in 1 2 3 4 5; do berth rm -f rp$i >/dev/null || rc=1; done
expect "rm -f of restarting containers succeeds" 0 "$rc"
expect "they are gone" "" "$(berth ps -aq --filter name=rp)"
stop_daemon KILL
start_daemon || fail "berthd restarts"
sleep 0.5
expect "they stay gone after a daemon restart" "" "$(berth ps -aq --filter name=rp)"

# kill -9 of berthd in the middle of starts: --rm containers are finished or removed
for i in $(seq 1 10); do (timeout 30 "$BERTH_CLI" run --rm -d busybox sleep 1000 >/dev/null 2>&1 &); done
sleep 0.25
stop_daemon KILL
sleep 0.5
start_daemon || fail "berthd restarts after the kill in the middle of starts"
expect "no --rm container is left Created" "" "$(berth ps -aq --filter status=created)"
ids=$(berth ps -aq)
[ -n "$ids" ] && berth rm -f $ids >/dev/null
expect "after rm -f, no container is left" "" "$(berth ps -aq)"
expect "no overlay mount is left" "" "$(grep -o " $T/data/storage[^ ]*" /proc/self/mounts)"
# a shim ends just after its container's record (a sanitizer build's leak
# check at exit takes a moment): wait up to 5 s for the last to go
for _ in $(seq 1 50); do pgrep -f "berth-shim --bundle $T/" >/dev/null || break; sleep 0.1; done
expect "no shim is left" "" "$(pgrep -af "berth-shim --bundle $T/")"

# ---- 6. the API: bad input gets docker's 400, never a 500 or silence --------
api() { # api METHOD PATH [BODY]: prints "STATUS BODY"
  curl -s --unix-socket "$SOCK" -o "$T/api.out" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "http://x$2"; echo " $(cat "$T/api.out")"
}
create() { api POST /containers/create "$1"; }
expect_match "create: string Cmd is docker's strslice" '^201 ' "$(create '{"Image":"busybox","Cmd":"echo hi"}')"
id=$(jq -r .Id "$T/api.out")
expect "create: string Cmd stored as one argument" '["echo hi"]' "$(berth inspect -f '{{json .Config.Cmd}}' "$id")"
berth rm "$id" >/dev/null
expect_match "create: Cmd [1,2]" '^400 .*cannot unmarshal number into Go struct field Config.Cmd of type string' "$(create '{"Image":"busybox","Cmd":[1,2]}')"
expect_match "create: Memory \"abc\"" '^400 .*cannot unmarshal string into Go struct field HostConfig.Memory of type int64' \
  "$(create '{"Image":"busybox","HostConfig":{"Memory":"abc"}}')"
for m in -5 1; do
  expect_match "create: Memory $m" '^400 .*Minimum memory limit allowed is 6MB' "$(create "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":$m}}")"
done
expect_match "create: PidsLimit \"x\"" '^400 .*HostConfig.PidsLimit of type int64' "$(create '{"Image":"busybox","HostConfig":{"PidsLimit":"x"}}')"
expect_match "create: RestartPolicy \"always\"" '^400 .*HostConfig.RestartPolicy of type struct' \
  "$(create '{"Image":"busybox","HostConfig":{"RestartPolicy":"always"}}')"
expect_match "create: relative WorkingDir" "^400 .*the working directory 'rel/dir' is invalid, it needs to be an absolute path" \
  "$(create '{"Image":"busybox","WorkingDir":"rel/dir"}')"
expect_match "create: 300-character hostname" '^400 .*invalid hostname' "$(create "{\"Image\":\"busybox\",\"Hostname\":\"$(printf 'h%.0s' $(seq 300))\"}")"
expect_match "create: a Mounts entry of an unknown type" '^400 .*mount type unknown' \
  "$(create '{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"npipe","Target":"/x"}]}}')"
expect_match "create: a Mounts bind with a relative source" '^400 .*mount path must be absolute' \
  "$(create '{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"bind","Source":"tmp","Target":"/x"}]}}')"
out=$(timeout 30 docker run --rm --mount type=bind,source="$T/nosuchdir",target=/x busybox true 2>&1)
expect_match "docker run --mount of a missing bind source: docker's refusal" "bind source path does not exist" "$out"
out=$(timeout 30 docker run --rm -m 1 busybox true 2>&1)
expect_match "docker run -m 1: docker's message" "Minimum memory limit allowed is 6MB" "$out"
out=$(timeout 30 "$BERTH_CLI" run --rm -w rel busybox true 2>&1)
expect_match "berth run -w rel: docker's message" "needs to be an absolute path" "$out"
expect "no container was left by the refused creates" "" "$(berth ps -aq)"
# NUL bytes are refused, never cut short
expect_match "create ?name=a%00b" '^400 .*Invalid container name' "$(api POST '/containers/create?name=ab%00cd' '{"Image":"busybox"}')"
expect_match "tag ?repo=x%00y" '^400 ' "$(api POST '/images/busybox/tag?repo=x%00y&tag=1')"
expect_match "inspect /containers/a%00b" '^404 ' "$(api GET '/containers/ab%00cd/json')"
expect "nothing was named by the NUL requests" "" "$(berth ps -aq; berth images -q --filter reference='x*')"
expect_match "a JSON body with \\u0000 in a name" '^400 ' "$(create '{"Image":"busy\u0000box"}')"
expect_match "/v99999999999999999999.1/_ping" '^400 .*client version 99999999999999999999.1 is too new' \
  "$(api GET /v99999999999999999999.1/_ping)"
# a create with 40,000 Env entries does not hold the image store
python3 -c "
import json
print(json.dumps({'Image': 'busybox', 'Env': ['V%d=%d' % (i, i) for i in range(40000)] + ['V7=seven']}))" >"$T/bigenv.json"
curl -s --unix-socket "$SOCK" -o "$T/bigenv.out" -H 'Content-Type: application/json' --data-binary @"$T/bigenv.json" \
  http://x/containers/create &
cpid=$!
sleep 0.2
check "images answer during a 40,000-entry Env create" timeout 5 curl -sf --unix-socket "$SOCK" http://x/images/json
wait $cpid
id=$(jq -r .Id "$T/bigenv.out")
api GET "/containers/$id/json" >/dev/null
expect "the big Env kept as sent, as dockerd keeps it (both V7s, none dropped)" "40001 7 seven" \
  "$(jq -r '"\(.Config.Env | length) \([.Config.Env[] | select(startswith("V7=")) | .[3:]] | join(" "))"' "$T/api.out" | head -c 200)"
berth rm "$id" >/dev/null
# 1,100 half-sent requests do not lock clients out
out=$(python3 "$TOP/tests/integration/containment/halfopen.py" "$SOCK" 1100 \
  timeout 5 curl -sf --unix-socket "$SOCK" http://x/_ping 2>&1)
expect_match "/_ping answers beside 1,100 half-sent connections" "OK$" "$out"
check "berthd answers after they close" timeout 5 curl -sf --unix-socket "$SOCK" http://x/_ping

# ---- 7. mount propagation on a shared data root --------------------------
# a privileged container's mounts (in its root, over its /etc files, under
# a bind) stay in its namespace: none reaches berthd's (the host's)
mkdir -p "$T/pb/sub"
berth run -d --privileged --name prop -v "$T/pb:/pb" busybox sleep 60 >/dev/null
expect "a privileged container on a shared data root mounts in its own namespace (two tmpfs, /etc/hosts and the bind over it)" "4" \
  "$(berth exec prop sh -c 'mkdir -p /mnt/x && mount -t tmpfs cleak /mnt/x && mount --bind /bin/busybox /etc/hosts && mount -t tmpfs cleak /pb/sub && grep -c "cleak\| /etc/hosts " /proc/self/mountinfo')"
expect "none of them reaches the host's namespace" "0" "$(grep -c 'cleak\|/hosts ' /proc/self/mountinfo)"
berth rm -f prop >/dev/null

# ---- 8. the host's cgroup trees --------------------------------------------
# a container's /sys/fs/cgroup shows its own cgroup in every hierarchy, not
# the host's tree: a marker cgroup made in each hierarchy's root (on this
# machine's hybrid layout name=systemd and the cgroup2 "unified" had no
# container cgroup, and a container listed every cgroup of the host there)
MARK="berth-leak-$$"
marks=()
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
  [ -L "${h%/}" ] && continue
  mkdir "$h$MARK" 2>/dev/null && marks+=("$h$MARK")
done
trap 'rmdir "${marks[@]}" 2>/dev/null; cleanup' EXIT
[ ${#marks[@]} -gt 0 ] || fail "a marker cgroup in the host's hierarchies"
id=$(berth run -d busybox sleep 60)
expect "no hierarchy in a container shows the host's cgroups (a marker in each of ${#marks[@]} roots)" "" \
  "$(berth exec "$id" find /sys/fs/cgroup -name "$MARK")"
expect "nor any cgroup but its own (no directory below a hierarchy's root)" "" \
  "$(berth exec "$id" find /sys/fs/cgroup -mindepth 2 -type d)"
n_own=$(ls -d /sys/fs/cgroup/*/berth/"$id" /sys/fs/cgroup/berth/"$id" 2>/dev/null | wc -l)
berth rm -f "$id" >/dev/null
expect "its cgroups (in $n_own hierarchies) are gone after rm" "" "$(ls -d /sys/fs/cgroup/*/berth/"$id" /sys/fs/cgroup/berth/"$id" 2>/dev/null)"
rmdir "${marks[@]}" 2>/dev/null

finish
