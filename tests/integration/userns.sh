#!/usr/bin/env bash
# --userns-remap (issue 15): daemon.conf userns-remap = "default" makes the
# user berthremap with a range in /etc/subuid and /etc/subgid, and every
# container's root is that range's first id on the host.  The rootfs is an
# overlay of id-mapped layers: what is stored stays as the image has it.
# Through both CLIs.
. "$(dirname "$0")/lib.sh"

write_conf
echo 'userns-remap = "default";' >>"$T/daemon.conf"
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

for cli in berth docker; do
  out=$($cli run --rm busybox cat /proc/self/uid_map /proc/self/gid_map 2>&1)
  expect_match "$cli run: the container's uid 0 is host uid $base" "^ +0 +$base +${range#*:}$" "$(echo "$out" | head -1)"
  expect_match "$cli run: its gid 0 is host gid $gbase" "^ +0 +$gbase +${grange#*:}$" "$(echo "$out" | sed -n 2p)"
  expect "$cli run: id says root inside" "uid=0(root) gid=0(root)" "$($cli run --rm busybox id 2>&1 | cut -d' ' -f1-2)"
done
