#!/usr/bin/env bash
# The plugin SDK: make install puts the headers and berth-plugin.pc in
# place; a driver built out of tree from them alone loads into berthd.
. "$(dirname "$0")/lib.sh"

check "make install into a staging dir" make -C "$TOP" install DESTDIR="$T/stage" prefix=/usr/local
for h in plugin storage network logger registry; do
  check "installed header berth/$h.h" test -f "$T/stage/usr/local/include/berth/$h.h"
done
check "installed berthd, berth and overlay.so" test -x "$T/stage/usr/local/bin/berthd" -a -x "$T/stage/usr/local/bin/berth" -a -f "$T/stage/usr/local/lib/berth/plugins/overlay.so"
check_fails "no libtool .la files among the plugins" test -e "$T/stage/usr/local/lib/berth/plugins/overlay.la"
export PKG_CONFIG_SYSROOT_DIR="$T/stage" PKG_CONFIG_PATH="$T/stage/usr/local/lib/pkgconfig"
cflags=$(pkg-config --cflags berth-plugin)
expect_match "pkg-config berth-plugin" "-I$T/stage/usr/local/include" "$cflags"
# build with nothing but the staged headers: no -I into the source tree
check "out-of-tree driver compiles" cc $cflags -Wall -Wextra -Werror -shared -fPIC \
  -o "$T/example-log.so" "$TOP/contrib/plugin-example/example.c"
expect "it exports exactly one symbol" "example_log_LTX_berth_plugin_entry" "$(nm -D --defined-only "$T/example-log.so" | awk '$2=="T"{print $3}')"
write_conf
printf 'log: { driver = "%s"; };\n' "$T/example-log.so" >>"$T/daemon.conf"
start_daemon || fail "berthd starts with the example driver"
expect_match "berthd lists it" "log +example-log +0.1.0 +ABI 1.0 +$T/example-log.so" "$(berth info 2>/dev/null)"
expect "and uses it" "example-log" "$(docker info --format '{{.LoggingDriver}}')"
expect_match "the driver logged through the host table" "log-driver example-log: example log driver ready" "$(cat "$T/berthd.log")"
stop_daemon
finish
