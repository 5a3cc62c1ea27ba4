#!/usr/bin/env bash
# Volume drivers (issue 12): a third party's driver, contrib/volume-example
# built out of tree from the headers alone, loaded from daemon.conf and used
# through docker's -d/--volume-driver/--mount volume-driver=, with its Status
# in inspect, its mount/unmount calls around a container's run, its options
# and refusals, a kill -9 of berthd; and the loader's refusal of a volume
# driver built for ABI 1.0.
. "$(dirname "$0")/lib.sh"

cc -I"$TOP/include" -Wall -Wextra -Werror -shared -fPIC -o "$T/dirvol.so" "$TOP/contrib/volume-example/dirvol.c" ||
  { fail "contrib/volume-example/dirvol.c builds"; finish; exit 1; }
# the same driver built as if for ABI 1.0: the kind did not exist then
mkdir -p "$T/inc10" && cp -r "$TOP/include/berth" "$T/inc10/"
sed -i 's/#define BERTH_ABI_MINOR [0-9]*u/#define BERTH_ABI_MINOR 0u/' "$T/inc10/berth/plugin.h"
sed 's/\.name = "dirvol"/.name = "oldvol"/' "$TOP/contrib/volume-example/dirvol.c" >"$T/oldvol.c"
sed -i 's/BERTH_PLUGIN(dirvol,/BERTH_PLUGIN(oldvol,/' "$T/oldvol.c"
cc -I"$T/inc10" -shared -fPIC -o "$T/oldvol.so" "$T/oldvol.c" || fail "the 1.0 build of it builds"
write_conf
cat >>"$T/daemon.conf" <<CONF
volume: { drivers = [ "$T/dirvol.so", "$T/oldvol.so", "nosuchvol" ]; };
CONF
start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null

expect "docker info: the volume drivers loaded" "[local dirvol]" "$(docker info --format '{{.Plugins.Volume}}')"
out=$(berth plugin ls 2>&1)
expect_match "plugin ls: dirvol, a volume driver built with the tree's headers (ABI 1.3)" "volume +dirvol +.*1\.3" "$out"
expect_match "plugin ls: the 1.0 build refused, saying why" "volume drivers exist since ABI 1.1: rebuild it" "$out"
expect_match "plugin ls: a missing one listed as failed" "nosuchvol" "$out"

# ---- create, inspect, options ----
docker volume create -d dirvol -o mode=0700 v1 >/dev/null
expect "inspect: its driver, the driver's mountpoint, scope" "dirvol $T/data/volume/dirvol/v1 local" "$(docker volume inspect -f '{{.Driver}} {{.Mountpoint}} {{.Scope}}' v1)"
expect "inspect: the driver's Status" '{"mode":"0700","mounts":0}' "$(docker volume inspect -f '{{json .Status}}' v1)"
expect "the option reached the driver" "700" "$(stat -c %a "$T/data/volume/dirvol/v1")"
expect_match "an option it does not know: docker's words" 'create v9: invalid option: "bogus"' "$(docker volume create -d dirvol -o bogus=1 v9 2>&1)"
expect "a driver that is not loaded: docker's 404, its words" 'Error response from daemon: create v9: error looking up volume plugin nosuchvol: plugin "nosuchvol" not found' "$(docker volume create -d nosuchvol v9 2>&1)"
expect_match "no name given: the words name a random one, as dockerd's" '^Error response from daemon: create [0-9a-f]{64}: error looking up volume plugin nosuchvol: plugin "nosuchvol" not found$' "$(docker volume create -d nosuchvol 2>&1)"
expect_match "the name again with another driver: refused" "volume name must be unique" "$(docker volume create v1 2>&1)"
expect "the name again with its driver: as it is (docker's create is idempotent)" "v1" "$(docker volume create -d dirvol v1)"
expect "volume ls --filter driver=dirvol" "v1" "$(docker volume ls -q --filter driver=dirvol)"
expect "berth volume ls shows the driver" "dirvol v1" "$(berth volume ls --format '{{.Driver}} {{.Name}}' --filter driver=dirvol)"

# ---- mount and unmount around a container's run ----
docker run -d --name u1 -v v1:/data busybox sh -c 'echo kept >/data/f; sleep 300' >/dev/null
for _ in $(seq 1 50); do [ -f "$T/data/volume/dirvol/v1/f" ] && break; sleep 0.1; done
expect "running: the driver counts one mount" '{"mode":"0700","mounts":1}' "$(docker volume inspect -f '{{json .Status}}' v1)"
expect "the container's writes land in the driver's directory" "kept" "$(cat "$T/data/volume/dirvol/v1/f")"
expect "inspect's MountPoint names the driver" "dirvol" "$(docker inspect -f '{{range .Mounts}}{{.Driver}}{{end}}' u1)"
expect_match "in use: volume rm refused" "volume is in use" "$(docker volume rm v1 2>&1)"
stop_daemon KILL
start_daemon || fail "berthd restarts after kill -9"
expect "after kill -9: the volume, its driver, the driver's count" 'dirvol {"mode":"0700","mounts":1}' "$(docker volume inspect -f '{{.Driver}} {{json .Status}}' v1)"
docker stop -t 0 u1 >/dev/null
expect "stopped: the driver heard the unmount" '{"mode":"0700","mounts":0}' "$(docker volume inspect -f '{{json .Status}}' v1)"
expect "the data outlives the container" "kept" "$(docker run --rm -v v1:/data busybox cat /data/f)"
docker rm u1 >/dev/null
docker volume rm v1 >/dev/null
expect "volume rm: the driver removed its directory" "gone" "$([ -e "$T/data/volume/dirvol/v1" ] && echo there || echo gone)"

# ---- picking the driver at run ----
expect "--mount volume-driver= and volume-opt=: a new volume of that driver" "711 dirvol" "$(docker run --rm --mount type=volume,src=v2,dst=/d,volume-driver=dirvol,volume-opt=mode=0711 busybox stat -c %a /d) $(docker volume inspect -f '{{.Driver}}' v2)"
expect "berth run --mount too" "750 dirvol" "$(berth run --rm --mount type=volume,source=v3,target=/d,volume-driver=dirvol,volume-opt=mode=0750 busybox stat -c %a /d) $(berth volume inspect -f '{{.Driver}}' v3)"
docker run --rm --volume-driver dirvol -v v4:/d busybox true
expect "--volume-driver: -v name:/x made with it" "dirvol" "$(docker volume inspect -f '{{.Driver}}' v4)"
docker run --name anon1 --volume-driver dirvol -v /anon busybox true
expect "--volume-driver: the anonymous volume too" "dirvol" "$(docker inspect -f '{{range .Mounts}}{{.Driver}}{{end}}' anon1)"
docker rm -v anon1 >/dev/null
expect "rm -v: the anonymous one removed through its driver" "v2 v3 v4" "$(docker volume ls -q --filter driver=dirvol | sort | xargs)"
expect_match "berth run --mount with an unknown key: the CLI's refusal" "unexpected key 'bogus' in 'bogus=1'" "$(berth run --rm --mount type=volume,dst=/d,bogus=1 busybox true 2>&1)"
expect "berth run --mount type=tmpfs,tmpfs-size=1m" "1024" "$(berth run --rm --mount type=tmpfs,dst=/t,tmpfs-size=1m busybox df -k /t | awk 'NR==2{print $2}')"
expect "docker volume prune -a: through the driver" "0" "$(docker volume prune -af >/dev/null; docker volume ls -q --filter driver=dirvol | wc -l)"
finish
