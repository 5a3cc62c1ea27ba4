#!/usr/bin/env bash
# cp (issue 12): GET/HEAD/PUT /containers/{id}/archive through the berth and
# docker CLIs and docker-py: files and directories both ways, "dir/.",
# "-" streams, -a, -L, running and stopped containers, volumes and binds
# mounted in them, read-only refusals, and hostile input (symlinks out of the
# root, "../" entries, links in the archive) that must write nothing outside.
. "$(dirname "$0")/lib.sh"

start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
tree() { (cd "$1" && find . -printf '%y %m %p %l\n' | sort); }
# a host tree: files, a subdirectory, a symlink, a hard link, an owner, a long name
SRC="$T/src"
long=$(printf 'n%.0s' $(seq 1 140))
mkdir -p "$SRC/sub/$long"
echo one >"$SRC/f1"
printf 'two\n%.0s' $(seq 1 1000) >"$SRC/sub/f2"
echo deep >"$SRC/sub/$long/f3"
ln -s f1 "$SRC/link"
ln "$SRC/f1" "$SRC/hard"
chmod 0750 "$SRC/sub"
chown 1234:567 "$SRC/sub/f2"
touch -d '2001-02-03 04:05:06' "$SRC/f1"

docker run -d --name c1 -v vol1:/vol busybox sleep 600 >/dev/null

# ---- host -> container ----
out=$(berth cp "$SRC" c1:/tmp 2>&1)
expect_match "berth cp DIR ctr:/existing-dir: docker's closing line" "^Successfully copied [0-9.]+kB to c1:/tmp$" "$out"
berth cp -q -a c1:/tmp/src "$T/rt"
expect "the tree arrives whole: copied back, the same types, modes, names and links" "$(tree "$SRC")" "$(tree "$T/rt")"
check "and the same bytes" diff -r "$SRC" "$T/rt"
expect "owners kept (the tar's uid:gid)" "1234:567" "$(docker exec c1 stat -c %u:%g /tmp/src/sub/f2)"
expect "modes kept" "750" "$(docker exec c1 stat -c %a /tmp/src/sub)"
expect "mtimes kept" "$(stat -c %Y "$SRC/f1")" "$(docker exec c1 stat -c %Y /tmp/src/f1)"
expect "the hard link is one inode" "2" "$(docker exec c1 stat -c %h /tmp/src/hard)"
expect "the symlink is a symlink" "f1" "$(docker exec c1 readlink /tmp/src/link)"
expect "a 140-character name (pax header)" "deep" "$(docker exec c1 cat "/tmp/src/sub/$long/f3")"
# "dir/" is the directory by its name, "/" is the root's tree (dockerd's
# names: "src/…", "/bin"…); before stop 31 "dir/" came as "./…", which the
# docker CLI extracted to nothing
docker cp c1:/tmp/src/ "$T/slash" 2>/dev/null
expect "docker cp ctr:/dir/ NEW: the directory arrives as NEW" "$(tree "$SRC")" "$(tree "$T/slash")"
berth cp -q c1:/tmp/src/ "$T/slash2"
expect "berth cp the same" "$(tree "$SRC")" "$(tree "$T/slash2")"
docker cp c1:/ "$T/rootcp" 2>/dev/null
expect "docker cp ctr:/ NEW: the root's tree" "one" "$(cat "$T/rootcp/tmp/src/f1" 2>&1)"
expect "its /proc, /sys and /dev as empty directories (the kernel's files and devices are not copied; dockerd's view has none)" "0 0 0" "$(for d in proc sys dev; do ls -A "$T/rootcp/$d" | wc -l; done | xargs)"
# dockerd's view is the root, the volumes and binds, the /etc files: a
# mount of another filesystem is its empty directory, what is below it is
# not there (berth read the container's /proc, /sys, /dev and tmpfs until
# stop 32)
docker run -d --name cpv --tmpfs /tt -v "$T/cpvb:/vb" busybox sh -c 'echo x >/tt/f; echo b >/vb/f; sleep 60' >/dev/null
sleep 0.5
expect "below /proc, /sys, /dev, a --tmpfs: dockerd's not-found" \
  "Error response from daemon: Could not find the file /proc/1/status in container cpv|Error response from daemon: Could not find the file /sys/kernel in container cpv|Error response from daemon: Could not find the file /dev/null in container cpv|Error response from daemon: Could not find the file /tt/f in container cpv" \
  "$(docker cp cpv:/proc/1/status - 2>&1)|$(docker cp cpv:/sys/kernel - 2>&1)|$(docker cp cpv:/dev/null - 2>&1)|$(docker cp cpv:/tt/f - 2>&1)"
expect "their mount points: the directory alone" "proc/|tt/|shm/" "$(docker cp cpv:/proc - | tar t)|$(docker cp cpv:/tt - | tar t)|$(docker cp cpv:/dev/shm - | tar t)"
expect "a bind and the /etc files are in the view" "vb/ vb/f|hostname" "$(docker cp cpv:/vb - | tar t | xargs)|$(docker cp cpv:/etc/hostname - | tar t)"
expect "a stream that is no tar: dockerd's words" "Error response from daemon: Error processing tar file(exit status 1): unexpected EOF|Error response from daemon: Error processing tar file(exit status 1): archive/tar: invalid tar header" \
  "$(echo garbage | docker cp - cpv:/ 2>&1)|$(head -c 3000 /dev/zero | tr '\0' x | docker cp - cpv:/ 2>&1)"
docker rm -f cpv >/dev/null
mkdir "$T/rootcp2"
berth cp -q c1:/ "$T/rootcp2"
expect "berth cp ctr:/ EXISTING-DIR: its entries in it, as docker's CLI puts them" "one" "$(cat "$T/rootcp2/tmp/src/f1" 2>&1)"
rm -rf "$T/slash" "$T/slash2" "$T/rootcp" "$T/rootcp2"
berth cp -q "$SRC/f1" c1:/tmp/renamed.txt
expect "a file to a missing name: that name (-q prints nothing)" "one" "$(docker exec c1 cat /tmp/renamed.txt)"
berth cp -q "$SRC/." c1:/contents
expect "SRC/. to a missing dir: its contents under the new name" "f1 hard link sub" "$(docker exec c1 ls /contents | xargs)"
berth cp -q "$SRC/sub/f2" c1:/tmp/renamed.txt
expect "over an existing file: replaced" "1000" "$(docker exec c1 sh -c 'wc -l </tmp/renamed.txt')"
expect_match "a directory over a file: refused" "cannot copy directory" "$(berth cp "$SRC" c1:/tmp/renamed.txt 2>&1)"
expect_match "into a missing parent: docker's 404 text" "Could not find the file /nope in container c1" "$(berth cp "$SRC/f1" c1:/nope/x 2>&1)"
expect_match "a missing local source" "lstat $T/missing: No such file or directory" "$(berth cp "$T/missing" c1:/tmp 2>&1)"
expect_match "an unknown container" "No such container: nosuch" "$(berth cp "$SRC/f1" nosuch:/tmp 2>&1)"
expect_match "two containers: refused as docker does" "copying between containers is not supported" "$(berth cp c1:/a c1:/b 2>&1)"
docker exec c1 mkdir /fromstdin
tar -C "$SRC" -cf - f1 sub | berth cp - c1:/fromstdin
expect "- : a tar on stdin, extracted into the directory" "f1 sub" "$(docker exec c1 ls /fromstdin 2>&1 | xargs)"
expect_match "- into a file: refused" "must be a directory" "$(tar -C "$SRC" -cf - f1 | berth cp - c1:/tmp/renamed.txt 2>&1)"
gzip -c <(tar -C "$SRC" -cf - f1) >"$T/f1.tgz"
docker exec c1 mkdir /fromgz
berth cp - c1:/fromgz <"$T/f1.tgz"
expect "a gzipped tar on stdin too" "one" "$(docker exec c1 cat /fromgz/f1)"

# ---- container -> host ----
docker exec c1 sh -c 'mkdir -p /d/s && echo x >/d/s/x && ln -s /etc/passwd /d/pw && ln -s /d/s/x /xlink && chown 99:98 /d/s/x'
out=$(berth cp c1:/d "$T/out1" 2>&1)
expect_match "berth cp ctr:/DIR missing-local: docker's closing line" "^Successfully copied .*B to $T/out1$" "$out"
expect "the directory under the new name" "./pw ./s ./s/x" "$(cd "$T/out1" && find . -mindepth 1 | sort | xargs)"
expect "a symlink stays a symlink" "/etc/passwd" "$(readlink "$T/out1/pw")"
expect "without -a: owned by the caller" "0:0" "$(stat -c %u:%g "$T/out1/s/x")"
mkdir "$T/out2"
berth cp -a -q c1:/d "$T/out2"
expect "into an existing dir: under the source's name" "x" "$(cat "$T/out2/d/s/x")"
expect "-a: the container's owners" "99:98" "$(stat -c %u:%g "$T/out2/d/s/x")"
berth cp -q c1:/d/. "$T/out3"
expect "ctr:/DIR/. : the contents" "pw s" "$(ls "$T/out3" | xargs)"
berth cp -q c1:/xlink "$T/l1"
expect "a link copied as a link" "/d/s/x" "$(readlink "$T/l1")"
berth cp -q -L c1:/xlink "$T/l2"
expect "-L: what it points to" "x" "$(cat "$T/l2")"
expect "ctr:PATH - : a tar on stdout, the basename on top" "d/ d/pw d/s/ d/s/x" "$(berth cp c1:/d - | tar -t | sort | xargs)"
expect_match "a missing path: docker's 404 text" "Error response from daemon: Could not find the file /nonexist in container c1" "$(berth cp c1:/nonexist "$T/x" 2>&1)"
expect_match "a directory onto a local file: refused" "cannot copy directory" "$(berth cp c1:/d "$T/l2" 2>&1)"
expect_match "into a missing local dir/ : refused" "does not exist" "$(berth cp c1:/d/s/x "$T/nodir/" 2>&1)"

# ---- through the docker CLI ----
docker cp "$SRC/f1" c1:/tmp/dk.txt 2>/dev/null
expect "docker cp host->ctr (HEAD 404, PUT into the parent, renamed)" "one" "$(docker exec c1 cat /tmp/dk.txt)"
docker cp "$SRC" c1:/dk 2>/dev/null
expect "docker cp DIR to a missing path" "$(ls "$SRC" | xargs)" "$(docker exec c1 ls /dk | xargs)"
docker cp c1:/d "$T/dk" 2>/dev/null
expect "docker cp ctr->host" "x" "$(cat "$T/dk/s/x")"
docker exec c1 sh -c 'mkdir -p /ord/m && for n in zeta alpha Mid beta 10 9; do echo $n >/ord/$n; done; touch /ord/m/z /ord/m/a'
expect "docker cp ctr->host as a tar: each directory's names in byte order, as docker's walk (the same tree, the same archive)" \
  "ord ord/10 ord/9 ord/Mid ord/alpha ord/beta ord/m ord/m/a ord/m/z ord/zeta" "$(docker cp c1:/ord - | tar -t | sed 's,/$,,' | xargs)"
docker exec c1 sh -c 'echo "zed:x:1234:4321::/:/bin/sh" >>/etc/passwd; echo "zg:x:4321:" >>/etc/group; mkdir -p /own; touch /own/z /own/n; chown 1234:4321 /own/z; chown 777:778 /own/n'
owners='import sys, tarfile
for m in tarfile.open(fileobj=sys.stdin.buffer, mode="r|"):
    if m.name.startswith("own"): print(m.name, m.uname or "-", m.gname or "-", end=";")'
expect "the owners' names in the tar: the container's /etc/passwd and /etc/group, none for an id they do not name (as docker's)" \
  "own root root;own/n - -;own/z zed zg;" "$(docker cp c1:/own - | python3 -c "$owners")"
expect "and in export's" "own root root;own/n - -;own/z zed zg;" "$(docker export c1 | python3 -c "$owners")"
expect_match "docker cp: the Path-Stat header's 404" "Could not find the file /nonexist in container c1" "$(docker cp c1:/nonexist "$T/x" 2>&1)"
stat_json=$(curl -s -I --unix-socket "$SOCK" "http://x/containers/c1/archive?path=/d" | tr -d '\r' | sed -n 's/^X-Docker-Container-Path-Stat: //ip' | base64 -d)
expect_match "HEAD: the Path-Stat JSON, Go's FileMode for a 0755 directory" '^\{"name":"d","size":[0-9]+,"mode":2147484141,"mtime":"[0-9T:.Z-]+","linkTarget":""\}$' "$stat_json"
stat_json=$(curl -s -I --unix-socket "$SOCK" "http://x/containers/c1/archive?path=/xlink" | tr -d '\r' | sed -n 's/^X-Docker-Container-Path-Stat: //ip' | base64 -d)
expect_match "a symlink: ModeSymlink|0777 and its target" '"mode":134218239,.*"linkTarget":"/d/s/x"' "$stat_json"

# ---- volumes, binds, stopped containers ----
mkdir "$T/bind"
docker run -d --name c2 -v vol2:/vol -v "$T/bind:/bind" -v vol3:/ro:ro busybox sleep 600 >/dev/null
berth cp -q "$SRC/f1" c2:/vol/
berth cp -q "$SRC/f1" c2:/bind/
expect "into a volume mounted in the container" "one" "$(cat "$T/data/volumes/vol2/_data/f1")"
expect "into a bind mount: the host's directory" "one" "$(cat "$T/bind/f1")"
expect_match "into a :ro volume: docker's refusal" "mounted volume is marked read-only" "$(berth cp "$SRC/f1" c2:/ro/ 2>&1)"
docker stop -t 0 c2 >/dev/null
berth cp -q "$SRC/sub/f2" c2:/vol/
berth cp -q "$SRC/sub/f2" c2:/bind/
berth cp -q "$SRC/sub/f2" c2:/tmp/
expect "a stopped container: into its volume" "1000" "$(wc -l <"$T/data/volumes/vol2/_data/f2")"
expect "a stopped container: into its bind" "1000" "$(wc -l <"$T/bind/f2")"
expect "a stopped container: out of its volume" "one" "$(berth cp c2:/vol/f1 - | tar -xO)"
expect "and out of its layer" "1000" "$(berth cp c2:/tmp/f2 - | tar -xO | wc -l)"
expect "the copy's mounts were the copy's alone: none left on the host" "0" "$(grep -c "vol2/_data .*$T/data\|$T/bind .*overlay" /proc/self/mounts)"
docker start c2 >/dev/null
expect "started again, it sees what was copied in while stopped" "1000 1000" "$(docker exec c2 sh -c 'wc -l </vol/f2; wc -l </tmp/f2' | xargs)"
# a typed volume (mounted only while used): mounted for the copy into a
# stopped container and let go after, with dockerd's mount/unmount events
truncate -s 16M "$T/cpvol.img"
if mkfs.ext4 -q -F "$T/cpvol.img" 2>/dev/null && CPLOOP=$(losetup -f --show "$T/cpvol.img" 2>/dev/null); then
  trap 'cleanup; losetup -d "$CPLOOP" 2>/dev/null' EXIT
  docker volume create -o type=ext4 -o device="$CPLOOP" cpx >/dev/null
  docker create --name c4 -v cpx:/x busybox true >/dev/null
  c4=$(docker inspect -f '{{.Id}}' c4)
  since=$(date +%s)
  berth cp -q "$SRC/f1" c4:/x/
  expect "into a stopped container's typed volume: onto its device, not the directory under it" "one" "$(debugfs -R 'cat /f1' "$CPLOOP" 2>/dev/null)"
  expect "the volume is let go after the copy" "0" "$(grep -c " $T/data/volumes/cpx/_data " /proc/self/mounts)"
  expect "the copy's volume events, as dockerd's cp tells them (the container's id; its stat and its copy each mount)" "mount $c4 /x unmount $c4 mount $c4 /x unmount $c4" \
    "$(docker events --since "$since" --until "$(($(date +%s) + 1))" --filter volume=cpx --filter event=mount --filter event=unmount --format '{{.Action}} {{.Actor.Attributes.container}}{{with .Actor.Attributes.destination}} {{.}}{{end}}' | xargs)"
  docker rm c4 >/dev/null
  docker volume rm cpx >/dev/null
  losetup -d "$CPLOOP"
  trap cleanup EXIT
else
  fail "a loop device for the typed volume (mkfs.ext4, losetup)"
fi
docker run -d --name c3 --read-only busybox sleep 600 >/dev/null
expect_match "--read-only: docker's refusal" "container rootfs is marked read-only" "$(berth cp "$SRC/f1" c3:/tmp/ 2>&1)"
docker rm -f c2 c3 >/dev/null

# ---- hostile: nothing lands outside the container ----
mkdir -p "$T/hostile/tmp"
ln -s / "$T/hostile/evil"
ln -s /etc "$T/hostile/data"
tar -C "$T/hostile" -cf "$T/hostile.tar" evil data tmp
docker import "$T/hostile.tar" hostile:1 >/dev/null
docker create --name h1 hostile:1 /x >/dev/null
marker="berth-cp-escape-$$"
berth cp -q "$SRC/f1" "h1:/evil/tmp/$marker" 2>/dev/null
expect "ctr:/evil -> / : the copy stays in the container's root" "absent" "$([ -e "/tmp/$marker" ] && echo present || echo absent)"
expect "it went to the container's own /tmp" "one" "$(berth cp "h1:/tmp/$marker" - | tar -xO)"
berth cp -q "$SRC/f1" "h1:/data/$marker" 2>/dev/null
expect "ctr:/data -> /etc : not the host's /etc" "absent" "$([ -e "/etc/$marker" ] && echo present || echo absent)"
python3 - "$T/dotdot.tar" "$marker" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("../../../../tmp/" + sys.argv[2] + "-dd"); d = b"x"; i.size = 1
    t.addfile(i, io.BytesIO(d))
PY
expect_match "a tar with ../ entries: refused" "is outside of" "$(berth cp - h1:/tmp <"$T/dotdot.tar" 2>&1)"
expect "and nothing written" "absent" "$([ -e "/tmp/$marker-dd" ] && echo present || echo absent)"
python3 - "$T/linkout.tar" "$marker" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    l = tarfile.TarInfo("out"); l.type = tarfile.SYMTYPE; l.linkname = "/tmp"; t.addfile(l)
    i = tarfile.TarInfo("out/" + sys.argv[2] + "-ln"); i.size = 1; t.addfile(i, io.BytesIO(b"y"))
PY
python3 - "$T/hardout.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    h = tarfile.TarInfo("hl"); h.type = tarfile.LNKTYPE; h.linkname = "../../etc/passwd"; t.addfile(h)
PY
berth cp - h1:/ <"$T/linkout.tar" >/dev/null 2>&1
expect "an absolute symlink in the tar, then a file through it: the host's /tmp untouched" "absent" "$([ -e "/tmp/$marker-ln" ] && echo present || echo absent)"
expect "the file went to the container's /tmp" "y" "$(berth cp "h1:/tmp/$marker-ln" - | tar -xO)"
expect_match "a hard link climbing out: refused" "is outside of" "$(berth cp - h1:/ <"$T/hardout.tar" 2>&1)"
expect "no link to the host's passwd" "absent" "$(berth cp h1:/hl - >/dev/null 2>&1 && echo present || echo absent)"
expect "cp out of ctr:/evil/etc/hostname reads the container's, not the host's" "absent" "$(berth cp h1:/evil/etc/hostname - 2>/dev/null | tar -xO 2>/dev/null | grep -qx "$(hostname)" && echo present || echo absent)"
docker rm h1 >/dev/null

# ---- a cp out of a stopped container holds its rootfs: a start and an
# exit meanwhile neither unmount it under the cp nor leave the next start
# an empty directory (the exit dropped the cp's mount before: the second
# start below ran on an unmounted rootfs and failed) ----
docker create --name held busybox sh -c \
  'mkdir -p /big && cd /big && i=0 && while [ $i -lt 3000 ]; do echo $i >f$i; i=$((i + 1)); done; ls /big | wc -l' >/dev/null
expect "held: its first run makes 3000 files" "3000" "$(docker start -a held 2>&1)"
# the reader waits before it reads: the cp blocks in its walk, mount held
(berth cp held:/big - | (sleep 3; tar -t | wc -l) >"$T/held.n") &
cpw=$!
sleep 1
expect "a start while a cp holds the rootfs, and its exit" "3000" "$(docker start -a held 2>&1)"
expect "a second start after that exit finds its files" "3000" "$(docker start -a held 2>&1)"
wait $cpw
expect "and the cp's tar is whole (the directory and 3000 files)" "3001" "$(tr -d ' ' <"$T/held.n")"
docker rm held >/dev/null

# ---- docker-py: put_archive, get_archive, export ----
out=$(python3 - "unix://$SOCK" "$SRC" <<'PY' 2>&1
import docker, io, sys, tarfile, hashlib
c = docker.DockerClient(base_url=sys.argv[1]).containers.get("c1")
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    t.add(sys.argv[2] + "/sub/f2", arcname="py.txt")
print(c.put_archive("/tmp", buf.getvalue()))
bits, stat = c.get_archive("/tmp/py.txt")
data = b"".join(bits)
with tarfile.open(fileobj=io.BytesIO(data)) as t:
    print(stat["name"], stat["size"], t.extractfile("py.txt").read().count(b"\n"))
exp = b"".join(c.export())
with tarfile.open(fileobj=io.BytesIO(exp)) as t:
    print("tmp/py.txt" in t.getnames())
PY
)
expect "docker-py: put_archive, get_archive (with stat), export" "True
py.txt 4000 1000
True" "$out"

docker rm -f c1 >/dev/null
finish
