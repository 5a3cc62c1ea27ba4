#!/usr/bin/env bash
# The log sinks besides json-file: local (compact, compressed rotation,
# read back, tail and follow across rotations) and syslog (RFC 5424/3164 to
# a listener this test makes on 127.0.0.1), chosen per container with
# --log-driver through both CLIs, or as the default by name or by path.
. "$(dirname "$0")/lib.sh"

start_daemon || fail "berthd starts"
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
expect_match "local and syslog are loaded next to the default" "local.*syslog|syslog.*local" "$(docker info --format '{{.Plugins.Log}}')"
expect "json-file stays the default" json-file "$(docker info --format '{{.LoggingDriver}}')"

# ---- local ----
id=$(docker run -d --log-driver local busybox sh -c 'echo one; echo two >&2; sleep 0.2; echo three')
docker wait "$id" >/dev/null
expect "docker run --log-driver local: recorded" local "$(docker inspect -f '{{.HostConfig.LogConfig.Type}}' "$id")"
expect "docker logs reads it" "$(printf 'one\nthree')" "$(docker logs "$id" 2>/dev/null)"
expect "stderr apart" two "$(docker logs "$id" 2>&1 >/dev/null)"
expect "--tail 1" three "$(berth logs --tail 1 "$id" 2>&1)"
check "the binary file is where docker keeps it" test -s "$T/data/containers/$id/local-logs/container.log"
check_fails "and no json file is written" test -s "$T/data/containers/$id/$id-json.log"
out=$(berth logs -t "$id" 2>&1 | head -1)
expect_match "timestamps come back" "^20[0-9-]+T[0-9:.]+Z one$" "$out"

# rotation: 2000 lines of ~40 bytes at max-size 8k keep the newest few
# hundred, in three files, the rotated ones gzip-compressed
id=$(berth run -d --log-driver local --log-opt max-size=8k --log-opt max-file=3 busybox \
  sh -c 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo "line $i padding-padding-padding"; done')
berth wait "$id" >/dev/null
ls "$T/data/containers/$id/local-logs/" >"$T/files"
expect "three files: the live one and two compressed" "container.log container.log.1.gz container.log.2.gz" "$(tr '\n' ' ' <"$T/files" | sed 's/ $//')"
check "the rotated files are gzip" gzip -t "$T/data/containers/$id/local-logs/container.log.1.gz"
berth logs "$id" >"$T/all" 2>&1
n=$(wc -l <"$T/all")
first=$(head -1 "$T/all" | awk '{print $2}')
expect "logs ends with the last line" "line 2000 padding-padding-padding" "$(tail -1 "$T/all")"
expect "and is a contiguous run of the newest lines, across the files" "$((2000 - first + 1))" "$n"
[ "$n" -gt 200 ] && [ "$n" -lt 2000 ] && ok "rotation dropped the oldest ($n kept)" || fail "rotation dropped the oldest ($n kept)"
expect "--tail reaches back into the compressed files" "line $((2000 - n + 2)) padding-padding-padding" "$(berth logs --tail $((n - 1)) "$id" 2>&1 | head -1)"
# follow across rotations while the container writes
id=$(berth run -d --log-driver local --log-opt max-size=2k --log-opt max-file=20 busybox \
  sh -c 'sleep 1; i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo "f $i xxxxxxxxxxxxxxxxxxxx"; done; sleep 0.5')
timeout 20 berth logs -f "$id" >"$T/follow" 2>&1
expect "logs -f ends with the container" "f 300 xxxxxxxxxxxxxxxxxxxx" "$(tail -1 "$T/follow")"
expect "and saw every line, through the rotations" 300 "$(grep -c '^f ' "$T/follow")"
out=$(docker run --rm --log-driver local --log-opt bogus=1 busybox true 2>&1)
expect_match "an unknown --log-opt is refused at create, in dockerd's words" "unknown log opt 'bogus' for log driver local" "$out"
out=$(docker run --rm --log-driver local --log-opt max-size=lots busybox true 2>&1)
expect_match "a bad max-size fails the start, as dockerd's" "failed to initialize logging driver: invalid value for max-size: lots: invalid size: 'lots'" "$out"
out=$(docker run --rm --log-driver local --log-opt max-file=1 busybox true 2>&1)
expect_match "compression with one file: dockerd's refusal" "failed to initialize logging driver: compression cannot be enabled when max file count is 1" "$out"

# ---- logs --details: the attributes --log-opt labels/env name, as docker's ----
docker run --name det --label foo=bar --label 'b/z=a b&c' --log-opt labels=foo,b/z,nope -e E1=v1 -e E22=x \
  --log-opt env=E1 --log-opt env-regex='^E2' busybox sh -c 'echo hello; echo world >&2' >/dev/null 2>&1
expect "docker logs --details (json-file): sorted, each key and value query-escaped, as dockerd 20.10" \
  "E1=v1,E22=x,b%2Fz=a+b%26c,foo=bar hello|E1=v1,E22=x,b%2Fz=a+b%26c,foo=bar world" \
  "$(docker logs --details det 2>&1 | sort | paste -sd'|')"
expect_match "with -t: the time stamp before them" "^20[0-9-]+T[0-9:.]+Z E1=v1,E22=x,b%2Fz=a\+b%26c,foo=bar hello$" "$(docker logs --details -t det 2>/dev/null)"
expect "none named (the local driver takes no labels): a space before each line, as docker's" " three" \
  "$(docker run --log-driver local --name det2 busybox echo three >/dev/null; docker logs --details det2)"
docker rm det det2 >/dev/null

# ---- syslog, to listeners on loopback made here ----
cat >"$T/listen.py" <<'PY'
import socket, sys
proto, port_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
open(port_file + ".tmp", "w").write(str(s.getsockname()[1])); __import__("os").rename(port_file + ".tmp", port_file)
s.settimeout(20)
with open(out, "ab", buffering=0) as f:
    if proto == "udp":
        for _ in range(2):
            data, _a = s.recvfrom(65536); f.write(data + b"\n")
    else:
        s.listen(1); c, _a = s.accept(); c.settimeout(20)
        while True:
            b = c.recv(65536)
            if not b: break
            f.write(b)
PY
for proto in udp tcp; do
  python3 "$T/listen.py" $proto "$T/$proto.port" "$T/$proto.out" &
  lpid=$!
  for _ in $(seq 1 50); do [ -s "$T/$proto.port" ] && break; sleep 0.1; done
  port=$(cat "$T/$proto.port")
  id=$(docker run -d --name "sl-$proto" --log-driver syslog --log-opt "syslog-address=$proto://127.0.0.1:$port" \
    --log-opt 'tag={{.Name}}/{{.ID}}' busybox sh -c 'echo hello-syslog; echo oops >&2')
  docker wait "$id" >/dev/null
  wait "$lpid" 2>/dev/null
  got=$(cat "$T/$proto.out")
  expect_match "syslog over $proto: RFC 5424, facility daemon, info, the tag" "^<30>1 20[0-9T:.-]+Z [^ ]+ sl-$proto/${id:0:12} [0-9]+ sl-$proto/${id:0:12} - hello-syslog$" "$got"
  expect_match "syslog over $proto: stderr at severity err" "^<27>1 .* - oops$" "$got"
done
out=$(docker logs sl-udp 2>&1)
expect_match "docker logs on syslog: docker's message" "configured logging driver does not support reading" "$out"
out=$(berth run --rm --log-driver syslog --log-opt syslog-address=tcp://127.0.0.1:1 busybox true 2>&1)
expect_match "an unreachable syslog server fails the start, in dockerd's words" "failed to initialize logging driver: dial tcp 127.0.0.1:1: connect: connection refused" "$out"
out=$(docker create --log-driver syslog --log-opt syslog-address=unixgram:///nonexistent-berth busybox true 2>&1)
expect "a unix address that is no socket: refused at create, as dockerd" "Error response from daemon: stat /nonexistent-berth: no such file or directory" "$out"
# no address: the host's local socket, looked for as Go's log/syslog does
if [ -S /dev/log ] || [ -S /var/run/syslog ] || [ -S /var/run/log ]; then
  check "no address: the host's syslog socket" berth run --rm --log-driver syslog busybox true
else
  expect_match "no address and no local syslog socket: dockerd's words" "failed to initialize logging driver: Unix syslog delivery error" "$(berth run --rm --log-driver syslog busybox true 2>&1)"
fi
cid=$(docker create --log-driver local busybox true)
expect "LogPath: json-file's file only, \"\" for local, as docker's" "" "$(docker inspect -f '{{.LogPath}}' "$cid")"
docker rm "$cid" >/dev/null
out=$(berth run --rm --log-driver syslog --log-opt syslog-address=carrier-pigeon busybox true 2>&1)
expect_match "a bad address is refused at create" "syslog-address should be in form proto://address" "$out"
python3 "$T/listen.py" udp "$T/f.port" "$T/f.out" &
lpid=$!
for _ in $(seq 1 50); do [ -s "$T/f.port" ] && break; sleep 0.1; done
berth run --rm --log-driver syslog --log-opt "syslog-address=udp://127.0.0.1:$(cat "$T/f.port")" \
  --log-opt syslog-format=rfc3164 --log-opt syslog-facility=local3 --log-opt tag=web busybox sh -c 'echo a; echo b' >/dev/null
wait "$lpid" 2>/dev/null
expect_match "rfc3164 with facility local3" "^<158>[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]{8} [^ ]+ web\[[0-9]+\]: a$" "$(head -1 "$T/f.out")"
stop_daemon

# ---- journald, over its native protocol, to a socket made here ----
cat >"$T/journal.py" <<'PY'
import socket, struct, sys, os
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(path); s.settimeout(20)
open(out + ".ready", "w").close()
with open(out, "w") as f:
    for _ in range(2):
        d, i, fields = s.recv(65536), 0, {}
        while i < len(d):
            nl = d.index(b"\n", i); line = d[i:nl]
            if b"=" in line:
                k, v = line.split(b"=", 1); i = nl + 1
            else:  # binary-safe form: KEY\n, u64 le length, bytes, \n
                k = line; n = struct.unpack("<Q", d[nl + 1:nl + 9])[0]
                v = d[nl + 9:nl + 9 + n]; i = nl + 9 + n + 1
            fields[k.decode()] = v.decode()
        f.write(" ".join("%s=%s" % kv for kv in sorted(fields.items())) + "\n"); f.flush()
PY
python3 "$T/journal.py" "$T/journal.sock" "$T/journal.out" &
lpid=$!
for _ in $(seq 1 50); do [ -e "$T/journal.out.ready" ] && break; sleep 0.1; done
write_conf
printf 'log: { drivers = [ "journald" ]; journald: { socket = "%s"; }; };\n' "$T/journal.sock" >>"$T/daemon.conf"
start_daemon || fail "berthd starts with journald"
id=$(docker run -d --name jn --log-driver journald --log-opt tag=web busybox sh -c 'echo to-journal; sleep 0.2; echo bad >&2')
docker wait "$id" >/dev/null
wait "$lpid" 2>/dev/null
got=$(cat "$T/journal.out")
expect_match "journald: the entry has docker's fields" "^CONTAINER_ID=${id:0:12} CONTAINER_ID_FULL=$id CONTAINER_NAME=jn CONTAINER_TAG=web IMAGE_NAME=busybox MESSAGE=to-journal PRIORITY=6 SYSLOG_IDENTIFIER=web$" "$(head -1 <<<"$got")"
expect_match "stderr at priority 3" "MESSAGE=bad PRIORITY=3" "$(tail -1 <<<"$got")"
expect_match "docker logs on journald: docker's message" "does not support reading" "$(docker logs jn 2>&1)"
stop_daemon
write_conf
printf 'log: { drivers = [ "journald" ]; journald: { socket = "%s"; }; };\n' "$T/no-such.sock" >>"$T/daemon.conf"
start_daemon || fail "berthd starts when journald is not there"
expect_match "without a journal socket journald is listed as skipped, saying why" "journald.*no journal socket at $T/no-such.sock" "$(berth plugin ls 2>&1)"
out=$(berth run --rm --log-driver journald busybox true 2>&1)
expect_match "and a container asking for it is refused, in docker's words" 'error looking up logging plugin journald: plugin "journald" not found' "$out"
stop_daemon

# ---- the default, by path ----
write_conf
printf 'log: { driver = "%s"; drivers = [ ]; local: { max-size = "1m"; }; };\n' "$PLUGIN_DIR/local.so" >>"$T/daemon.conf"
start_daemon || fail "berthd starts with local.so by path as the default"
expect "the default is local" local "$(docker info --format '{{.LoggingDriver}}')"
id=$(berth run -d busybox sh -c 'echo by-path')
berth wait "$id" >/dev/null
expect "logs reads it" by-path "$(berth logs "$id" 2>&1)"
check "in the local format" test -s "$T/data/containers/$id/local-logs/container.log"
finish
