#!/usr/bin/env bash
# cgroup v2: berthd on a unified hierarchy.  On a v2 host that is
# /sys/fs/cgroup itself.  On a v1 or hybrid host (this kind of machine: the
# controllers are v1's, cgroup2 holds only hugetlb) the test mounts cgroup2
# over /sys/fs/cgroup in a mount namespace of its own: a hierarchy with only
# the core files (cgroup.procs, cgroup.freeze, cgroup.kill, cpu.stat), which
# is what a v2 host without delegated controllers gives too.  What berth
# does with it: the v2 ops chosen once (info's CgroupVersion 2), run, exec,
# pause through cgroup.freeze, stats the docker CLI can read, rm -f through
# cgroup.kill, the cgroup gone after; and for the limits the hierarchy
# cannot hold, dockerd's warnings (or, where a controller is there, its file).
if [ -z "${BERTH_NETNS_TEST:-}" ]; then
  exec env BERTH_NETNS_TEST=1 unshare --net --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up
OWN_MOUNT=
if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
  mount -t cgroup2 none /sys/fs/cgroup || { fail "a cgroup2 mount over /sys/fs/cgroup"; finish; exit 1; }
  OWN_MOUNT=1
fi
has() { grep -qw "$1" /sys/fs/cgroup/cgroup.controllers; }
start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null

expect "info: CgroupVersion 2" "2 cgroupfs" "$(docker info --format '{{.CgroupVersion}} {{.CgroupDriver}}')"
expect "a container's /proc/self/cgroup: the unified line, rooted at its own cgroup" "0::/" \
  "$(docker run --rm busybox grep '^0::' /proc/self/cgroup)"
expect_match "its /sys/fs/cgroup is its own cgroup's (cgroup.procs, cgroup.freeze there)" "cgroup.freeze.*cgroup.procs" \
  "$(docker run --rm busybox ls /sys/fs/cgroup | xargs)"
docker run -d --name c1 busybox sleep 300 >/dev/null
id=$(docker inspect -f '{{.Id}}' c1)
cg=/sys/fs/cgroup/berth/$id
check "its cgroup is berth/<id> of the unified hierarchy" test -f "$cg/cgroup.procs"
expect "the container's process is in it" "$(docker inspect -f '{{.State.Pid}}' c1)" "$(cat "$cg/cgroup.procs")"
expect "an exec runs in it too" "0::/" "$(docker exec c1 grep '^0::' /proc/self/cgroup)"
docker pause c1 >/dev/null
expect "pause: cgroup.freeze 1, state paused" "1 paused" "$(cat "$cg/cgroup.freeze") $(docker inspect -f '{{.State.Status}}' c1)"
docker unpause c1 >/dev/null
expect "unpause: cgroup.freeze 0, running" "0 running" "$(cat "$cg/cgroup.freeze") $(docker inspect -f '{{.State.Status}}' c1)"
out=$(docker stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' c1 2>&1)
expect_match "docker stats reads its figures (none negative where a controller is missing)" "^c1 [0-9.]+[KMG]?i?B / [0-9.]+[KMG]?i?B [0-9]+$" "$out"
out=$(docker top c1 2>&1)
expect_match "top lists its process" "sleep 300" "$out"

# limits: the controller's file where the hierarchy has it, dockerd's warning where not
out=$(docker run --rm -m 64m busybox cat /sys/fs/cgroup/memory.max 2>&1)
if has memory; then
  expect "-m 64m: memory.max" 67108864 "$out"
else
  expect_match "-m 64m without a memory controller: dockerd's warning, and it runs" \
    "WARNING: Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded." "$out"
fi
out=$(docker run --rm --pids-limit 10 busybox cat /sys/fs/cgroup/pids.max 2>&1)
if has pids; then
  expect "--pids-limit 10: pids.max" 10 "$out"
else
  expect_match "--pids-limit without a pids controller: dockerd's warning" "PIDs limit discarded" "$out"
fi
out=$(docker run --rm --cpus 0.5 busybox cat /sys/fs/cgroup/cpu.max 2>&1)
if has cpu; then
  expect "--cpus 0.5: cpu.max" "50000 100000" "$out"
else
  expect_match "--cpus without a cpu controller: dockerd's error" "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler" "$out"
  expect_match "update --cpu-shares: dockerd's warning, the update done" "Shares discarded" "$(docker update --cpu-shares 512 c1 2>&1)"
fi

# rm -f: every process of the container (cgroup.kill), then the cgroup
docker run -d --name c2 busybox sh -c 'sleep 301 & sleep 302 & wait' >/dev/null
id2=$(docker inspect -f '{{.Id}}' c2)
sleep 0.3
expect "three processes in its cgroup" 3 "$(wc -l <"/sys/fs/cgroup/berth/$id2/cgroup.procs")"
docker rm -f c2 >/dev/null
check "rm -f: its cgroup is gone" test ! -e "/sys/fs/cgroup/berth/$id2"
expect "and none of its processes is left" 0 "$(pgrep -fc 'sleep 30[12]')"
docker stop -t 1 c1 >/dev/null
check "stop: its cgroup is gone" test ! -e "$cg"
docker rm c1 >/dev/null
# the parent berth made in the host's unified hierarchy (on a v2 host it is
# the host berthd's too: left alone there)
[ -n "$OWN_MOUNT" ] && rmdir /sys/fs/cgroup/berth 2>/dev/null
finish
