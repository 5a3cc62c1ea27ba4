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
out=$(bash "$TOP/tests/abi/check.sh" "$T/stage/usr/local/include" 2>&1)
expect_match "the installed headers' ABI is the committed 1.0 baseline (abidiff)" "^ok 1" "$out"
[ "${out#ok}" = "$out" ] && printf '%s\n' "$out" | head -20
export PKG_CONFIG_SYSROOT_DIR="$T/stage" PKG_CONFIG_PATH="$T/stage/usr/local/lib/pkgconfig"
cflags=$(pkg-config --cflags berth-plugin)
expect_match "pkg-config berth-plugin" "-I$T/stage/usr/local/include" "$cflags"
abi=$(pkg-config --variable=abi berth-plugin)
expect "pkg-config --variable=abi berth-plugin is the headers' BERTH_ABI_MAJOR.MINOR" \
  "$(awk '/define BERTH_ABI_MAJOR/{M=$3} /define BERTH_ABI_MINOR/{m=$3} END{sub("u","",M); sub("u","",m); print M"."m}' "$T/stage/usr/local/include/berth/plugin.h")" "$abi"
# build with nothing but the staged headers: no -I into the source tree
check "out-of-tree driver compiles" cc $cflags -Wall -Wextra -Werror -shared -fPIC \
  -o "$T/example-log.so" "$TOP/contrib/plugin-example/example.c"
expect "it exports exactly one symbol" "example_log_LTX_berth_plugin_entry" "$(nm -D --defined-only "$T/example-log.so" | awk '$2=="T"{print $3}')"
write_conf
# by absolute path, with settings of every type (a size given as "64k")
printf 'log: { driver = "%s"; example-log: { prefix = "exo"; stamp = true; max-line = "64k"; }; };\n' \
  "$T/example-log.so" >>"$T/daemon.conf"
start_daemon || fail "berthd starts with the example driver"
expect_match "berthd lists it" "log +example-log +0.2.0 +ABI 1.3 +$T/example-log.so" "$(berth info 2>/dev/null)"
expect "and uses it" "example-log" "$(docker info --format '{{.LoggingDriver}}')"
expect_match "the driver logged through the host table" "log-driver example-log: example log driver ready" "$(cat "$T/berthd.log")"
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
id=$(berth run -d busybox sh -c 'echo one; echo two >&2; sleep 0.2; echo three')
berth wait "$id" >/dev/null
expect "a container runs with the driver given by path (berth-shim loads that file)" 0 "$(berth inspect -f '{{.State.ExitCode}}' "$id")"
expect "berth logs reads it back" "$(printf 'one\nthree')" "$(berth logs "$id" 2>/dev/null)"
expect "docker logs: stderr apart" "two" "$(docker logs "$id" 2>&1 >/dev/null)"
expect "docker logs --tail 1" "three" "$(docker logs --tail 1 "$id" 2>/dev/null)"
expect_match "the sink wrote with the configured prefix" "^[0-9]+ 1 exo: one$" "$(head -1 "$T/data/log/example-log/$id.log")"
settings_d=$(grep -o 'example-log settings: .*' "$T/berthd.log" | head -1 | tr -d '"')
settings_s=$(grep -o 'example-log settings: .*' "$T/data/containers/$id/shim.log" | head -1 | tr -d '"')
echo "#   berthd: $settings_d"
echo "#   shim:   $settings_s"
expect "the driver has the same settings in berthd and in berth-shim" "$settings_d" "$settings_s"
expect_match "all types arrived (a string, a boolean, a size)" "prefix=exo stamp=1 max-line=65536" "$settings_s"
berth rm -f "$id" >/dev/null
stop_daemon

# a driver built against the frozen 1.0 headers runs in this berthd
mkdir -p "$T/abi10"
check "a driver builds against the frozen 1.0 headers (tests/abi/1.0)" cc -I"$TOP/tests/abi/1.0" \
  -Wall -Wextra -Werror -shared -fPIC -o "$T/abi10/example-log.so" "$TOP/contrib/plugin-example/example.c"
write_conf
printf 'log: { driver = "%s"; };\n' "$T/abi10/example-log.so" >>"$T/daemon.conf"
start_daemon || fail "berthd starts with the 1.0 driver"
id=$(berth run -d busybox sh -c 'echo from-1.0')
berth wait "$id" >/dev/null
expect "the 1.0 driver writes and reads a container's log" "from-1.0" "$(berth logs "$id" 2>&1)"
berth rm -f "$id" >/dev/null
stop_daemon

# contrib's registry driver (a registry in a directory), by path: push,
# remove, pull back; the layout is plain files
check "contrib's registry example builds from the installed headers" cc $cflags -Wall -Wextra -Werror -shared -fPIC \
  -o "$T/dir-registry.so" "$TOP/contrib/registry-example/dir-registry.c" -lcrypto
write_conf
printf 'registry: { driver = "%s"; dir-registry: { root = "%s"; }; };\n' "$T/dir-registry.so" "$T/regdir" >>"$T/daemon.conf"
start_daemon || fail "berthd starts with it"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
berth tag busybox:latest offline.example/team/bb:1
check "push into the directory" berth push offline.example/team/bb:1
check "a tag file and blobs are there" test -s "$T/regdir/team/bb/tags/1" -a -d "$T/regdir/team/bb/blobs/sha256"
id_before=$(berth image inspect -f '{{.Id}}' offline.example/team/bb:1)
berth rmi offline.example/team/bb:1 busybox:latest >/dev/null
check "pull it back" berth pull offline.example/team/bb:1
expect "the same image" "$id_before" "$(berth image inspect -f '{{.Id}}' offline.example/team/bb:1 2>&1)"
expect "and it runs" pulled "$(berth run --rm offline.example/team/bb:1 echo pulled 2>&1)"
out=$(berth pull offline.example/team/nothing:1 2>&1)
expect_match "a missing image: docker's not-found message" "manifest unknown|not found" "$out"
stop_daemon

# a file that calls itself like the built-in is refused, not half-used
sed -e 's/.name = "example-log"/.name = "json-file"/' -e 's/BERTH_PLUGIN(example_log/BERTH_PLUGIN(json_file/' "$TOP/contrib/plugin-example/example.c" >"$T/json-file.c"
cc $cflags -shared -fPIC -o "$T/json-file.so" "$T/json-file.c" 2>/dev/null
write_conf
printf 'log: { driver = "%s"; };\n' "$T/json-file.so" >>"$T/daemon.conf"
: >"$T/berthd.log"
"$BERTHD" --config-file "$T/daemon.conf" >>"$T/berthd.log" 2>&1
expect_match "a .so shadowing the built-in json-file is refused at start" "calls itself 'json-file', the name of a built-in log driver" "$(cat "$T/berthd.log")"
finish
