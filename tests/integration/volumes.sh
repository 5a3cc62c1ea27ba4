#!/usr/bin/env bash
# Volumes (issue 12, first part): named and anonymous volumes of the local
# driver, -v binds, --volumes-from, the copy of an image's content into a
# fresh volume, rm -v, volume create|ls|inspect|rm|prune, kill -9, through
# the berth and docker CLIs and docker-py.
. "$(dirname "$0")/lib.sh"

start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
vols() { docker volume ls -q | sort | xargs; }
# the same, an anonymous volume shown as "anon"
vols_anon() { docker volume ls -q | sed 's/^[0-9a-f]\{64\}$/anon/' | sort | xargs; }

# ---- a named volume ----
docker run --rm -v data:/data busybox sh -c 'echo kept >/data/f'
expect "-v data:/data: the data outlives the container" kept "$(docker run --rm -v data:/data busybox cat /data/f)"
expect "volume ls: docker's columns" "DRIVER    VOLUME NAME
local     data" "$(docker volume ls)"
expect "berth volume ls too" "local data" "$(berth volume ls --format '{{.Driver}} {{.Name}}')"
expect "its mountpoint under the data root" "$T/data/volumes/data/_data" "$(docker volume inspect -f '{{.Mountpoint}}' data)"
expect "the file is on the host there" kept "$(cat "$T/data/volumes/data/_data/f")"
expect_match ":ro refuses writes" "Read-only file system" "$(docker run --rm -v data:/data:ro busybox sh -c 'echo x >/data/g' 2>&1)"
docker create --name m1 -v data:/data busybox true >/dev/null
m1=$(docker inspect -f '{{.Id}}' m1)
expect "inspect shows the mount as docker does" "[{\"Type\":\"volume\",\"Name\":\"data\",\"Source\":\"$T/data/volumes/data/_data\",\"Destination\":\"/data\",\"Driver\":\"local\",\"Mode\":\"\",\"RW\":true,\"Propagation\":\"\"}]" "$(docker inspect -f '{{json .Mounts}}' m1)"
expect_match "volume rm of a volume a container uses: docker's 409 (Go's list: [id])" "remove data: volume is in use - \[$m1\]$" "$(docker volume rm data 2>&1)"
expect_match "even with -f" "volume is in use" "$(docker volume rm -f data 2>&1)"
docker rm m1 >/dev/null

# ---- anonymous volumes ----
id=$(docker create -v /anon busybox true)
va=$(docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$id")
expect_match "-v /anon: an anonymous volume" "^[0-9a-f]{64}$" "$va"
docker rm "$id" >/dev/null
expect "rm without -v keeps it, dangling" "$va" "$(docker volume ls -q --filter dangling=true | grep "$va")"
id=$(docker create -v /anon2 busybox true)
vb=$(docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "$id")
docker rm -v "$id" >/dev/null
expect "rm -v removes it" "" "$(docker volume ls -q | grep "$vb")"
before=$(vols)
docker run --rm -v /anon3 busybox sh -c 'echo x >/anon3/x'
expect "run --rm removes its anonymous volume" "$before" "$(vols)"
expect "and keeps the named ones it used" "data" "$(docker run --rm -v data:/d -v /anon4 busybox true; docker volume ls -q --filter name=data)"

# ---- --volumes-from, binds ----
docker create --name datac -v /shared busybox true >/dev/null
docker run --rm --volumes-from datac busybox sh -c 'echo s >/shared/x'
expect "--volumes-from a stopped data container sees its volume" s "$(docker run --rm --volumes-from datac busybox cat /shared/x)"
expect_match "--volumes-from datac:ro is read-only" "Read-only file system" "$(docker run --rm --volumes-from datac:ro busybox sh -c 'echo y >/shared/y' 2>&1)"
# a 400, as dockerd's: a 404 from create sends the docker CLI off to pull the image
expect "--volumes-from a container that is not there: dockerd's 400, no pull" "docker: Error response from daemon: No such container: nosuchc" \
  "$(docker run --rm --volumes-from nosuchc busybox true 2>&1 | head -1)"
expect "berth run --volumes-from" s "$(berth run --rm --volumes-from datac busybox cat /shared/x)"
expect_match "--volumes-from a container that is not there" "No such container: nosuch" "$(berth run --rm --volumes-from nosuch busybox true 2>&1)"
mkdir -p "$T/host" && echo fromhost >"$T/host/h"
expect "a bind mount shows the host's file" fromhost "$(berth run --rm -v "$T/host:/h" busybox cat /h/h)"
berth run --rm -v "$T/host:/h" busybox sh -c 'echo fromctr >/h/c'
expect "and the container's write lands on the host" fromctr "$(cat "$T/host/c")"
docker run --rm -v "$T/newdir:/n" busybox true
check "-v of a host path that is missing makes it (as docker's -v does)" test -d "$T/newdir"

# ---- --mount (HostConfig.Mounts) ----
docker run --rm --mount type=volume,source=mvol,target=/m busybox sh -c 'echo m >/m/f'
expect "--mount type=volume: a named volume, made at first use" m "$(docker run --rm --mount source=mvol,target=/m busybox cat /m/f)"
expect "--mount type=bind,readonly: the host's file" fromhost "$(docker run --rm --mount type=bind,source="$T/host",target=/h,readonly busybox cat /h/h)"
expect_match "and no writes" "Read-only file system" "$(docker run --rm --mount type=bind,source="$T/host",target=/h,readonly busybox sh -c 'echo x >/h/x' 2>&1)"
expect_match "--mount type=bind of a missing source: refused (not made, unlike -v)" "bind source path does not exist: $T/missing" "$(docker run --rm --mount type=bind,source="$T/missing",target=/x busybox true 2>&1)"
check "and nothing was made" test ! -e "$T/missing"
expect_match "--mount type=tmpfs,tmpfs-size=1m: a tmpfs of 1 MiB" "tmpfs /t tmpfs .*size=1024k" "$(docker run --rm --mount type=tmpfs,target=/t,tmpfs-size=1m busybox grep ' /t ' /proc/mounts)"
expect_match "--mount type=volume without a source: an anonymous volume" "^[0-9a-f]{64}$" "$(docker create --name mano --mount type=volume,target=/a busybox true >/dev/null; docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' mano; docker rm -v mano >/dev/null)"
docker volume rm mvol >/dev/null

# ---- an image with VOLUME and content there: copied into the new volume ----
root="$T/volimg"
mkdir -p "$root/var/x/sub"
echo hello >"$root/var/x/file" && chown 1000:1000 "$root/var/x/file" && chmod 640 "$root/var/x/file"
chown 1000:1000 "$root/var/x" && chmod 750 "$root/var/x" && ln -s file "$root/var/x/link"
tar --numeric-owner -C "$root" -cf "$T/volimg.tar" .
berth import -c 'VOLUME /var/x' "$T/volimg.tar" volimg:latest >/dev/null
cid=$(berth create -v "$T/bbroot/bin:/bin:ro" volimg /bin/sh -c 'stat -c "%u:%g %a %n" /var/x /var/x/file; cat /var/x/file; readlink /var/x/link; ls /var/x')
expect "copy-up: the image's files, owners and modes in the fresh volume" "1000:1000 750 /var/x
1000:1000 640 /var/x/file
hello
file
file
link
sub" "$(berth start -a "$cid")"
berth rm -v "$cid" >/dev/null

# ---- diff ----
docker run --name dc -v data:/data busybox sh -c 'echo n >/new; echo x >>/etc/passwd; rm /bin/zcat; mkdir -p /tmp/d; touch /tmp/d/f /data/v' >/dev/null
expect "docker diff: A/C/D by path, as docker lists them (berth's own files and mounts left out)" "C /bin
D /bin/zcat
C /etc
C /etc/passwd
A /new
C /tmp
A /tmp/d
A /tmp/d/f" "$(docker diff dc)"
expect "berth diff: the same" "$(docker diff dc)" "$(berth diff dc)"
expect "docker-py container.diff()" "[{'Path': '/bin', 'Kind': 0}, {'Path': '/bin/zcat', 'Kind': 2}]" "$(python3 -c "import docker,sys; print(docker.DockerClient(base_url='unix://$SOCK').containers.get('dc').diff()[:2])")"
expect "a fresh container: no changes" "" "$(docker create --name dc2 busybox true >/dev/null; docker diff dc2; docker rm dc2 >/dev/null)"

# ---- commit ----
cid=$(docker commit -a me -m msg -c 'CMD ["cat","/new"]' dc img:v2)
expect_match "docker commit prints the image id" "^sha256:[0-9a-f]{64}$" "$cid"
expect "run img:v2 prints the file written in the container" n "$(docker run --rm img:v2)"
expect "a file deleted in the container stays deleted (whiteout)" "gone" "$(docker run --rm img:v2 sh -c 'test -e /bin/zcat || echo gone')"
expect "and the other changes are there" "x" "$(docker run --rm img:v2 tail -1 /etc/passwd)"
expect "the volume's file is not in the image" "absent" "$(docker run --rm img:v2 sh -c 'test -e /data/v || echo absent')"
expect_match "history: the message and the author" "msg" "$(docker history --no-trunc --format '{{.Comment}}' img:v2 | head -1)"
expect "inspect: author, one more layer, the -c CMD, the -m message as its Comment" "me 2 [cat /new] msg" "$(docker image inspect -f '{{.Author}} {{len .RootFS.Layers}} {{.Config.Cmd}} {{.Comment}}' img:v2)"
expect "save: the new layer goes with it" 2 "$(docker save img:v2 | tar -t | grep -c '^blobs/sha256/.*' | awk '{print ($1 >= 3) ? 2 : $1}')"
docker save -o "$T/v2.tar" img:v2
expect "skopeo inspect of the saved commit: its layers are the image's, the new one last" \
  "$(docker image inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' img:v2)" \
  "$(skopeo inspect "docker-archive:$T/v2.tar" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["Layers"]), end=" ")')"
berth run -d --name rc busybox sh -c 'echo r >/r; sleep 300' >/dev/null
for _ in $(seq 1 30); do berth exec rc test -e /r && break; sleep 0.1; done
expect_match "berth commit of a running container (paused meanwhile)" "^sha256:" "$(berth commit rc img:run)"
expect "and it runs on" true "$(berth inspect -f '{{.State.Running}}' rc; berth rm -f rc >/dev/null)"
expect "its image has the file" r "$(berth run --rm img:run cat /r)"
expect "docker-py container.commit" "n" "$(python3 -c "import docker; c=docker.DockerClient(base_url='unix://$SOCK'); i=c.containers.get('dc').commit('pyimg', 'v1', changes=['CMD [\"cat\",\"/new\"]']); print(c.containers.run(i.id, remove=True).decode().strip())")"
expect_match "commit of a container that is not there" "No such container: nosuch" "$(docker commit nosuch x 2>&1)"

# ---- export ----
docker export dc >"$T/dc.tar"
expect "docker export: the container's files" n "$(tar -xOf "$T/dc.tar" new)"
expect "no deleted file, no whiteout, no volume content in it" "" "$(tar -tf "$T/dc.tar" | grep -E 'bin/zcat|\.wh\.|^data/v')"
berth export -o "$T/dc2.tar" dc
expect "berth export -o: the same entries" "$(tar -tvf "$T/dc.tar" | sort)" "$(tar -tvf "$T/dc2.tar" | sort)"
docker import "$T/dc.tar" rt:1 >/dev/null
docker create --name rtc rt:1 true >/dev/null
docker export rtc >"$T/rt.tar"
tree_sum() { rm -rf "$T/x" && mkdir "$T/x" && tar -C "$T/x" -xf "$1" && (cd "$T/x" && find . -printf '%p %m %u %s %l\n' | sort && find . -type f -exec md5sum {} + | sort) | md5sum; }
expect "export | import | export: the same tree (names, modes, owners, sizes, contents)" "$(tree_sum "$T/dc.tar")" "$(tree_sum "$T/rt.tar")"
docker rm rtc >/dev/null
docker rm dc >/dev/null

# ---- a hostile image: its /data is a symlink to /etc ----
mkdir -p "$T/evil/etc" && ln -s /etc "$T/evil/data"
tar --numeric-owner -C "$T/evil" -cf "$T/evil.tar" .
berth import "$T/evil.tar" evil:latest >/dev/null
mark="berth-evil-$(basename "$T")"
berth run --rm -v "$T/bbroot/bin:/bin:ro" -v evilvol:/data evil /bin/sh -c "echo pwned >/data/$mark" >/dev/null 2>&1
check "a mount target through a symlink stays in the container: the host's /etc is untouched" test ! -e "/etc/$mark"
expect "the write went to the volume (mounted on the container's own /etc)" pwned "$(cat "$T/data/volumes/evilvol/_data/$mark" 2>&1)"
docker volume rm evilvol >/dev/null

# ---- volume create|inspect|rm|prune ----
expect "volume create prints the name" named2 "$(docker volume create --label team=a named2)"
expect "berth volume create too" named3 "$(berth volume create named3)"
expect "creating one that exists returns it" named3 "$(docker volume create named3)"
expect "volume ls --filter label=team=a" named2 "$(docker volume ls -q --filter label=team=a)"
expect "volume inspect -f" '{"team":"a"} local' "$(docker volume inspect -f '{{json .Labels}} {{.Driver}}' named2)"
expect_match "Labels and Options never sent: null; CreatedAt in whole seconds, as docker's local driver" \
  '^null null 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "$(docker volume inspect -f '{{json .Labels}} {{json .Options}} {{.CreatedAt}}' named3)"
curl -s -X POST -H 'Content-Type: application/json' -d '{"Name":"named4","Labels":{},"DriverOpts":{}}' --unix-socket "$SOCK" http://x/volumes/create >/dev/null
stop_daemon
start_daemon
expect "sent empty: {} (as docker keeps them), after a restart too" "{} {} null" \
  "$(docker volume inspect -f '{{json .Labels}} {{json .Options}}' named4) $(docker volume inspect -f '{{json .Labels}}' named3)"
docker volume rm named4 >/dev/null
expect "volume rm prints the name" named2 "$(docker volume rm named2)"
expect_match "volume rm of one not there: 404" "no such volume" "$(docker volume rm named2 2>&1)"
check "volume rm -f of one not there: no error" docker volume rm -f named2
expect_match "a bad name" "includes invalid characters for a local volume name" "$(docker volume create 'a/b' 2>&1)"
expect_match "a driver that is not loaded" 'plugin "nosuch" not found' "$(docker volume create -d nosuch x1 2>&1)"
# the local driver's options
check "volume create -o type=tmpfs -o o=size=1m" docker volume create -o type=tmpfs -o device=tmpfs -o o=size=1m tv
expect_match "a container sees a tmpfs of 1 MiB there" "tmpfs /t tmpfs .*size=1024k" "$(docker run --rm -v tv:/t busybox grep ' /t ' /proc/mounts)"
mkdir -p "$T/bdir"
check "volume create -o type=none -o o=bind -o device=DIR" docker volume create -o type=none -o o=bind -o device="$T/bdir" bv
docker run --rm -v bv:/b busybox sh -c 'echo bound >/b/f'
expect "a bind volume writes into its device" bound "$(cat "$T/bdir/f")"
check "volume rm of both" docker volume rm tv bv
expect "the bound directory keeps its files" bound "$(cat "$T/bdir/f")"
expect "and no mount of theirs is left" 0 "$(grep -c "$T/data/volumes" /proc/self/mounts)"
# o=: mount(8)'s flags as flags, the rest as the filesystem's data, nothing
# added (docker's local driver); a bind's flags by a remount of it
docker volume create -o type=tmpfs -o device=tmpfs -o o=size=1m,noexec,uid=1000 tv2 >/dev/null
docker volume create -o type=none -o o=bind,ro -o device="$T/bdir" bv2 >/dev/null
expect "o=size=1m,noexec,uid=1000 and o=bind,ro: as docker mounts them" \
  "rw,noexec,relatime,size=1024k,uid=1000 ro yes" \
  "$(docker run --rm -v tv2:/t -v bv2:/b busybox sh -c 'grep " /t " /proc/mounts | cut -d" " -f4; grep " /b " /proc/mounts | cut -d" " -f4 | cut -d, -f1; touch /b/x 2>/dev/null || echo yes' | xargs)"
docker volume rm tv2 bv2 >/dev/null
expect_match "options without a device: dockerd's words" 'create x2: missing required option: "device"' "$(docker volume create -o type=tmpfs x2 2>&1)"
expect_match "nor a type" 'create x2: missing required option: "type"' "$(docker volume create -o device=tmpfs x2 2>&1)"
# another type: the filesystem of a block device (a loop device of its own)
truncate -s 16M "$T/vol.img"
if mkfs.ext4 -q -F "$T/vol.img" 2>/dev/null && LOOPDEV=$(losetup -f --show "$T/vol.img" 2>/dev/null); then
  trap 'cleanup; losetup -d "$LOOPDEV" 2>/dev/null' EXIT
  check "volume create -o type=ext4 -o device=<a loop device>" docker volume create -o type=ext4 -o device="$LOOPDEV" xv
  expect "a container sees the ext4 there and writes to it" "ext4 ok" "$(docker run --rm -v xv:/x busybox sh -c 'grep " /x " /proc/mounts | cut -d" " -f3; echo kept >/x/f && echo ok' | xargs)"
  check "volume rm of it" docker volume rm xv
  expect "what it wrote is on the device" kept "$(debugfs -R 'cat /f' "$LOOPDEV" 2>/dev/null)"
  losetup -d "$LOOPDEV"
  trap cleanup EXIT
else
  fail "a loop device for the ext4 volume (mkfs.ext4, losetup)"
fi
# a typed volume is mounted when its first user starts and unmounted when
# its last has stopped (dockerd's local driver), not at create
check "a device that is not there: created (mounted at its first use, as dockerd's)" docker volume create -o type=ext4 -o device=/dev/berth-no-such-dev x3
out=$(docker run --rm -v x3:/x busybox true 2>&1)
expect "a start that cannot mount it fails: docker's exit code (127: its words say no such file)" 127 "$?"
expect_match "with dockerd's words" "error while mounting volume '$T/data/volumes/x3/_data': failed to mount local volume: mount /dev/berth-no-such-dev:$T/data/volumes/x3/_data: no such file or directory" "$out"
expect "the --rm container is gone" "" "$(docker ps -aq --filter volume=x3)"
check "and the volume can go" docker volume rm x3
mnt() { grep -c " $T/data/volumes/$1/_data " /proc/self/mounts; }
docker volume create -o type=tmpfs -o device=tmpfs -o o=size=1m tv3 >/dev/null
expect "a tmpfs volume: not mounted at create" 0 "$(mnt tv3)"
docker run -d --name tvu -v tv3:/t busybox sleep 300 >/dev/null
docker run --rm -v tv3:/t busybox sh -c 'echo shared >/t/f'
expect "mounted once while it has users" 1 "$(mnt tv3)"
expect "its users share the one tmpfs" shared "$(docker exec tvu cat /t/f)"
stop_daemon KILL
start_daemon || fail "berthd restarts"
docker run --rm -v tv3:/t busybox sh -c 'echo again >>/t/f'
expect "after a kill -9 of berthd: the user it found running still counts (the next run's stop left it mounted)" "1 shared again" "$(mnt tv3) $(docker exec tvu cat /t/f | xargs)"
docker rm -f tvu >/dev/null
expect "unmounted when its last user has stopped" 0 "$(mnt tv3)"
expect "so a tmpfs volume's content lasts while it is used (dockerd's)" "" "$(docker run --rm -v tv3:/t busybox ls /t)"
docker volume rm tv3 >/dev/null
expect_match "a one-letter name: dockerd's words" "create a: volume name is too short, names should be at least two alphanumeric characters" "$(docker volume create a 2>&1)"
expect_match "an unknown option: refused" 'invalid option: "size"' "$(docker volume create -o size=1m x3 2>&1)"
expect_match "-v with a relative target" "must be absolute" "$(docker run --rm -v data:rel busybox true 2>&1)"
expect_match "-v onto /" "destination can't be '/'" "$(berth run --rm -v data:/ busybox true 2>&1)"
expect_match "an unknown mode" "invalid mode: rx" "$(berth run --rm -v data:/d:rx busybox true 2>&1)"
expect_match "two words of one kind: dockerd's refusal (berth took rw,ro)" "invalid mode: rw,ro" "$(docker run --rm -v data:/d:rw,ro busybox true 2>&1)"
check "words of different kinds: taken (ro,z,nocopy,cached)" docker run --rm -v data:/d:ro,z,nocopy,cached busybox true
expect_match "--mount's bind-propagation checked" 'invalid mount config for type "bind": invalid propagation mode: bogus' "$(docker run --rm --mount type=bind,src=/tmp,dst=/x,bind-propagation=bogus busybox true 2>&1)"
# ---- bind propagation: docker's rprivate unless asked; the source a
# shared mount the test makes (lib.sh's clean-up unmounts all under $T) ----
mkdir -p "$T/psrc/a" "$T/psrc/b" "$T/pprv"
mount --bind "$T/psrc" "$T/psrc" && mount --make-shared "$T/psrc"
prop_case() { # the bind's option: is a host mount seen inside, a container's mount seen on the host
  docker run -d --privileged --name pc "$@" busybox sleep 60 >/dev/null || return
  docker exec pc mount -t tmpfs ctrt /src/b
  mount -t tmpfs hostt "$T/psrc/a"
  echo "$(docker exec pc grep -c ' /src/a ' /proc/self/mountinfo) $(grep -c " $T/psrc/b " /proc/self/mountinfo) $(docker inspect -f '{{range .Mounts}}{{.Propagation}}{{end}}' pc)"
  docker rm -f pc >/dev/null
  umount "$T/psrc/a" 2>/dev/null; umount "$T/psrc/b" 2>/dev/null
}
expect "a bind of a shared mount: rprivate by default (no host mount comes in, none goes out; berth's bind was shared both ways)" "0 0 rprivate" "$(prop_case -v "$T/psrc:/src")"
expect "rslave: the host's mounts come in, none goes out" "1 0 rslave" "$(prop_case -v "$T/psrc:/src:rslave")"
expect "rshared: both ways" "1 1 rshared" "$(prop_case -v "$T/psrc:/src:rshared")"
expect "--mount bind-propagation=slave" "1 0 slave" "$(prop_case --mount "type=bind,src=$T/psrc,dst=/src,bind-propagation=slave")"
expect "private, asked for" "0 0 private" "$(prop_case -v "$T/psrc:/src:private")"
out=$(docker run --rm -v "$T/pprv:/src:rslave" busybox true 2>&1); rc=$?
expect_match "rslave of a source on a private mount: dockerd's refusal at start" "^docker: Error response from daemon: path $T/pprv is mounted on [^ ]+ but it is not a shared or slave mount" "$out"
expect "its exit code" 125 "$rc"
docker create --name pfail -v "$T/pprv:/src:rslave" busybox true >/dev/null
docker start pfail >/dev/null 2>&1
expect_match "a start the daemon refused: created, ExitCode 128 and the reason, as dockerd's (berth left 0)" "^created 128 path $T/pprv is mounted on" \
  "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}' pfail; docker rm pfail >/dev/null)"
expect_match "rshared: the same, its words" "path $T/pprv is mounted on [^ ]+ but it is not a shared mount" "$(docker run --rm --mount "type=bind,src=$T/pprv,dst=/src,bind-propagation=rshared" busybox true 2>&1)"
expect_match "a propagation on a named volume: dockerd's refusal" "invalid volume specification: 'pv1:/x:rslave': invalid mount config for type \"volume\": field BindOptions must not be specified" "$(docker run --rm -v pv1:/x:rslave busybox true 2>&1)"
expect "and no volume made of it" "" "$(docker volume ls -q --filter name=pv1)"
expect_match "--tmpfs's options checked at create: dockerd's words" 'invalid tmpfs option \["foo" "1"\]' "$(docker run --rm --tmpfs /x:size=1m,foo=1 busybox true 2>&1)"
expect_match "a tmpfs key without its value" 'invalid tmpfs option \["size"\]' "$(docker create --tmpfs /x:size busybox true 2>&1)"
expect "--tmpfs with flags and its keys: taken (as dockerd mounts them)" "rw,nosuid,nodev,noexec,relatime,size=1024k,nr_inodes=100,uid=5,gid=5" "$(docker run --rm --tmpfs /x:noexec,size=1m,uid=5,gid=5,nr_inodes=100 busybox grep ' /x ' /proc/mounts | cut -d' ' -f4)"
expect_match "the same target twice" "Duplicate mount point: /d" "$(berth run --rm -v data:/d -v named3:/d busybox true 2>&1)"
out=$(docker volume prune -f)
expect_match "prune: the dangling anonymous volume goes" "$va" "$out"
expect_match "and the space is reported" "Total reclaimed space: " "$out"
expect "named volumes stay without -a (and datac's anonymous one, in use)" "anon data named3" "$(vols_anon)"
docker volume prune -af >/dev/null
expect "prune -a: the unused named ones go too; datac's stays" "anon" "$(vols_anon)"

# ---- kill -9 with containers using volumes ----
docker run --rm -v data:/data busybox sh -c 'echo kept >/data/f'
docker run -d --name user1 -v data:/data busybox sleep 300 >/dev/null
stop_daemon KILL
start_daemon || fail "berthd restarts"
expect "after kill -9: the volumes are there" "anon data" "$(vols_anon)"
expect "with their data" kept "$(docker exec user1 cat /data/f)"
expect_match "and still in use" "volume is in use" "$(docker volume rm data 2>&1)"

# ---- system df ----
out=$(docker system df)
expect_match "docker system df: docker's table" "^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE" "$out"
expect_match "its volumes: two, both in use" "Local Volumes +2 +2 " "$out"
expect_match "its containers: two, one running" "Containers +2 +1 " "$out"
expect "the API: data's UsageData (one user, its file's blocks)" "1 True" "$(curl -s --unix-socket "$SOCK" http://x/system/df | python3 -c 'import json,sys; d=json.load(sys.stdin); v=[x for x in d["Volumes"] if x["Name"]=="data"][0]["UsageData"]; print(v["RefCount"], v["Size"] > 0)')"
expect_match "berth system df -v lists the volume with its links" "data +1 " "$(berth system df -v)"
expect_match "berth system df: the same summary" "Local Volumes +2 +2 " "$(berth system df)"
docker rm -f user1 datac >/dev/null

# ---- docker-py ----
out=$(python3 - "unix://$SOCK" <<'PY' 2>&1
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
v = c.volumes.create("pyvol", labels={"k": "v"})
print(c.volumes.get("pyvol").attrs["Labels"], [x.name for x in c.volumes.list(filters={"name": "pyvol"})])
print(c.containers.run("busybox", "sh -c 'echo py >/v/f; cat /v/f'", volumes={"pyvol": {"bind": "/v", "mode": "rw"}}, remove=True).decode().strip())
v.remove()
print(c.volumes.prune()["VolumesDeleted"] is not None)
PY
)
expect "docker-py: volumes.create/get/list, containers.run(volumes=...), remove, prune" "{'k': 'v'} ['pyvol']
py
True" "$out"

finish
