#!/usr/bin/env bash
# --userns-remap (issue 15): daemon.conf userns-remap = "default" makes the
# user berthremap with a range in /etc/subuid and /etc/subgid, and every
# container's root is that range's first id on the host.  The rootfs is an
# overlay of id-mapped layers (storage ABI 1.3 mount_idmapped) and named
# volumes are id-mapped binds: what is stored stays as the image has it.
# Runs in a network and mount namespace of its own, with the bridge driver.
if [ -z "${BERTH_NETNS_TEST:-}" ]; then
  exec env BERTH_NETNS_TEST=1 unshare --net --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up

write_conf
echo 'userns-remap = "default";' >>"$T/daemon.conf"
printf 'network: { drivers = [ "none", "host", "bridge" ]; default = "bridge"; };\n' >>"$T/daemon.conf"
start_daemon || { fail "berthd starts with userns-remap = \"default\""; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import "$T/bb.tar" busybox:latest >/dev/null
docker() { timeout -s KILL 60 "$(command -v docker)" "$@"; }

range=$(awk -F: '$1 == "berthremap" { print $2 ":" $3; exit }' /etc/subuid)
grange=$(awk -F: '$1 == "berthremap" { print $2 ":" $3; exit }' /etc/subgid)
base=${range%%:*}
gbase=${grange%%:*}
expect_match "the user berthremap exists" "^berthremap:" "$(getent passwd berthremap)"
expect_match "it has a range in /etc/subuid and /etc/subgid" "^[0-9]+:[0-9]+ [0-9]+:[0-9]+$" "$range $grange"
expect_match "info: Security Options lists userns" "^ +userns$" "$(berth info 2>&1)"
expect_match "docker info: the same" "userns" "$(docker info -f '{{.SecurityOptions}}' 2>&1)"

# ---- the mapping, seen from inside and from the host ----
for cli in berth docker; do
  out=$($cli run --rm busybox cat /proc/self/uid_map /proc/self/gid_map 2>&1)
  expect_match "$cli run: the container's uid 0 is host uid $base" "^ +0 +$base +${range#*:}$" "$(echo "$out" | head -1)"
  expect_match "$cli run: its gid 0 is host gid $gbase" "^ +0 +$gbase +${grange#*:}$" "$(echo "$out" | sed -n 2p)"
  expect "$cli run: id says root inside" "uid=0(root) gid=0(root)" "$($cli run --rm busybox id 2>&1 | cut -d' ' -f1-2)"
  expect "$cli run: the image's files are root's inside" "0 0" "$($cli run --rm busybox stat -c '%u %g' /bin/busybox 2>&1)"
done
berth run -d --name c1 busybox sleep 300 >/dev/null
pid=$(berth inspect -f '{{.State.Pid}}' c1)
expect "on the host its init runs as uid $base" "$base $base $base $base" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/$pid/status)"
expect "and gid $gbase" "$gbase $gbase $gbase $gbase" "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' /proc/$pid/status)"
expect "exec: root inside" "0" "$(berth exec c1 id -u 2>&1)"
berth exec -d c1 sleep 123 >/dev/null
sleep 0.3
epid=$(pgrep -f "^sleep 123$" | head -1)
expect "exec: uid $base on the host" "$base" "$(awk '/^Uid:/ { print $2 }' /proc/${epid:-0}/status 2>&1)"
expect "docker exec: root inside" "0" "$(docker exec c1 id -u 2>&1)"

# ---- what it writes is stored as the container's ids ----
berth exec c1 sh -c 'echo hi >/made-by-root; mkdir /d; touch /d/f; chown 5:6 /d/f' >/dev/null 2>&1
upper=$(berth inspect -f '{{.GraphDriver.Data.UpperDir}}' c1)
expect_match "inspect: the upper layer's directory" "^/" "$upper"
expect "a file root made inside is stored as 0:0" "0 0" "$(stat -c '%u %g' "$upper/made-by-root" 2>&1)"
expect "a file chowned to 5:6 inside is stored as 5:6" "5 6" "$(stat -c '%u %g' "$upper/d/f" 2>&1)"
expect "inside it is 5:6" "5 6" "$(berth exec c1 stat -c '%u %g' /d/f 2>&1)"
expect "/etc/hosts is root's inside (editable as with docker)" "0 0" "$(berth exec c1 stat -c '%u %g' /etc/hosts 2>&1)"

# ---- the defence: a root that reaches host files is not root there ----
mkdir -p "$T/hostdir" && chmod 0755 "$T/hostdir" && echo secret >"$T/hostdir/secret" && chmod 0600 "$T/hostdir/secret"
check_fails "a host directory of root's (0755), bound: the container's root cannot write it" \
  berth run --rm -v "$T/hostdir:/h" busybox touch /h/x
check_fails "nor read root's 0600 file there" berth run --rm -v "$T/hostdir:/h" busybox cat /h/secret
expect "it shows as nobody's (unmapped)" "65534" "$(berth run --rm -v "$T/hostdir:/h" busybox stat -c %u /h/secret 2>&1)"
check "--userns=host: the container's root is root again (writes the directory)" \
  berth run --rm --userns=host -v "$T/hostdir:/h" busybox touch /h/x
expect_match "--userns=host: no mapping" "^ +0 +0 +4294967295$" "$(docker run --rm --userns=host busybox cat /proc/self/uid_map 2>&1)"

# ---- docker's refusals ----
expect_match "--privileged: refused as docker does" "privileged mode is incompatible with user namespaces" "$(berth run --rm --privileged busybox true 2>&1)"
check "--privileged --userns=host: runs" berth run --rm --privileged --userns=host busybox true
expect_match "--network host: refused as docker does" "cannot share the host's network namespace when user namespaces are enabled" "$(docker run --rm --network host busybox true 2>&1)"
expect_match "--pid host: refused as docker does" "cannot share the host PID namespace when user namespaces are enabled" "$(docker run --rm --pid host busybox true 2>&1)"
docker run -d --name upt busybox sleep 300 >/dev/null
expect_match "--pid container: with user namespaces: refused, named" "--pid container:<id> with user namespaces is not supported by berth yet" "$(docker run --rm --pid container:upt busybox true 2>&1)"
docker rm -f upt >/dev/null
docker run -d --name uis --ipc shareable busybox sleep 300 >/dev/null
expect "--ipc shareable: its /dev/shm belongs to the container's root (docker chowns it)" "0 0 ok" \
  "$(docker exec uis sh -c 'stat -c "%u %g" /dev/shm; touch /dev/shm/f && echo ok' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
expect_match "--ipc container: with user namespaces: refused, named" "--ipc container:<id> with user namespaces is not supported by berth yet" "$(docker run --rm --ipc container:uis busybox true 2>&1)"
docker rm -f uis >/dev/null

# ---- named volumes: id-mapped, stored as the container's ids ----
berth run --rm -v uvol:/data busybox sh -c 'touch /data/f && chown 7:8 /data/f' >/dev/null 2>&1
vp=$(berth volume inspect -f '{{.Mountpoint}}' uvol)
expect "a named volume: root's file stored as 0" "0 0" "$(stat -c '%u %g' "$vp" 2>&1)"
expect "and the file chowned 7:8 inside as 7:8" "7 8" "$(stat -c '%u %g' "$vp/f" 2>&1)"
expect "the volume is root's inside" "0 0 7 8" "$(berth run --rm -v uvol:/data busybox stat -c '%u %g' /data /data/f 2>&1 | tr '\n' ' ' | sed 's/ $//')"
expect "a fresh volume gets the image's files with their owners (copy-up)" "0 0" "$(berth run --rm -v uvol2:/bin busybox stat -c '%u %g' /bin/busybox 2>&1)"
vp2=$(berth volume inspect -f '{{.Mountpoint}}' uvol2)
expect "... stored as 0:0" "0 0" "$(stat -c '%u %g' "$vp2/busybox" 2>&1)"

# ---- the network: the bridge's namespace is berthd's, docker's sysctls ----
out=$(berth run --rm busybox sh -c 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start; nc -l -p 80 -w 1 & sleep 0.3; netstat -ltn | grep -c ":80 "' 2>&1)
expect "bridge: ports below 1024 are open to the container's root (ip_unprivileged_port_start=0)" "0
1" "$out"
expect_match "bridge: ping_group_range covers every gid of the container (read inside: its own ids)" "^0[[:space:]]+$((${grange#*:} - 1))$" "$(berth run --rm busybox cat /proc/sys/net/ipv4/ping_group_range 2>&1)"
expect "--network none: its own namespace, whose root it is" "0" "$(berth run --rm --network none busybox cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>&1)"
expect "a tty works" "0" "$(berth run --rm -t busybox id -u 2>&1 | tr -d '\r')"

# ---- devices, --init, --read-only, another container's network, build ----
expect "--device /dev/fuse: the host's node bound (mknod is refused in a user namespace)" "c 10 229" \
  "$(berth run --rm --device /dev/fuse busybox sh -c 'stat -c "%F %t %T" /dev/fuse | sed "s/character special file/c/; s/ a / 10 /; s/ e5$/ 229/"' 2>&1)"
check_fails "... whose host mode (0600 root's) keeps the container's root out, as with docker" \
  berth run --rm --device /dev/fuse busybox sh -c 'exec 3</dev/fuse'
mknod "$T/fusenode" c 10 229 && chmod 0666 "$T/fusenode"
check "a node the host opens to all, bound: it opens (the device cgroup allows it)" \
  berth run --rm --device "$T/fusenode:/dev/fuse" busybox sh -c 'exec 3</dev/fuse'
expect_match "--init: /sbin/docker-init is PID 1, where docker mounts its init" '^ +1 /sbin/docker-init -- sh -c' "$(berth run --rm --init busybox sh -c 'ps -o pid,args | sed -n 2p' 2>&1)"
check_fails "--read-only: the rootfs refuses writes" berth run --rm --read-only busybox touch /x
check_fails "--read-only: /etc/hosts too, as docker's" berth run --rm --read-only busybox sh -c 'echo x >>/etc/hosts'
expect "/proc/sys read-only keeps /proc's nosuid, nodev, noexec" "ro,nosuid,nodev,noexec" "$(berth run --rm busybox grep ' /proc/sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1-4)"
berth run -d --name netpeer --network none busybox sleep 300 >/dev/null
expect "--network container:<a remapped one>: its namespace joined" \
  "$(berth exec netpeer readlink /proc/self/ns/net 2>&1)" "$(berth run --rm --network container:netpeer busybox readlink /proc/self/ns/net 2>&1)"
berth rm -f netpeer >/dev/null
mkdir -p "$T/ctx" && printf 'FROM busybox\nRUN echo built >/built && chown 3:4 /built\n' >"$T/ctx/Dockerfile"
check "build: RUN steps run remapped" berth build -q -t ubuilt "$T/ctx"
expect "build: the image has what RUN made, with the container's ids" "3 4 built" \
  "$(berth run --rm --userns=host ubuilt sh -c 'stat -c "%u %g" /built; cat /built' 2>&1 | tr '\n' ' ' | sed 's/ $//')"

# ---- cp, commit ----
echo from-host >"$T/cpfile"
check "cp into the running container" berth cp "$T/cpfile" c1:/cpfile
expect "the copied file is root's inside" "0 0 from-host" "$(berth exec c1 sh -c 'stat -c "%u %g" /cpfile; cat /cpfile' 2>&1 | tr '\n' ' ' | sed 's/ $//')"
expect "and stored as 0:0" "0 0" "$(stat -c '%u %g' "$upper/cpfile" 2>&1)"
expect "cp out of it: the tar's owner is the container's (5:6)" "5 6" "$(berth cp c1:/d/f - 2>/dev/null | tar --numeric-owner -tvf - 2>/dev/null | awk '{ print $2 }' | tr '/' ' ')"
berth commit c1 committed:1 >/dev/null 2>&1
expect "commit: the image has the files as the container saw them" "0 0 5 6" "$(berth run --rm --userns=host committed:1 stat -c '%u %g' /made-by-root /d/f 2>&1 | tr '\n' ' ' | sed 's/ $//')"

expect "export of the running container: the tar has the container's ids" "d/f=5/6 made-by-root=0/0" "$(berth export c1 | tar --numeric-owner -tvf - 2>/dev/null | awk '$6 == "made-by-root" || $6 == "d/f" { print $6 "=" $2 }' | sort | tr '\n' ' ' | sed 's/ $//')"

# ---- a restart keeps it all ----
stop_daemon
start_daemon
expect "after a restart: still running" "true" "$(berth inspect -f '{{.State.Running}}' c1 2>&1)"
expect "and exec still joins its user namespace" "0" "$(berth exec c1 id -u 2>&1)"
berth rm -f c1 >/dev/null
expect "rm -f: its rootfs is unmounted" "" "$(grep -c "$upper" /proc/self/mountinfo | grep -v '^0$')"


# ---- the vfs driver: an id-mapped bind of the layer's directory ----
stop_daemon
sed -i 's|^data-root = .*|data-root = "'"$T"'/vfsdata";|' "$T/daemon.conf"
echo 'storage: { driver = "vfs"; };' >>"$T/daemon.conf"
start_daemon || fail "berthd starts with vfs and userns-remap"
berth import "$T/bb.tar" busybox:latest >/dev/null
berth run -d --name v1 busybox sh -c 'touch /new; exec sleep 300' >/dev/null
expect "vfs: the image's files are root's inside" "0 0" "$(berth exec v1 stat -c '%u %g' /bin/busybox 2>&1)"
expect "vfs: what root made is root's inside" "0 0" "$(berth exec v1 stat -c '%u %g' /new 2>&1)"
berth stop -t 0 v1 >/dev/null
vdir=$(for d in "$T"/vfsdata/storage/vfs/dir/*/; do [ -e "$d/new" ] && echo "$d"; done)
expect "vfs: stopped (unmounted), it is stored as 0:0" "0 0" "$(stat -c '%u %g' "${vdir:-/nonexistent/}new" 2>&1)"
berth rm -f v1 >/dev/null
expect "vfs: rm -f undoes the id-mapped mount" "0" "$(grep -c "$T/vfsdata/storage/vfs/dir/" /proc/self/mountinfo)"

finish
