#!/usr/bin/env bash
# Filters of the listings and prunes, as dockerd 20.10 applies them (each
# expectation was taken from dockerd with the same docker CLI): ps's every
# key, images', volumes', networks', and the prunes' label, label! and
# until; the messages and that a bad value never takes berthd down.  Runs
# in a network and mount namespace of its own (ps --filter publish needs a
# published port).
if [ -z "${BERTH_NETNS_TEST:-}" ]; then
  exec env BERTH_NETNS_TEST=1 unshare --net --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up
trap cleanup EXIT

write_conf
printf 'network: { drivers = [ "none", "host", "bridge" ]; default = "bridge"; };\n' >>"$T/daemon.conf"
start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
printf 'FROM busybox\nLABEL built=yes\n' | docker build -q -t child - >/dev/null 2>&1

names() { docker ps -a --filter "$1" --format '{{.Names}}' 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
err() { docker "$@" 2>&1 >/dev/null | tail -1; }

docker run -d --name f1 --label a=1 --label b -p 127.0.0.1:18080:80 --expose 90/udp busybox sleep 300 >/dev/null
docker run --name f2 --label a=2 busybox sh -c 'exit 3'
docker create --name f3 -v /data --network none busybox true >/dev/null
docker create --name f4 -v vv:/x child true >/dev/null

# ---- ps ----
expect "status=exited" "f2" "$(names status=exited)"
expect "status=created" "f4 f3" "$(names status=created)"
expect "exited=3 (a created one never exited)" "f2" "$(names exited=3)"
expect "exited=0 takes no created container" "" "$(names exited=0)"
expect "label=a, label=a=1, label=b" "f2 f1|f1|f1" "$(names label=a)|$(names label=a=1)|$(names label=b)"
expect "name is a regular expression, with or without the /" "f1|f1|f4 f3 f2 f1" "$(names 'name=^f1$')|$(names 'name=^/f1$')|$(names name=f)"
expect "a name that is no expression matches nothing" "" "$(names 'name=[')"
expect "ancestor takes the images built on it" "f4 f3 f2 f1|f4" "$(names ancestor=busybox)|$(names ancestor=child)"
expect "ancestor of no image: none" "" "$(names ancestor=nope)"
expect "volume by destination and by name" "f3|f4|f4" "$(names volume=/data)|$(names volume=vv)|$(names volume=/x)"
expect "before and since: by creation" "f1|f4 f3" "$(names before=f2)|$(names since=f2)"
expect "network by name" "f3|f4 f2 f1" "$(names network=none)|$(names network=bridge)"
expect "publish: the host's port, while running" "f1||f1" "$(names publish=18080)|$(names publish=80)|$(names publish=18000-18100/tcp)"
expect "expose: the container's ports, published or not" "f1|f1|" "$(names expose=80)|$(names expose=90/udp)|$(names expose=90)"
expect "is-task=false: all; true: none (no swarm)" "f4 f3 f2 f1|" "$(names is-task=false)|$(names is-task=true)"
expect "isolation: every container, as on Linux dockerd" "f4 f3 f2 f1" "$(names isolation=hyperv)"
expect "an unknown key" "Error response from daemon: Invalid filter 'bogus'" "$(err ps --filter bogus=1)"
expect "label!: not a ps key" "Error response from daemon: Invalid filter 'label!'" "$(err ps --filter 'label!=a')"
expect "a bad status" "Error response from daemon: Invalid filter 'status=bogus'" "$(err ps --filter status=bogus)"
expect "a bad exit code" 'Error response from daemon: strconv.Atoi: parsing "x": invalid syntax' "$(err ps --filter exited=x)"
expect "a bad is-task" "Error response from daemon: Invalid filter 'is-task=[x]'" "$(err ps --filter is-task=x)"
expect "before of no container" "Error response from daemon: no such container nope" "$(err ps --filter before=nope)"
expect "publish with a colon" "Error response from daemon: filter for 'publish' should not contain ':': 1:2" "$(err ps --filter publish=1:2)"
expect "a reversed range" "Error response from daemon: error while looking up for publish 90-80: Invalid range specified for the Port: 90-80" "$(err ps --filter publish=90-80)"
code() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -G http://x/v1.41/containers/json --data-urlencode "filters=$1"; }
expect "HTTP: bad JSON 500, an unknown key 400, the old array form 200" "500 400 200" "$(code notjson) $(code '{"bogus":{"x":true}}') $(code '{"name":["f1"]}')"
expect "HTTP: a value's false is no different (docker's)" "f1" "$(curl -s --unix-socket "$SOCK" -G http://x/v1.41/containers/json --data-urlencode 'filters={"name":{"^/f1$":false}}' | jq -r '.[].Names[0][1:]')"

# ---- images ----
inames() { docker images --filter "$1" --format '{{.Repository}}' 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
expect "images: dangling takes true or false only" "Error response from daemon: Invalid filter 'dangling=[1]'" "$(err images --filter dangling=1)"
# no crash: the value was read after the filters were freed (stop 30)
expect "images: dangling=x, and berthd still answers" "Error response from daemon: Invalid filter 'dangling=[x]'|OK" "$(err images --filter dangling=x)|$(curl -s --unix-socket "$SOCK" http://x/_ping)"
expect "images: before of no image" "Error response from daemon: No such image: nope:latest" "$(err images --filter before=nope)"
expect "images: label and reference" "child|busybox child" "$(inames label=built)|$(docker images --filter 'reference=*' --format '{{.Repository}}' | sort | tr '\n' ' ' | sed 's/ $//')"
expect "images: a bad pattern" "Error response from daemon: syntax error in pattern" "$(err images --filter 'reference=[')"

# ---- volumes and networks ----
docker volume create --label k=v vola >/dev/null
docker volume create volb >/dev/null
docker network create --label k=v neta >/dev/null
# (la$: f3's anonymous volume is 64 hex digits, one in 16 of them ends in a)
expect "volume ls: name is an expression" "vola volb|vola" "$(docker volume ls -q --filter 'name=^vol' | tr '\n' ' ' | sed 's/ $//')|$(docker volume ls -q --filter 'name=la$')"
expect "volume ls: a bad dangling" "Error response from daemon: Invalid filter 'dangling=[x]'" "$(err volume ls --filter dangling=x)"
expect "network ls: name is an expression" "neta" "$(docker network ls --filter 'name=^ne' --format '{{.Name}}')"
expect "network ls: a bad type" "Error response from daemon: invalid filter: 'type'='x'" "$(err network ls --filter type=x)"
expect "network ls: a bad dangling" 'Error response from daemon: invalid value for filter '"'"'dangling'"'"', must be "true" (or "1"), or "false" (or "0")' "$(err network ls --filter dangling=x)"
expect "network ls: unknown key" "Error response from daemon: Invalid filter 'bogus'" "$(err network ls --filter bogus=1)"

# ---- prunes ----
docker create --name p1 --label keep=1 busybox true >/dev/null
docker create --name p2 busybox true >/dev/null
expect "container prune: a bad until" 'Error response from daemon: failed to parse value as time or duration: "abc"' "$(err container prune -f --filter until=abc)"
expect "container prune: two untils" "Error response from daemon: more than one until filter specified" "$(err container prune -f --filter until=1h --filter until=2h)"
expect "container prune: an unknown key" "Error response from daemon: Invalid filter 'bogus'" "$(err container prune -f --filter bogus=1)"
docker container prune -f --filter until=1h >/dev/null
expect "until=1h takes none made in the last hour" "p2 p1" "$(names name=p)"
docker container prune -f --filter until=2000-01-01T00:00:00Z >/dev/null
docker container prune -f --filter until=946684800 >/dev/null
expect "nor before a date, in either form" "p2 p1" "$(names name=p)"
docker container prune -f --filter 'label!=keep' >/dev/null
expect "label!=keep keeps the labelled one" "p1" "$(names name=p)"
expect "the running one is never pruned" "f1" "$(names status=running)"
docker container prune -f --filter until=2100-01-01T10 >/dev/null
expect "until a date to come takes it" "" "$(names name=p)"
expect "network prune: until and label" "neta|" "$(docker network prune -f --filter until=1h; docker network ls -q --filter name=neta | wc -l | sed 's/^1$/neta/;s/^0$//')|$(docker network prune -f --filter until=2100-01-01 --filter label=k >/dev/null; docker network ls -q --filter name=neta)"
expect "image prune: a bad until" 'Error response from daemon: failed to parse value as time or duration: "abc"' "$(err image prune -f --filter until=abc)"
expect "volume prune: until is not its key" "Error response from daemon: Invalid filter 'until'" "$(err volume prune -f --filter until=1h)"
docker rm -f f1 >/dev/null
docker rmi child >/dev/null
docker tag busybox keepme:1
printf 'FROM busybox\nLABEL x=1\n' | docker build -q -t lab:1 - >/dev/null 2>&1
docker image prune -a -f --filter label=nope >/dev/null
expect "image prune -a with a label filter spares the rest" "keepme lab" "$(docker images --format '{{.Repository}}' | grep -E '^(keepme|lab)$' | sort | tr '\n' ' ' | sed 's/ $//')"
docker image prune -a -f --filter label=x >/dev/null
expect "and takes what it names" "keepme" "$(docker images --format '{{.Repository}}' | grep -E '^(keepme|lab)$' | tr '\n' ' ' | sed 's/ $//')"

check_stops "berthd stops"
finish
