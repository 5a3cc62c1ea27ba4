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
t.close()
PY
}

state() { (cd "$T/data" && find storage/overlay image/layers image/blobs image/images image/tmp -mindepth 1 | grep -v '^storage/overlay/l$' | sort); }
mkdir -p "$T/outside"
links_before=$(stat -c %h /etc/shadow)
before=$(state)
for kind in dotdot absolute symlink hardlink hardlink2 device; do
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
expect_match "garbage load: clear error" "invalid image archive" "$out"
expect "garbage leaves nothing behind" "$before" "$(state)"
stop_daemon
finish
