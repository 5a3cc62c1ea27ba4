#!/usr/bin/env bash
# Hostile layer tars through import and load: refused with a clear error,
# and nothing is left behind (no layer, no blob, no temp file, nothing
# written outside).
. "$(dirname "$0")/lib.sh"
start_daemon || { fail "berthd starts"; finish; exit 1; }

mk() { # mk NAME: build $T/NAME.tar from a python description
  python3 - "$T/$1.tar" "$1" "$T" <<'PY'
import sys, tarfile, io
out, kind, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
def f(name, data=b"x"):
    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
def l(name, target, hard=False):
    i = tarfile.TarInfo(name); i.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE; i.linkname = target; t.addfile(i)
f("ok-file")
if kind == "dotdot": f("../../../../../../tmp/berth-dotdot-pwned")
if kind == "absolute": f("/tmp/berth-abs-pwned")
if kind == "symlink": l("evil", tmp + "/outside"); f("evil/pwned")
if kind == "hardlink": l("shadow", "/etc/shadow", hard=True)
if kind == "hardlink2": l("shadow", "../../../../etc/shadow", hard=True)
if kind == "device":
    i = tarfile.TarInfo("sda"); i.type = tarfile.BLKTYPE; i.devmajor = 8; i.devminor = 0; t.addfile(i)
if kind == "devlink":
    i = tarfile.TarInfo("dev/sda"); i.type = tarfile.BLKTYPE; i.devmajor = 8; i.devminor = 0; t.addfile(i)
    l("sda-outside-dev", "dev/sda", hard=True)
t.close()
PY
}

state() { (cd "$T/data" && find storage/overlay image/layers image/blobs image/images image/tmp -mindepth 1 | grep -v '^storage/overlay/l$' | grep -v '^storage/overlay/.removed' | sort); }
mkdir -p "$T/outside"
links_before=$(stat -c %h /etc/shadow)
before=$(state)
for kind in dotdot absolute symlink hardlink hardlink2 device devlink; do
  mk "$kind"
  out=$(berth import "$T/$kind.tar" "evil:$kind" 2>&1); rc=$?
  expect "import of a $kind layer fails" 1 "$rc"
  expect_match "import of a $kind layer: clear error" "Error response from daemon: .*(outside the layer|symlink|device node outside /dev)" "$out"
  expect "import of a $kind layer leaves nothing behind" "$before" "$(state)"
  # the same layer inside a docker-save archive
  rm -rf "$T/arch" && mkdir -p "$T/arch/blobs/sha256"
  d=$(sha256sum "$T/$kind.tar" | cut -d' ' -f1)
  cp "$T/$kind.tar" "$T/arch/blobs/sha256/$d"
  printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$d" >"$T/arch/config.json"
  printf '[{"Config":"config.json","RepoTags":["evil:load"],"Layers":["blobs/sha256/%s"]}]' "$d" >"$T/arch/manifest.json"
  (cd "$T/arch" && tar -cf "$T/arch.tar" .)
  out=$(berth load -i "$T/arch.tar" 2>&1); rc=$?
  expect "load of a $kind layer fails" 1 "$rc"
  expect_match "load of a $kind layer: clear error" "(outside the layer|symlink|device node outside /dev)" "$out"
  expect "load of a $kind layer leaves nothing behind" "$before" "$(state)"
done
expect "nothing written through the symlink" "" "$(ls "$T/outside")"
check_fails "nothing written by ../" test -e /tmp/berth-dotdot-pwned
check_fails "nothing written at an absolute path" test -e /tmp/berth-abs-pwned
expect "/etc/shadow gained no hard link" "$links_before" "$(stat -c %h /etc/shadow)"
expect "no image was created" "" "$(berth images -q)"

# a layer whose content does not match the digest the archive claims
rm -rf "$T/arch" && mkdir -p "$T/arch/blobs/sha256"
make_busybox_tar "$T/arch/blobs/sha256/layer"
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%064d"]}}' 0 >"$T/arch/config.json"
printf '[{"Config":"config.json","RepoTags":["bad:digest"],"Layers":["blobs/sha256/layer"]}]' >"$T/arch/manifest.json"
(cd "$T/arch" && tar -cf "$T/arch.tar" .)
out=$(berth load -i "$T/arch.tar" 2>&1); rc=$?
expect_match "digest mismatch is refused" "layer content does not match its digest" "$out"
expect "digest mismatch leaves nothing behind" "$before" "$(state)"
out=$(printf 'not a tar' | berth load 2>&1); rc=$?
expect "garbage load fails" 1 "$rc"
expect "garbage load: dockerd's words" "Error processing tar file(exit status 1): unexpected EOF" "$out"
expect "garbage leaves nothing behind" "$before" "$(state)"

# 10,000 nested directories: a clear refusal, no crash, nothing left behind
python3 - "$T/deep.tar" <<'PY'
import sys, tarfile, io
t = tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT)
p = "d"
for i in range(10000):
    ti = tarfile.TarInfo(p); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
    p += "/d"
t.close()
PY
out=$(berth import "$T/deep.tar" deep:1 2>&1); rc=$?
expect "import of 10,000 nested directories fails" 1 "$rc"
expect_match "import of 10,000 nested directories: clear error" "path longer than 4095 bytes refused" "$out"
check "berthd survived the deep layer" kill -0 "$DPID"
expect "the deep layer leaves nothing behind" "$before" "$(state)"
# a tree that deep in a layer directory (as a crash would leave it) is
# removed at the next start, without recursion
stop_daemon
sid=$(printf '%064d' 7)
mkdir -p "$T/data/storage/overlay/$sid/diff" && (cd "$T/data/storage/overlay/$sid/diff" &&
  python3 -c "
import os
for i in range(10000):
    os.mkdir('d'); os.chdir('d')
open('f','w').write('x')")
touch "$T/data/image/pending/$sid"
start_daemon || fail "berthd starts with a pending deep layer"
check_fails "a layer an interrupted import left is swept at start-up" test -e "$T/data/storage/overlay/$sid"
check_fails "and its pending mark with it" test -e "$T/data/image/pending/$sid"

# OCI layouts: an index that names itself, and indexes nested too deep
oci() { rm -rf "$T/oci" && mkdir -p "$T/oci/blobs/sha256" && echo '{"imageLayoutVersion":"1.0.0"}' >"$T/oci/oci-layout"; }
blob() { local h; h=$(printf '%s' "$1" | sha256sum | cut -d' ' -f1); printf '%s' "$1" >"$T/oci/blobs/sha256/$h"; echo "$h"; }
IDX=application/vnd.oci.image.index.v1+json
oci
self=$(printf '%064d' 1)
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"sha256:%s","size":1}]}' $IDX "$self" >"$T/oci/blobs/sha256/$self"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"sha256:%s","size":1}]}' $IDX "$self" >"$T/oci/index.json"
out=$( (cd "$T/oci" && tar -cf - .) | berth load 2>&1); rc=$?
expect "load of an index that lists itself fails" 1 "$rc"
expect_match "load of an index that lists itself: clear error" "content does not match its digest" "$out"
check "berthd survived the self-listing index" kill -0 "$DPID"
oci
h=$(blob '{"schemaVersion":2,"manifests":[]}')
for i in 1 2 3 4 5 6; do h=$(blob "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"$IDX\",\"digest\":\"sha256:$h\",\"size\":1}]}"); done
printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"sha256:%s","size":1}]}' $IDX "$h" >"$T/oci/index.json"
out=$( (cd "$T/oci" && tar -cf - .) | berth load 2>&1); rc=$?
expect_match "load of indexes nested 7 deep: clear error" "nested deeper than 4" "$out"
check "berthd survived the nested indexes" kill -0 "$DPID"
expect "the OCI layouts leave nothing behind" "$before" "$(state)"
stop_daemon
finish
