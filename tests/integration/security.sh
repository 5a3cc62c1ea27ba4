#!/usr/bin/env bash
# Confinement as docker's (issue 15), through both CLIs: the API socket's
# owner and mode and the CLI's refusal of an unsafe one; --security-opt
# label/apparmor where docker ignores them; AppArmor's status in info;
# --cap-add/--cap-drop names; namespaced --sysctl only; --device and
# --device-cgroup-rule (nodes, cgroup v1 rules).  Seccomp and
# no-new-privileges are seccomp.sh's; --userns-remap in brief (the full set: userns.sh).
. "$(dirname "$0")/lib.sh"

start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import "$T/bb.tar" busybox:latest >/dev/null
docker() { timeout -s KILL 60 "$(command -v docker)" "$@"; }

# ---- the API socket ----
expect "the socket: 0660 root:root (api.group unset)" "660 root root" "$(stat -c '%a %U %G' "$SOCK")"
check "the CLI uses it" berth version
chgrp daemon "$SOCK"
out=$(berth ps 2>&1)
expect_match "group-writable by an unexpected group (daemon): refused with a warning" "warning: refusing to use .*writable by an unexpected group" "$out"
check "... unless BERTH_SOCKET_GROUP names that group" env BERTH_SOCKET_GROUP=daemon "$BERTH_BIN" ps
chgrp root "$SOCK" && chmod 0666 "$SOCK"
expect_match "world-writable: refused" "writable by every user" "$(berth ps 2>&1)"
chmod 0660 "$SOCK" && chown nobody "$SOCK"
expect_match "owned by another user: refused" "owned by another user" "$(berth ps 2>&1)"
chown root "$SOCK"
check "0660 root:root again: used" berth ps
stop_daemon
sed -i "s|api: { socket = \"$SOCK\"; };|api: { socket = \"$SOCK\"; group = \"daemon\"; };|" "$T/daemon.conf"
start_daemon
expect "api.group = daemon: the socket is 0660 root:daemon" "660 root daemon" "$(stat -c '%a %U %G' "$SOCK")"
check "... and the CLI uses it when told that group is expected" env BERTH_SOCKET_GROUP=daemon "$BERTH_BIN" ps
stop_daemon
sed -i 's| group = "daemon";||' "$T/daemon.conf"
start_daemon

# ---- --security-opt as docker on a host without SELinux or AppArmor ----
for cli in berth docker; do
  for opt in label=disable label=user:USER label=level:s0:c100 apparmor=unconfined; do
    expect "$cli --security-opt $opt: accepted (docker ignores it without SELinux/AppArmor)" ok \
      "$($cli run --rm --security-opt "$opt" busybox echo ok 2>&1)"
  done
  expect_match "$cli --security-opt bogus=1: refused" "invalid --security-opt: bogus=1" "$($cli run --rm --security-opt bogus=1 busybox true 2>&1)"
done
expect_match "berth info: AppArmor's status said, not pretended" "apparmor: not on this kernel" "$(berth info 2>/dev/null)"
expect_match "berth info: the seccomp profile" "^  seccomp$" "$(berth info 2>/dev/null)"
expect "docker info: no apparmor among the security options" "" "$(docker info -f '{{json .SecurityOptions}}' | grep -o apparmor)"

# ---- capabilities by name ----
capeff() { "$@" busybox sh -c 'grep CapEff /proc/self/status' | awk '{print $2}'; }
for cli in berth docker; do
  def=$(capeff $cli run --rm)
  expect "$cli: docker's default set" 00000000a80425fb "$def"
  expect "$cli --cap-add NET_ADMIN and CAP_NET_ADMIN: the same set" "$(capeff $cli run --rm --cap-add NET_ADMIN)" "$(capeff $cli run --rm --cap-add CAP_NET_ADMIN)"
  expect "$cli --cap-add net_admin (lower case) adds bit 12" 00000000a80435fb "$(capeff $cli run --rm --cap-add net_admin)"
  expect "$cli --cap-drop ALL: none" 0000000000000000 "$(capeff $cli run --rm --cap-drop ALL)"
  expect "$cli --cap-drop ALL --cap-add CHOWN: only CHOWN" 0000000000000001 "$(capeff $cli run --rm --cap-drop ALL --cap-add CHOWN)"
  expect_match "$cli --cap-add ALL: every capability the kernel has" "^000001ff" "$(capeff $cli run --rm --cap-add ALL)"
  expect_match "$cli --cap-add NOPE: refused" "[Uu]nknown capability" "$($cli run --rm --cap-add NOPE busybox true 2>&1)"
done
# the inheritable set empty, as docker's since 20.10.14 (CVE-2022-24769):
# a program with inheritable file capabilities gains nothing from it
ci=$(berth run -d busybox sleep 60)
expect "CapInh empty: the container's root, --cap-add, an exec's root" "0000000000000000 0000000000000000 0000000000000000" \
  "$(berth run --rm busybox grep CapInh /proc/self/status | awk '{print $2}') $(berth run --rm --cap-add NET_ADMIN busybox grep CapInh /proc/self/status | awk '{print $2}') $(berth exec "$ci" grep CapInh /proc/self/status | awk '{print $2}')"
berth rm -f "$ci" >/dev/null
# /proc's read-only paths (runc's list) keep /proc's own flags when made
# read-only (a remount that did not restate them dropped them)
expect "/proc/sys, /proc/bus: ro with nosuid, nodev, noexec, as docker's" "ro,nosuid,nodev,noexec ro,nosuid,nodev,noexec" \
  "$(berth run --rm busybox sh -c "grep -E ' /proc/(sys|bus) ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1-4 | xargs")"
check_fails "--read-only: /etc/hosts, hostname and resolv.conf are read-only too, as docker's" \
  berth run --rm --read-only busybox sh -c 'echo x >>/etc/hosts || echo x >>/etc/resolv.conf || echo x >/etc/hostname'
expect "without it they are writable" "1.2.3.4 x" "$(berth run --rm busybox sh -c 'echo 1.2.3.4 x >>/etc/hosts && tail -1 /etc/hosts')"

# ---- --sysctl: namespaced ones only ----
for cli in berth docker; do
  expect "$cli --sysctl net.ipv4.ip_forward=1 (its own network namespace)" 1 "$($cli run --rm --sysctl net.ipv4.ip_forward=1 busybox cat /proc/sys/net/ipv4/ip_forward)"
  expect "$cli --sysctl kernel.msgmax=4096 (IPC namespace)" 4096 "$($cli run --rm --sysctl kernel.msgmax=4096 busybox cat /proc/sys/kernel/msgmax)"
  expect_match "$cli --sysctl vm.swappiness: not namespaced, refused" "not in a separate kernel namespace|is not allowed" "$($cli run --rm --sysctl vm.swappiness=10 busybox true 2>&1)"
  expect_match "$cli --sysctl net.* with --network host: refused" "not allowed in host network namespace" "$($cli run --rm --network host --sysctl net.ipv4.ip_forward=1 busybox true 2>&1)"
done

# ---- --device and --device-cgroup-rule ----
# /dev/fuse (10:229): opening it needs only the device cgroup's leave
for cli in berth docker; do
  expect "$cli: without --device, no /dev/fuse" "no" "$($cli run --rm busybox sh -c 'test -e /dev/fuse && echo yes || echo no')"
  expect "$cli: a node made by hand is refused by the device cgroup" "refused" "$($cli run --rm busybox sh -c 'mknod /dev/fuse c 10 229; (exec 3<>/dev/fuse) 2>/dev/null && echo opened || echo refused' 2>&1 | tail -1)"
  expect "$cli --device /dev/fuse: there, 10:229, opens" "c 10 229 opened" \
    "$($cli run --rm --device /dev/fuse busybox sh -c 'stat -c "%F %t %T" /dev/fuse | sed "s/character special file/c/; s/ a / 10 /; s/ e5$/ 229/"; exec 3<>/dev/fuse && echo opened' | paste -sd' ')"
  expect "$cli --device /dev/fuse:/dev/f2:r: renamed, read-only" "yes refused" \
    "$($cli run --rm --device /dev/fuse:/dev/f2:r busybox sh -c 'test -c /dev/f2 && echo yes; (exec 3<>/dev/f2) 2>/dev/null && echo opened || echo refused' 2>&1 | grep -E '^(yes|opened|refused)$' | paste -sd' ')"
  expect "$cli --device-cgroup-rule 'c 10:229 rwm': a node made by hand opens" "opened" \
    "$($cli run --rm --device-cgroup-rule 'c 10:229 rwm' busybox sh -c 'mknod /dev/fuse c 10 229; (exec 3<>/dev/fuse) 2>/dev/null && echo opened || echo refused' 2>&1 | tail -1)"
  expect_match "$cli --device /dev/nope: docker's error" "error gathering device information while adding custom device \"/dev/nope\": [Nn]o such file or directory" \
    "$($cli run --rm --device /dev/nope busybox true 2>&1)"
  expect_match "$cli --device-cgroup-rule 'x 1:2 r': refused" "invalid device cgroup format" "$($cli run --rm --device-cgroup-rule 'x 1:2 r' busybox true 2>&1)"
done
id=$(berth run -d --device /dev/fuse:/dev/fuse:rw busybox sleep 300)
if [ -f "/sys/fs/cgroup/devices/berth/$id/devices.list" ]; then
  expect_match "cgroup v1: the container's devices.list has the device's rule" "^c 10:229 rw$" "$(cat "/sys/fs/cgroup/devices/berth/$id/devices.list")"
  expect_match "... beside docker's defaults" "^c 1:3 rwm$" "$(cat "/sys/fs/cgroup/devices/berth/$id/devices.list")"
fi
berth rm -f "$id" >/dev/null
check "a directory given to --device: every node under it" sh -c "$BERTH_BIN run --rm --device /dev/net busybox test -c /dev/net/tun"

# ---- user namespaces (--userns-remap); the full set is userns.sh's ----
stop_daemon
echo 'userns-remap = "default";' >>"$T/daemon.conf"
start_daemon || fail "berthd starts with userns-remap"
base=$(awk -F: '$1 == "berthremap" { print $2; exit }' /etc/subuid)
for cli in berth docker; do
  expect_match "$cli: userns-remap: the container's root is host uid $base" "^ +0 +$base +[0-9]+$" "$($cli run --rm busybox head -1 /proc/self/uid_map 2>&1)"
done
mkdir -p "$T/rootdir" && chmod 0755 "$T/rootdir"
check_fails "userns-remap: a root-owned host directory is not the container root's to write" \
  berth run --rm -v "$T/rootdir:/h" busybox touch /h/escaped
check "--userns=host: it is again" berth run --rm --userns=host -v "$T/rootdir:/h" busybox touch /h/escaped
finish
