#!/usr/bin/env bash
# Events (issue 14): GET /events through the docker CLI, docker-py and
# curl: every action docker emits for containers, execs, images, networks
# and volumes, in docker's shape (current and legacy fields); since/until
# in the past, and after a restart of berthd (the persisted tail); the
# filters; a live stream; a subscriber that never reads is dropped and
# does not hold the daemon up.
if [ -z "${BERTH_NETNS_TEST:-}" ]; then # a bridge: in a network namespace of its own
  exec env BERTH_NETNS_TEST=1 unshare --net --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up
write_conf
printf 'network: { drivers = [ "none", "host", "bridge" ]; default = "bridge"; };\n' >>"$T/daemon.conf"
start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
T0=$(date +%s)

# ---- a live stream, from before the actions ----
docker events --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}}' >"$T/live.out" 2>&1 &
LIVE=$!
sleep 0.3

# ---- container actions ----
# names that are not hex: a container= filter matches an id prefix too (as
# docker's), and a random id beginning "e3" once matched a container "e3"
docker run -d --name ev1 --label team=a busybox sleep 300 >/dev/null
docker pause ev1 >/dev/null
docker unpause ev1 >/dev/null
docker rename ev1 ev2
docker exec ev2 true
docker stop -t 1 ev2 >/dev/null
docker start ev2 >/dev/null
docker kill ev2 >/dev/null
docker rm ev2 >/dev/null
docker run --name ev3 busybox sh -c 'exit 3' >/dev/null 2>&1
docker rm ev3 >/dev/null
docker run -d --name ev4 busybox sleep 300 >/dev/null
docker top ev4 >/dev/null
docker export ev4 >/dev/null
echo hi >"$T/cpin"
docker cp "$T/cpin" ev4:/tmp/cpin
docker cp ev4:/tmp/cpin "$T/cpout"
docker rm -f ev4 >/dev/null
# ---- images, networks, volumes ----
docker tag busybox evtag:1
docker rmi evtag:1 >/dev/null
docker save busybox -o "$T/save.tar"
docker load -i "$T/save.tar" >/dev/null
docker network create evnet >/dev/null
docker volume create evvol >/dev/null
docker run --rm --network evnet -v evvol:/data busybox true
docker network rm evnet >/dev/null
docker volume rm evvol >/dev/null
sleep 1.1
T1=$(date +%s)

ev() { docker events --since "$T0" --until "$T1" "$@" 2>&1; }
all=$(ev --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}')
want="container create ev1
container start ev1
container pause ev1
container unpause ev1
container rename ev2
container exec_create: true  ev2
container exec_start: true  ev2
container exec_die ev2
container kill ev2
container kill ev2
container die ev2
container stop ev2
container start ev2
container kill ev2
container die ev2
container destroy ev2
container create ev3
container attach ev3
container start ev3
container die ev3
container destroy ev3"
got=$(printf '%s\n' "$all" | grep -E '^container .* ev[123]$')
expect "every container action, in order, through docker events --since/--until" "$want" "$got"
expect_match "tag with the new name" "^image tag evtag:1$" "$all"
expect_match "untag, named by the image's id (docker's)" "^image untag sha256:[0-9a-f]{64}$" "$all"
expect_match "save, named by the id (docker's)" "^image save sha256:[0-9a-f]{64}$" "$all"
expect_match "load, named by the id (docker's; its names come as tag events)" "^image load sha256:[0-9a-f]{64}$" "$all"
expect_match "network create" "^network create evnet$" "$all"
expect_match "network connect (the --rm container's start)" "^network connect evnet$" "$all"
expect_match "network disconnect" "^network disconnect evnet$" "$all"
expect_match "network destroy" "^network destroy evnet$" "$all"
expect_match "volume create" "^volume create" "$all"
expect_match "volume mount" "^volume mount" "$all"
expect_match "volume unmount" "^volume unmount" "$all"
expect_match "volume destroy" "^volume destroy" "$all"
rmseq=$(printf '%s\n' "$all" | sed -n '/^network create evnet$/,/^network destroy evnet$/p' | grep -v '^volume create' | sed 's/^\(container [a-z]*\) .*/\1/; s/ <no value>$//')
expect "a --rm container on a network with a volume: dockerd's order (connect before the volume's mount, die before the disconnect and the unmount)" "network create evnet
container create
container attach
network connect evnet
volume mount
container start
container die
network disconnect evnet
volume unmount
container destroy
network destroy evnet" "$rmseq"

# attributes
expect "die carries exitCode" "3" "$(ev --filter event=die --filter container=ev3 --format '{{.Actor.Attributes.exitCode}}')"
expect "kill carries the signal (stop: 15, then 9 after -t 1 as sleep ignores TERM; kill: 9)" "15 9 9" "$(ev --filter event=kill --filter container=ev2 --format '{{.Actor.Attributes.signal}}' | tr '\n' ' ' | sed 's/ $//')"
expect "top, export, cp in (extract-to-dir) and out (archive-path), with the path" "top export extract-to-dir:/tmp archive-path:/tmp/cpin" "$(ev --filter container=ev4 --filter event=top --filter event=export --filter event=extract-to-dir --filter event=archive-path --format '{{.Action}}{{with .Actor.Attributes.path}}:{{.}}{{end}}' | paste -sd' ')"
expect "rename carries oldName" "/ev1" "$(ev --filter event=rename --format '{{.Actor.Attributes.oldName}}')"
expect "labels are attributes" "a" "$(ev --filter event=create --filter type=container --filter container=ev1 --format '{{.Actor.Attributes.team}}')"
expect "image is an attribute, and the legacy from" "busybox busybox" "$(ev --filter event=create --filter container=ev1 --format '{{.Actor.Attributes.image}} {{.From}}')"
expect "exec_die carries the execID and exitCode" "1 0" "$(ev --filter event=exec_die --format '{{if .Actor.Attributes.execID}}1{{end}} {{.Actor.Attributes.exitCode}}')"

# the wire shape, by curl
raw=$(curl -s --unix-socket "$SOCK" "http://x/v1.43/events?since=$T0&until=$T1")
line=$(printf '%s\n' "$raw" | grep '"Action":"create"' | grep '"Type":"container"' | head -1)
expect_match "container events carry the legacy status/id/from first" '^\{"status":"create","id":"[0-9a-f]{64}","from":"busybox","Type":"container","Action":"create","Actor":\{"ID":"[0-9a-f]{64}","Attributes":\{' "$line"
expect_match "and scope, time, timeNano" '"scope":"local","time":[0-9]{10},"timeNano":[0-9]{19}\}$' "$line"
nline=$(printf '%s\n' "$raw" | grep '"Type":"network","Action":"create"' | head -1)
expect_match "network events have no legacy fields" '^\{"Type":"network","Action":"create","Actor":\{"ID":"[0-9a-f]{64}","Attributes":\{"name":"evnet","type":"bridge"\}\}' "$nline"
cline=$(printf '%s\n' "$raw" | grep '"Type":"network","Action":"connect"' | grep '"name":"evnet"' | head -1)
expect_match "Attributes sorted by key, as dockerd's Go map (container, name, type)" '"Attributes":\{"container":"[0-9a-f]{64}","name":"evnet","type":"bridge"\}' "$cline"
mline=$(printf '%s\n' "$raw" | grep '"Type":"volume","Action":"mount"' | head -1)
expect_match "a volume's mount carries dockerd's attributes (container, destination, driver, propagation, read/write)" '"Actor":\{"ID":"evvol","Attributes":\{"container":"[0-9a-f]{64}","destination":"/data","driver":"local","propagation":"","read/write":"true"\}\}' "$mline"
expect "every line is one JSON object" "$(printf '%s\n' "$raw" | wc -l)" "$(printf '%s\n' "$raw" | python3 -c 'import sys,json; print(sum(1 for l in sys.stdin if isinstance(json.loads(l), dict)))')"
expect "a malformed since: 400" "400" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "http://x/v1.43/events?since=yesterday")"
expect "a malformed filter: 500, as dockerd (its JSON error)" "500" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "http://x/v1.43/events?until=$T1&filters=nojson")"

# ---- filters ----
expect "type=network, network=evnet" "network network network network" "$(ev --filter type=network --filter network=evnet --format '{{.Type}}' | tr '\n' ' ' | sed 's/ $//')"
expect "event=die (two filters of a key: either): ev2 twice, ev3, ev4, the --rm one" "die die die die die" "$(ev --filter event=die --filter event=nonesuch --format '{{.Action}}' | tr '\n' ' ' | sed 's/ $//')"
expect "event=exec_create matches the action with its command (a trailing blank after a command without arguments, as dockerd joins them)" "exec_create: true " "$(ev --filter event=exec_create --format '{{.Action}}')"
expect "container= by the old name sees what happened before the rename" "create start pause unpause" "$(ev --filter container=ev1 --format '{{.Action}}' | tr '\n' ' ' | sed 's/ $//')"
expect "label=team=a: only ev1/ev2's" "0" "$(ev --filter label=team=a --format '{{.Actor.Attributes.name}}' | grep -cv '^ev[12]$')"
expect "label=team=b: nothing" "" "$(ev --filter label=team=b)"
expect "image=evtag:1: its tag (the untag names the id, as docker's)" "tag" "$(ev --filter image=evtag:1 --format '{{.Action}}' | tr '\n' ' ' | sed 's/ $//')"
expect "network=evnet: create, connect, disconnect, destroy" "create connect disconnect destroy" "$(ev --filter network=evnet --format '{{.Action}}' | tr '\n' ' ' | sed 's/ $//')"
expect "volume=evvol" "create mount unmount destroy" "$(ev --filter volume=evvol --format '{{.Action}}' | tr '\n' ' ' | sed 's/ $//')"
expect "type=image and event=tag together: both must hold" "tag" "$(ev --filter type=image --filter event=tag --format '{{.Action}}')"

# ---- berth events ----
bev=$(berth events --since "$T0" --until "$T1" --filter container=ev3 --filter event=die)
expect_match "berth events: docker's line (time, type, action, id, sorted attributes)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}(Z|[+-][0-9]{2}:[0-9]{2}) container die [0-9a-f]{64} \(exitCode=3, image=busybox, name=ev3\)$' "$bev"
expect "berth events --format with docker's Go names" "die ev3 busybox" "$(berth events --since "$T0" --until "$T1" -f container=ev3 -f event=die --format '{{.Status}} {{.Actor.Attributes.name}} {{.From}}')"
expect "berth system events --since 10m (a duration)" "$(ev | wc -l)" "$(berth system events --since 10m --until "$T1" | wc -l)"
expect_match "a bad --since" "invalid value for \"--since\": yesterday" "$(berth events --since yesterday 2>&1)"

# ---- docker-py ----
out=$(timeout 20 python3 - "unix://$SOCK" "$T0" "$T1" <<'PY' 2>&1
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
evs = list(c.events(since=int(sys.argv[2]), until=int(sys.argv[3]), decode=True, filters={"event": "destroy", "type": "container"}))
print(" ".join(e["Actor"]["Attributes"]["name"] for e in evs[:2]), len(evs), evs[0]["status"])
PY
)
expect "docker-py events(since, until, filters, decode): ev2, ev3, ev4, the --rm one" "ev2 ev3 4 destroy" "$out"

# ---- the live stream saw them as they happened ----
sleep 0.3
kill "$LIVE" 2>/dev/null; wait "$LIVE" 2>/dev/null
expect "a live docker events stream saw create..destroy of ev1/ev2" "create ev1,start ev1,pause ev1" "$(head -3 "$T/live.out" | paste -sd,)"
expect_match "and ev3's die" "^die ev3$" "$(cat "$T/live.out")"

# ---- until in the future: the stream ends then ----
s=$(date +%s.%N)
timeout 10 docker events --since "$T0" --until "$(( $(date +%s) + 2 ))" >/dev/null 2>&1
rc=$?
e=$(date +%s.%N)
expect "until 2 s ahead: the stream ends by itself" 0 "$rc"
expect "after about 2 s" 1 "$(python3 -c "print(1 if 0.8 < $e - $s < 6 else 0)")"

# ---- the tail survives a restart ----
stop_daemon
start_daemon || { fail "berthd restarts"; finish; exit 1; }
expect "after a restart, --since still finds every event of before" "$all" "$(ev --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}')"
before=$(ev | wc -l)
printf '{"status":"torn' >>"$T/data/events.jsonl"
stop_daemon
start_daemon || { fail "berthd restarts over a torn tail"; finish; exit 1; }
expect "a line cut short by a crash is skipped; the rest is kept" "$before" "$(ev | wc -l)"

# ---- a subscriber that never reads ----
out=$(timeout 120 python3 - "$SOCK" <<'PY' 2>&1
import socket, sys, time, http.client, json
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(path)
s.sendall(b"GET /v1.43/events HTTP/1.1\r\nHost: x\r\n\r\n")  # and never read
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(path)
c = C("x")
t = time.time()
worst = 0
for i in range(1800):
    a = time.time()
    c.request("POST", "/v1.43/volumes/create", json.dumps({"Name": "slow%d" % i}), {"Content-Type": "application/json"})
    c.getresponse().read()
    c.request("DELETE", "/v1.43/volumes/slow%d" % i)
    c.getresponse().read()
    worst = max(worst, time.time() - a)
print("ok" if worst < 2 else "slow %.2f" % worst)
PY
)
expect "3600 events past a subscriber that never reads: no call waits on it" "ok" "$out"
expect_match "it was dropped, with a warning" "events: a subscriber is [0-9]+ events behind; dropped" "$(cat "$T/berthd.log")"
expect "berthd still answers" "OK" "$(curl -s --unix-socket "$SOCK" http://x/_ping)"

finish
