#!/usr/bin/env bash
# berth-plugin-check, as a third-party author runs it: from a staged
# `make install` only (the binary, the headers, pkg-config, the shipped
# plugins).  It passes for every shipped driver file and for contrib's
# examples built from the installed headers, and fails for a storage driver
# that drops symlinks and a log driver that loses lines.
. "$(dirname "$0")/../integration/lib.sh"
REGPID=
trap '[ -n "$REGPID" ] && kill $REGPID 2>/dev/null; cleanup' EXIT

make -C "$TOP" install DESTDIR="$T/stage" prefix=/usr/local >"$T/install.log" 2>&1 ||
  { fail "make install into a staging dir"; tail -5 "$T/install.log"; finish; exit 1; }
S="$T/stage/usr/local"
CHECK="$S/bin/berth-plugin-check"
check "berth-plugin-check is installed" test -x "$CHECK"
export PKG_CONFIG_SYSROOT_DIR="$T/stage" PKG_CONFIG_PATH="$S/lib/pkgconfig"
CFLAGS_PLUGIN=$(pkg-config --cflags berth-plugin)
PLUGINS="$S/lib/berth/plugins"
# pkg-config for the system's own libraries, not the staging dir
sysroot_free() { env -u PKG_CONFIG_SYSROOT_DIR -u PKG_CONFIG_PATH "$@"; }

# plugin_check NAME ARGS...: passes when the checker does; shows its failures
plugin_check() {
  local name=$1 pre=(); shift
  [ "$1" = --unshare-net ] && { pre=(unshare --net); shift; }
  if timeout 900 "${pre[@]}" "$CHECK" "$@" >"$T/check.out" 2>&1; then
    ok "$name ($(grep -c '^ok' "$T/check.out") checks)"
  else
    fail "$name"; grep -E '^not ok|^# ' "$T/check.out" | head -15 | sed 's/^/#   /'
  fi
}
# plugin_check_fails NAME REGEX ARGS...: the checker fails, with a line matching
plugin_check_fails() {
  local name=$1 want=$2; shift 2
  timeout 900 "$CHECK" "$@" >"$T/check.out" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] && grep -Eq -- "$want" "$T/check.out"; then ok "$name"; else
    fail "$name (exit $rc)"; grep -E '^not ok' "$T/check.out" | head -10 | sed 's/^/#   /'; fi
}

plugin_check "overlay.so" "$PLUGINS/overlay.so"
plugin_check "local.so" "$PLUGINS/local.so"
# syslog, to a listener on loopback made here (it drops what it gets)
python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1], flush=True); s.settimeout(600)
while True: s.recv(65536)' >"$T/udp.port" 2>/dev/null &
LPID=$!
for _ in $(seq 1 50); do [ -s "$T/udp.port" ] && break; sleep 0.1; done
plugin_check "syslog.so (to udp://127.0.0.1)" -o "syslog-address=udp://127.0.0.1:$(cat "$T/udp.port")" "$PLUGINS/syslog.so"
kill $LPID 2>/dev/null
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(600)
while True: s.recv(1<<20)' "$T/journal.sock" 2>/dev/null &
LPID=$!
for _ in $(seq 1 50); do [ -S "$T/journal.sock" ] && break; sleep 0.1; done
plugin_check "journald.so (to a journal socket made here)" -o "socket=$T/journal.sock" "$PLUGINS/journald.so"
kill $LPID 2>/dev/null
out=$("$CHECK" "$PLUGINS/journald.so" 2>&1)
expect_match "journald.so with no journal here: init says why, not a failure" "# init says the driver cannot work here: no journal socket" "$out"
# the registry driver against a docker-registry on loopback
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/reg"
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$T/reg/data" "$port" >"$T/reg/config.yml"
docker-registry serve "$T/reg/config.yml" >"$T/reg/log" 2>&1 &
REGPID=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
plugin_check "distribution.so (against docker-registry on 127.0.0.1:$port)" --registry "127.0.0.1:$port" "$PLUGINS/distribution.so"
out=$("$CHECK" "$PLUGINS/distribution.so" 2>&1)
expect_match "without --registry the registry suite says what it needs" "needs a registry: --registry HOST:PORT" "$out"

# contrib's examples, built from the installed headers only
for ex in storage-example/dirs plugin-example/example; do
  so="$T/$(basename "$ex").so"
  [ "$ex" = plugin-example/example ] && so="$T/example-log.so"
  check "contrib/$ex.c builds from the installed headers" cc $CFLAGS_PLUGIN -Wall -Wextra -Werror -shared -fPIC -o "$so" "$TOP/contrib/$ex.c"
  plugin_check "contrib/$ex.c passes" "$so"
done

check "contrib/volume-example/dirvol.c builds from the installed headers" cc $CFLAGS_PLUGIN -Wall -Wextra -Werror \
  -shared -fPIC -o "$T/dirvol.so" "$TOP/contrib/volume-example/dirvol.c"
plugin_check "contrib/volume-example/dirvol.c passes (ABI 1.1's volume kind)" "$T/dirvol.so"
# a volume driver that keeps the data of a removed volume
mkdir -p "$T/broken/vol"
sed 's|  if (fd < 0 \|\| empty_dir(fd) < 0 \|\| rmdir(path) < 0)|  if (fd >= 0) return close(fd), 0; /* the bug: the data stays */\n  if (fd < 0 \|\| empty_dir(fd) < 0 \|\| rmdir(path) < 0)|' \
  "$TOP/contrib/volume-example/dirvol.c" >"$T/broken/dirvol.c"
cc $CFLAGS_PLUGIN -shared -fPIC -o "$T/broken/vol/dirvol.so" "$T/broken/dirvol.c"
plugin_check_fails "a volume driver that keeps a removed volume's data fails the check" "^not ok .* its data went with it" "$T/broken/vol/dirvol.so"
check "contrib/registry-example/dir-registry.c builds from the installed headers" cc $CFLAGS_PLUGIN -Wall -Wextra -Werror \
  -shared -fPIC -o "$T/dir-registry.so" "$TOP/contrib/registry-example/dir-registry.c" -lcrypto
plugin_check "contrib/registry-example/dir-registry.c passes" --registry offline.example "$T/dir-registry.so"
check "contrib/network-example/veth.c builds from the installed headers" cc $CFLAGS_PLUGIN $(sysroot_free pkg-config --cflags libnl-route-3.0) \
  -Wall -Wextra -Werror -shared -fPIC -o "$T/veth.so" "$TOP/contrib/network-example/veth.c" $(sysroot_free pkg-config --libs libnl-route-3.0)
# its links are made in a network namespace of this test's own
plugin_check "contrib/network-example/veth.c passes (in a network namespace made here)" --unshare-net "$T/veth.so"

# a storage driver that drops symlinks, a log driver that loses lines
mkdir -p "$T/broken"
awk '{print} /return d->host->untar\(d->host, tar, path, BERTH_UNTAR_WHITEOUT_DELETE, err\);/ {found=1}' "$TOP/contrib/storage-example/dirs.c" |
  sed 's|  return d->host->untar(d->host, tar, path, BERTH_UNTAR_WHITEOUT_DELETE, err);|  r = d->host->untar(d->host, tar, path, BERTH_UNTAR_WHITEOUT_DELETE, err);\n  const char *argv[] = {"/usr/bin/find", path, "-type", "l", "-delete", NULL};\n  return r < 0 ? r : run(argv, err); /* the bug: symlinks dropped */|' >"$T/broken/dirs.c"
check "a driver that drops symlinks builds" cc $CFLAGS_PLUGIN -shared -fPIC -o "$T/broken/dirs.so" "$T/broken/dirs.c"
plugin_check_fails "it fails the check, on the symlinks" "^not ok .* a relative symlink is kept" "$T/broken/dirs.so"
awk '/^static int ex_log\(/ {print; getline; print; print "  static int n;\n  if (++n % 10 == 0) return 0; /* the bug: every tenth line lost */"; next} {print}' \
  "$TOP/contrib/plugin-example/example.c" >"$T/broken/example-log.c"
check "a log driver that loses lines builds" cc $CFLAGS_PLUGIN -shared -fPIC -o "$T/broken/example-log.so" "$T/broken/example-log.c"
plugin_check_fails "it fails the check, on the lines read back" "^not ok .* all 100 lines read back" "$T/broken/example-log.so"
# a driver that ignores a failed host service: caught by the fault sweep
sed 's|  if (r == 0) r = put_row(d, out, "Copier", d->conf.copier);|  put_row(d, out, "Copier", d->conf.copier); r = 0; /* the bug: a failed append ignored */|' \
  "$TOP/contrib/storage-example/dirs.c" >"$T/broken/ignore.c"
mkdir -p "$T/broken/ignore" && cc $CFLAGS_PLUGIN -shared -fPIC -o "$T/broken/ignore/dirs.so" "$T/broken/ignore.c"
plugin_check_fails "a driver that ignores a failed host->buf_append is caught by the sweep" "^not ok .*host->buf_append failing.*status returned success" "$T/broken/ignore/dirs.so"
# a crash inside an op is reported with the op
sed 's|^static int dirs_status(void \*drv, struct berth_buf \*out, struct berth_err \*err) {|&\n  *(volatile int *)0 = 1;|' "$TOP/contrib/storage-example/dirs.c" >"$T/broken/crash.c"
mkdir -p "$T/broken/crash" && cc $CFLAGS_PLUGIN -shared -fPIC -o "$T/broken/crash/dirs.so" "$T/broken/crash.c"
plugin_check_fails "a driver that crashes: the checker survives and names the op" "^not ok .*crashed \(Segmentation fault\) in op status" "$T/broken/crash/dirs.so"
finish
