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
start_daemon || { fail "berthd starts"; finish; exit 1; }

# image: busybox, the exe grabber, a "#!/proc/self/exe" script
gcc -static -O2 -o "$T/grab" "$TOP/tests/integration/containment/exe-grabber.c" || fail "build the grabber"
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
mkdir -p "$T/attack"
cp "$T/grab" "$T/attack/grab"
printf '#!/proc/self/exe\n' >"$T/attack/x.sh"
chmod 755 "$T/attack/x.sh"
mkimage() { # mkimage NAME DIR: busybox plus the files of DIR, as NAME
  rm -rf "$T/img" && mkdir -p "$T/img" && tar -C "$T/img" -xf "$T/bb.tar" && cp -a "$2/." "$T/img/" &&
    tar --numeric-owner -C "$T/img" -cf "$T/img.tar" . && berth import -c 'CMD ["sh"]' "$T/img.tar" "$1" >/dev/null
}
mkimage attack "$T/attack"

# ---- 1. the exec escape -------------------------------------------------
berth run -d --name victim attack /grab 30 >/dev/null
sleep 0.3
for i in 1 2 3 4 5; do
  timeout 20 "$BERTH_BIN" exec victim /x.sh >/dev/null 2>&1
  timeout 20 docker exec victim /x.sh >/dev/null 2>&1
  timeout 20 "$BERTH_BIN" exec victim true >/dev/null 2>&1
done
# berthd goes away (crash, upgrade): nothing runs its binary any more
stop_daemon KILL
sleep 3
expect "exec escape: berthd, berth-shim and berth-init on disk are unchanged" "$SUMS_BEFORE" "$(sums)"
# the grabber's report, from its log file (berthd may be what was broken)
log=$(cat "$T"/data/containers/*/*-json.log 2>/dev/null | sed 's/.*"log":"//; s/\\n".*//')
start_daemon || fail "berthd starts again from its copy"
expect_match "exec escape: the grabber ran" "watching" "$log"
if grep -q WROTE <<<"$log"; then fail "exec escape: nothing was written through a grabbed exe"; sed 's/^/#   /' <<<"$log" | head
else ok "exec escape: nothing was written through a grabbed exe"; fi
# what it could grab at all is the sealed copy, never a file on disk
grabbed=$(grep '^grabbed' <<<"$log" | grep -v 'memfd:berth-shim' || true)
expect "exec escape: the only exe a container can grab is the sealed memfd" "" "$grabbed"
shim_pid=$(pgrep -f "berth-shim --bundle $T/" | head -1)
expect_match "the shim runs from the sealed memfd" "memfd:berth-shim" "$(readlink /proc/$shim_pid/exe)"
berth rm -f victim >/dev/null

finish
