#!/usr/bin/env bash
# Client compatibility (issue 14, first part): behaviours real clients depend
# on, through the docker CLI and docker-py: kill returns after the exit,
# attach logs=1 with and without stream, -w of a missing directory, swarm's
# and managed plugins' answers, info's RegistryConfig, a daemon.json refused
# with a pointer to docs/daemon-conf.md.
. "$(dirname "$0")/lib.sh"

# a docker daemon.json: refused, pointing at the equivalents
printf '{ "data-root": "%s/dj" }\n' "$T" >"$T/daemon.json"
out=$("$BERTHD" --config-file "$T/daemon.json" 2>&1); rc=$?
expect "a daemon.json stops berthd" 1 "$rc"
expect_match "and says where the daemon.conf equivalents are" "not docker's daemon.json; docs/daemon-conf.md" "$out"

write_conf
cat >>"$T/daemon.conf" <<CONF
registry: { driver = "distribution"; distribution: { mirrors = "mirror.example:5000"; insecure = "reg.example:5000"; }; };
CONF
start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null

# ---- kill returns once the container has stopped ----
docker run -d --name k1 busybox sleep 300 >/dev/null
docker kill k1 >/dev/null
expect "kill (SIGKILL): inspect right after shows it stopped, with 137" "false 137" "$(docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' k1)"
docker run -d --name k2 busybox sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' >/dev/null
sleep 0.3
docker kill -s TERM k2 >/dev/null
for _ in $(seq 1 50); do [ "$(docker inspect -f '{{.State.Running}}' k2)" = false ] && break; sleep 0.1; done
expect "kill -s TERM: the container's own handler decides" "7" "$(docker inspect -f '{{.State.ExitCode}}' k2)"

# ---- attach with logs ----
docker run -d --name a1 busybox sh -c 'echo first; echo second; sleep 300' >/dev/null
for _ in $(seq 1 50); do [ "$(docker logs a1 2>&1 | wc -l)" = 2 ] && break; sleep 0.1; done
out=$(timeout 10 python3 - "unix://$SOCK" <<'PY' 2>&1
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1]).containers.get("a1")
print(c.attach(stdout=True, stderr=True, logs=True, stream=False).decode().split())
PY
)
expect "attach logs=1&stream=0: the logs, then the end (no hang)" "['first', 'second']" "$out"
docker rm -f a1 >/dev/null

# ---- -w of a directory that is not there ----
expect "-w /not/there: made, as docker does" "/not/there" "$(docker run --rm -w /not/there busybox pwd)"
out=$(docker run --rm -w /etc/passwd busybox pwd 2>&1)
expect "-w of a file: docker's exit code" 125 "$?"
expect_match "in dockerd's words (SetupWorkingDirectory)" "^docker: Error response from daemon: Cannot mkdir: /etc/passwd is not a directory" "$out"
# a bind of a file onto a directory and the other way round: runc's words
# and dockerd's hint (its translateContainerdStartErr)
hint="Are you trying to mount a directory onto a file \\(or vice-versa\\)\\? Check if the specified host path exists and is the expected type" # as a regular expression
echo x >"$T/afile"
out=$(docker run --rm -v "$T/afile:/tmp" busybox true 2>&1)
expect "-v FILE:/DIR: docker's exit code" 125 "$?"
expect_match "in runc's words, with dockerd's hint" "error during container init: error mounting \"$T/afile\" to rootfs at \"/tmp\": mount $T/afile:/tmp \(via /proc/self/fd/[0-9]+\), flags: 0x5000: not a directory: unknown: $hint" "$out"
expect_match "-v DIR:/FILE: the same" "error mounting \"$T\" to rootfs at \"/etc/passwd\": mount $T:/etc/passwd \(via /proc/self/fd/[0-9]+\), flags: 0x5000: not a directory: unknown: $hint" "$(docker run --rm -v "$T:/etc/passwd" busybox true 2>&1)"
docker run -d --name wfile busybox sleep 60 >/dev/null
expect_match "exec -w of a file: runc's chdir words and dockerd's hint" "chdir to cwd \(\"/etc/passwd\"\) set in config.json failed: not a directory: unknown: $hint" "$(docker exec -w /etc/passwd wfile true 2>&1)"
docker rm -f wfile >/dev/null

# ---- swarm and managed plugins ----
expect_match "GET /swarm: docker's 503" "This node is not a swarm manager" "$(curl -s --unix-socket "$SOCK" http://x/swarm)"
expect "its status is 503" "503" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://x/services)"
expect_match "swarm leave: not part of a swarm" "This node is not part of a swarm" "$(docker swarm leave 2>&1)"
expect_match "docker node ls: the same 503 text" "This node is not a swarm manager" "$(docker node ls 2>&1)"
expect "GET /plugins: []" "[]" "$(curl -s --unix-socket "$SOCK" http://x/plugins)"
expect "docker plugin ls: the empty table" "ID        NAME      DESCRIPTION   ENABLED" "$(docker plugin ls 2>&1)"
expect_match "docker plugin install: refused, pointing at berth's drivers" "berth plugin ls" "$(docker plugin install --grant-all-permissions vieux/sshfs 2>&1)"
out=$(python3 - "unix://$SOCK" <<'PY' 2>&1
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
try:
    c.swarm.reload()
except docker.errors.APIError as e:
    print(e.response.status_code)
print(c.plugins.list())
PY
)
expect "docker-py: swarm.reload() gets the 503, plugins.list() is empty" "503
[]" "$out"

# ---- info: RegistryConfig ----
expect "info: the mirrors" '["mirror.example:5000"]' "$(docker info -f '{{json .RegistryConfig.Mirrors}}')"
# what the cgroups can hold, looked up as dockerd's sysinfo does
oom=false; [ -e /sys/fs/cgroup/memory/memory.oom_control ] && oom=true
expect "info: OomKillDisable as the host's cgroups have it (v1's memory.oom_control)" "$oom" "$(docker info -f '{{.OomKillDisable}}')"
expect_match "info: an insecure registry" "reg.example:5000" "$(docker info 2>/dev/null | sed -n '/Insecure Registries/,/^ [A-Z]/p')"

# ---- the other behaviours clients depend on ----
docker run -d --name e1 busybox sleep 300 >/dev/null
docker exec e1 nosuchcmd >/dev/null 2>&1
expect "exec of a missing executable: 126, as docker's exec (run keeps 127)" "126 127" \
  "$(docker exec e1 nosuchcmd >/dev/null 2>&1; echo -n "$? "; docker run --rm busybox nosuchcmd >/dev/null 2>&1; echo $?)"
out=$(python3 - "unix://$SOCK" <<'PY' 2>&1
import docker, sys
cl = docker.APIClient(base_url=sys.argv[1])
e = cl.exec_create("e1", "tty", tty=False)
print(cl.exec_start(e["Id"], tty=True).decode().strip())
PY
)
expect_match "exec start's Tty (docker-py sends it there) gives a terminal" "^/dev/pts/" "$out"
docker pause e1 >/dev/null
expect "exec into a paused container: exit 1 from both CLIs" "1 1" \
  "$(berth exec e1 true >/dev/null 2>&1; echo -n "$? "; docker exec e1 true >/dev/null 2>&1; echo $?)"
docker unpause e1 >/dev/null
expect "--group-add: a number and a name the image's /etc/group knows (root: 0, already the primary)" "0 1234" \
  "$(docker run --rm --group-add 1234 --group-add root busybox id -G)"
expect_match "--group-add of an unknown name: refused at start" "Unable to find group nosuchgroup" \
  "$(docker run --rm --group-add nosuchgroup busybox true 2>&1)"
expect "Runtime: berth in inspect, as in info" "berth berth" \
  "$(docker inspect -f '{{.HostConfig.Runtime}}' e1) $(docker info -f '{{.DefaultRuntime}}')"
expect_match "--runtime runc: refused, not ignored, in dockerd's words" "Unknown runtime specified runc" "$(docker run --rm --runtime runc busybox true 2>&1)"
expect_match "an IpcMode docker does not know: refused in docker's words" 'Invalid IPC mode: bogus' \
  "$(curl -s -X POST -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"IpcMode":"bogus"}}' --unix-socket "$SOCK" http://x/containers/create)"

# ---- prune's space, load's errors, import -c ONBUILD ----
docker run --name p1 busybox sh -c 'head -c 300000 /dev/zero >/big' >/dev/null
expect_match "container prune: the space its layer held" "Total reclaimed space: 30[0-9](\.[0-9]+)?kB" "$(docker container prune -f 2>&1)"
head -c 2000 /dev/urandom >"$T/garbage.tar"
out=$(curl -s -X POST --unix-socket "$SOCK" -H 'Content-Type: application/x-tar' --data-binary @"$T/garbage.tar" http://x/images/load -w '\n%{http_code}')
expect_match "load of a bad archive: 200 and the error in the stream, as docker" '^\{"errorDetail":\{"message":"Error processing tar file\(exit status 1\): archive/tar: invalid tar header' "$out"
expect "its status" "200" "$(tail -1 <<<"$out")"
expect "docker load prints it in dockerd's words" "Error processing tar file(exit status 1): archive/tar: invalid tar header" "$(docker load <"$T/garbage.tar" 2>&1)"
expect "a cut archive: dockerd's words" "Error processing tar file(exit status 1): unexpected EOF" "$(docker save busybox | head -c 5000 | docker load 2>&1)"
berth save busybox | berth import -c 'ONBUILD RUN echo x' - onb:1 >/dev/null 2>&1 || true
tar -C "$T" -cf "$T/one.tar" garbage.tar
docker import -c 'ONBUILD RUN echo hi' "$T/one.tar" onb:1 >/dev/null
expect "import -c 'ONBUILD …' accepted" '["RUN echo hi"]' "$(docker image inspect -f '{{json .Config.OnBuild}}' onb:1)"

# ---- berth's prunes, docker's output ----
berth run --name p2 busybox true >/dev/null
out=$(berth container prune -f)
shape() { sed -E 's/[0-9a-f]{64}/ID/; s/(space: ).*/\1N/' <<<"$1" | xargs -d '\n' printf '%s|'; }
expect "berth container prune -f: the ids, a blank line, the total (docker's lines)" \
  "Deleted Containers:|ID||Total reclaimed space: N|" "$(shape "$out")"
berth tag busybox doomed:1
berth rmi doomed:1 >/dev/null
berth volume create >/dev/null
out=$(berth system prune -f --volumes)
expect "berth system prune --volumes: a Deleted Volumes section with the volume" "Deleted Volumes:|ID|" \
  "$(shape "$(sed -n '/^Deleted Volumes:/,/^$/p' <<<"$out" | sed '/^$/d')")"
expect "and one total, last" "Total reclaimed space: N" "$(tail -1 <<<"$out" | sed -E 's/(space: ).*/\1N/')"
expect_match "berth system prune without -f asks first" "WARNING! This will remove:" "$(echo n | berth system prune 2>&1)"

# ---- the berth CLI's flag grammar (pflag's) ----
for i in 1 2 3 4; do berth run --name g$i busybox true >/dev/null; done
expect "ps -n=2 (a value after =)" "2" "$(berth ps -a -q -n=2 | wc -l)"
expect "ps -n2 (a value glued on)" "2" "$(berth ps -a -q -n2 | wc -l)"
expect "-d=false: a bool's value after =" "in the foreground" "$(berth run --rm -d=false busybox echo in the foreground)"
expect "combined short flags -itd" "true true" "$(id=$(berth run -itd busybox sh); berth inspect -f '{{.Config.Tty}} {{.Config.OpenStdin}}' "$id"; berth rm -f "$id" >/dev/null)"
expect "-e=A=1" "1" "$(berth run --rm -e=A=1 busybox sh -c 'echo $A')"
expect "berth -v names the ABI it speaks" "berth version 0.1.0, plugin ABI 1.3" "$(berth -v)"
berth rm g1 g2 g3 g4 >/dev/null

# ---- docs/compat.md names exactly the endpoints the route tables serve ----
have=$(grep -ho '{"\(GET\|POST\|PUT\|DELETE\|HEAD\)", "[^"]*"' "$TOP"/core/api/*.c | sed 's/{"\([A-Z]*\)", "\([^"]*\)"/\1 \2/' | sort -u)
doc=$(sed -n 's/^| `\([A-Z]* \/[^`]*\)` |.*/\1/p' "$TOP/docs/compat.md" | sort -u)
expect "docs/compat.md lists every route berthd serves, and no other" "$have" "$doc"

# ---- /sys/fs/cgroup: the container's own cgroups (cgroup namespace), read-only ----
expect "/proc/self/cgroup: every hierarchy rooted at the container's cgroup" "0" "$(docker run --rm busybox cat /proc/self/cgroup | grep -cv ':/$')"
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
  expect "-m 64m: memory.max of its own cgroup, seen inside" "67108864" "$(docker run --rm -m 64m busybox cat /sys/fs/cgroup/memory.max)"
  ro_path=/sys/fs/cgroup/x
else
  expect "-m 64m: memory.limit_in_bytes of its own cgroup, seen inside (v1)" "67108864" "$(docker run --rm -m 64m busybox cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
  v1_hiers=$(for e in /sys/fs/cgroup/*; do [ "$(stat -f -c %T "$e")" = cgroup2fs ] || echo "${e##*/}"; done | sort | paste -sd' ')
  expect "the host's v1 hierarchies are all there (and its cpu -> cpu,cpuacct link); a hybrid host's cgroup2 is not, as with runc" "$v1_hiers" "$(docker run --rm busybox ls /sys/fs/cgroup | sort | paste -sd' ')"
  expect "pids/cgroup.procs holds only the container's processes (cat, its pid 1)" "1" "$(docker run --rm busybox cat /sys/fs/cgroup/pids/cgroup.procs)"
  ro_path=/sys/fs/cgroup/memory/x
fi
expect_match "read-only" "Read-only file system" "$(docker run --rm busybox mkdir "$ro_path" 2>&1)"
docker run -d --name cgx busybox sleep 300 >/dev/null
expect "an exec joins that cgroup namespace too" "0" "$(docker exec cgx cat /proc/self/cgroup | grep -cv ':/$')"
expect_match "while the host sees the container's cgroup" "$(docker inspect -f '{{.Id}}' cgx)" "$(cat /proc/"$(docker inspect -f '{{.State.Pid}}' cgx)"/cgroup)"
docker rm -f cgx >/dev/null

# ---- --shm-size, --ulimit, --oom-score-adj, --sysctl honoured ----
expect "--shm-size 16m: /dev/shm's size" "16384" "$(docker run --rm --shm-size 16m busybox df -k /dev/shm | awk 'NR==2 {print $2}')"
expect "--ulimit nofile=1024:2048 (and nproc) in the process" "1024 2048 77" "$(docker run --rm --ulimit nofile=1024:2048 --ulimit nproc=77 busybox sh -c 'ulimit -n; ulimit -Hn; ulimit -u' | paste -sd' ')"
docker run -d --name ul --ulimit nofile=1500:1500 busybox sleep 300 >/dev/null
expect "and in an exec" "1500" "$(docker exec ul sh -c 'ulimit -n')"
docker rm -f ul >/dev/null
expect "--ulimit above the hard limit berthd has: runc's words, as docker shows them" "docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error setting rlimits for ready process: error setting rlimit type 7: operation not permitted: unknown" "$(docker run --rm --ulimit nofile=900000:900000 busybox true 2>&1 | head -1)"
expect "--oom-score-adj 500" "500" "$(docker run --rm --oom-score-adj 500 busybox cat /proc/self/oom_score_adj)"
expect_match "--oom-score-adj out of range: docker's 400" "range for oom score adj is \[-1000, 1000\]" "$(docker run --rm --oom-score-adj 2000 busybox true 2>&1)"
expect "--sysctl net.ipv4.ip_unprivileged_port_start=80 and kernel.shmmni, in the container's namespaces" "80 1234" "$(docker run --rm --sysctl net.ipv4.ip_unprivileged_port_start=80 --sysctl kernel.shmmni=1234 busybox sh -c 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni' | paste -sd' ')"
expect "the host's untouched" "$(cat /proc/sys/kernel/shmmni)" "$(cat /proc/sys/kernel/shmmni)"
# dockerd 20.10's defaults in a network namespace of the container's own
expect "its own network namespace: ports below 1024 and ping sockets for every process (dockerd's default sysctls)" "0 0 2147483647" "$(docker run --rm --network none busybox cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range | xargs)"
expect_match "so a process of uid 1000 listens on port 80" "timed out" "$(docker run --rm --network none -u 1000 busybox nc -l -p 80 -w 1 2>&1)"
expect "--sysctl overrides one, the other default stays" "80 0 2147483647" "$(docker run --rm --network none --sysctl net.ipv4.ip_unprivileged_port_start=80 busybox cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range | xargs)"
sid=$(docker create --network none busybox true)
expect "HostConfig.Sysctls does not show the defaults" "null" "$(docker inspect "$sid" --format '{{json .HostConfig.Sysctls}}')"
docker rm "$sid" >/dev/null
expect "--network host: the host's values" "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" "$(docker run --rm --network host busybox cat /proc/sys/net/ipv4/ip_unprivileged_port_start)"
docker run -d --name sysown --network none --sysctl net.ipv4.ip_unprivileged_port_start=500 busybox sleep 60 >/dev/null
expect "--network container:X: X's values, not the defaults (as dockerd)" "500" "$(docker run --rm --network container:sysown busybox cat /proc/sys/net/ipv4/ip_unprivileged_port_start)"
docker rm -f sysown >/dev/null
expect_match "--sysctl of a namespace the container shares with the host: refused (the docker CLI checks first; the API too)" "is not in a separate kernel namespace" "$(curl -s --unix-socket "$SOCK" -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"Sysctls":{"vm.swappiness":"1"}}}' http://x/v1.43/containers/create)"
expect_match "--sysctl net.* with --network host: refused" "not allowed in host network namespace" "$(docker run --rm --network host --sysctl net.core.somaxconn=100 busybox true 2>&1)"

# ---- fields berth does not implement: a 400 naming the field, never ignored ----
for f in "--gpus all" "--cgroup-parent x" "--storage-opt size=1G" "--security-opt systempaths=unconfined"; do
  # shellcheck disable=SC2086
  expect_match "docker run $f: refused, naming the field" "is not supported by berth yet" "$(docker run --rm $f busybox true 2>&1)"
done

# ---- exec DetachKeys: the client's stream ends, the process runs on ----
docker run -d --name dk busybox sleep 300 >/dev/null
out=$(timeout 20 python3 - "$SOCK" <<'PY' 2>&1
import socket, sys, json, time, http.client
path = sys.argv[1]
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(path)
def post(url, body):
    c = C("x"); c.request("POST", url, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse(); return r.status, r.read()
st, b = post("/v1.43/containers/dk/exec", {"Cmd": ["sh", "-c", "cat >/tmp/in; sleep 1; touch /tmp/done"],
             "AttachStdin": True, "AttachStdout": True, "AttachStderr": True, "DetachKeys": "ctrl-x"})
eid = json.loads(b)["Id"]
bad, _ = post("/v1.43/containers/dk/exec", {"Cmd": ["true"], "DetachKeys": "ctrl-"})
s = socket.socket(socket.AF_UNIX); s.connect(path)
body = json.dumps({"Detach": False, "Tty": False}).encode()
s.sendall(b"POST /v1.43/exec/%s/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (eid.encode(), len(body)) + body)
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
t = time.time()
s.sendall(b"hello\x18world")
s.settimeout(5)
while s.recv(4096):
    pass
ended = time.time() - t
c = C("x"); c.request("GET", "/v1.43/exec/%s/json" % eid); running = json.loads(c.getresponse().read())["Running"]
print(bad, "ended-early" if ended < 0.8 else "ended %.2f" % ended, "running" if running else "not-running")
PY
)
expect "exec DetachKeys: a bad one 400; the sequence ends the stream at once; the process runs on" "400 ended-early running" "$out"
expect "what came before the keys reached the process, nothing after" "hello" "$(docker exec dk cat /tmp/in)"
for _ in $(seq 1 30); do docker exec dk test -f /tmp/done 2>/dev/null && break; sleep 0.1; done
check "and it finished its work after the detach" docker exec dk test -f /tmp/done
docker rm -f dk >/dev/null

# ---- inspect: docker's whole HostConfig and NetworkSettings for a client that sent little ----
# docker-py and compose send only what they set and read members they did
# not send; docker's are Go structs, every member always there
out=$(python3 - "$SOCK" <<'PY' 2>&1
import http.client, json, socket, sys
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sys.argv[1])
def call(m, p, b=None):
    c = C("x"); c.request(m, p, json.dumps(b) if b is not None else None, {"Content-Type": "application/json"})
    r = c.getresponse(); return r.status, json.loads(r.read() or b"null")
st, _ = call("POST", "/v1.41/containers/create?name=sparse", {"Image": "busybox", "Cmd": ["true"]})
_, j = call("GET", "/v1.41/containers/sparse/json")
hc, ns = j["HostConfig"], j["NetworkSettings"]
# dockerd 20.10's members for this very body
want = ("Binds ContainerIDFile LogConfig NetworkMode PortBindings RestartPolicy AutoRemove VolumeDriver "
        "VolumesFrom CapAdd CapDrop CgroupnsMode Dns DnsOptions DnsSearch ExtraHosts GroupAdd IpcMode Cgroup "
        "Links OomScoreAdj PidMode Privileged PublishAllPorts ReadonlyRootfs SecurityOpt UTSMode UsernsMode "
        "ShmSize ConsoleSize Isolation CpuShares Memory NanoCpus CgroupParent BlkioWeight BlkioWeightDevice "
        "BlkioDeviceReadBps BlkioDeviceWriteBps BlkioDeviceReadIOps BlkioDeviceWriteIOps CpuPeriod CpuQuota "
        "CpuRealtimePeriod CpuRealtimeRuntime CpusetCpus CpusetMems Devices DeviceCgroupRules DeviceRequests "
        "KernelMemory KernelMemoryTCP MemoryReservation MemorySwap MemorySwappiness OomKillDisable PidsLimit "
        "Ulimits CpuCount CpuPercent IOMaximumIOps IOMaximumBandwidth MaskedPaths ReadonlyPaths").split()
print("created" if st == 201 else st, "hc-missing:", [k for k in want if k not in hc] or "none")
print(hc["Memory"], hc["CpuShares"], hc["PidsLimit"], hc["MemorySwappiness"], hc["ShmSize"], hc["IpcMode"],
      hc["CgroupnsMode"], hc["ConsoleSize"], "/proc/kcore" in hc["MaskedPaths"], hc["ReadonlyPaths"][0])
nwant = ("Bridge SandboxID HairpinMode LinkLocalIPv6Address LinkLocalIPv6PrefixLen Ports SandboxKey "
         "SecondaryIPAddresses SecondaryIPv6Addresses EndpointID Gateway GlobalIPv6Address GlobalIPv6PrefixLen "
         "IPAddress IPPrefixLen IPv6Gateway MacAddress Networks").split()
print("ns-missing:", [k for k in nwant if k not in ns] or "none", "labels:", j["Config"]["Labels"],
      "aliases:", [n["Aliases"] for n in ns["Networks"].values()])
# inspect's HostConfig sent back as a create's (runlike, copies of a container): accepted
st, r = call("POST", "/v1.41/containers/create?name=again", {"Image": "busybox", "Cmd": ["true"], "HostConfig": hc})
print("round-trip:", st, r.get("message", ""))
bad = dict(hc, MaskedPaths=["/proc/kcore"])
st, r = call("POST", "/v1.41/containers/create?name=bad", {"Image": "busybox", "Cmd": ["true"], "HostConfig": bad})
print("other-masks:", st)
PY
)
expect_match "a create of Image and Cmd alone: inspect has every HostConfig member dockerd 20.10 shows" "^created hc-missing: none$" "$(sed -n 1p <<<"$out")"
expect "with docker's values for the unset (0, null, 64 MiB of shm, private namespaces, the masked paths)" \
  "0 0 None None 67108864 private private [0, 0] True /proc/bus" "$(sed -n 2p <<<"$out")"
expect "NetworkSettings has docker's members, Config.Labels is {} (not null), no aliases on none" \
  "ns-missing: none labels: {} aliases: [None]" "$(sed -n 3p <<<"$out")"
expect "inspect's HostConfig sent back to create is accepted (its MaskedPaths are berth's own)" "round-trip: 201 " "$(sed -n 4p <<<"$out")"
expect "MaskedPaths other than the defaults stay refused" "other-masks: 400" "$(sed -n 5p <<<"$out")"
expect "the docker CLI's template reads a member the client never sent (as against dockerd 20.10)" "0 0 <no value>" \
  "$(docker inspect -f '{{.HostConfig.CpuShares}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}' sparse)"
docker rm -f sparse again >/dev/null 2>&1

# ---- the process's groups, as dockerd 20.10.24 sets them (run and exec) ----
mkdir -p "$T/gctx"
printf 'FROM busybox\nRUN echo "wheel:x:10:root,ann" >> /etc/group && echo "ann:x:1001:1001::/home:/bin/sh" >> /etc/passwd\n' >"$T/gctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t gimg "$T/gctx" >/dev/null 2>&1
expect "-u 1000:1000 (no passwd entry): the primary group is also a supplementary one" "uid=1000 gid=1000 groups=1000" "$(docker run --rm -u 1000:1000 busybox id)"
expect "-u ann: the groups listing it, and its primary one" "uid=1001(ann) gid=1001 groups=10(wheel),1001" "$(docker run --rm -u ann gimg id)"
expect "-u ann:1234: the group given, no memberships" "uid=1001(ann) gid=1234 groups=1234" "$(docker run --rm -u ann:1234 gimg id)"
docker run -d --name gx --group-add 777 gimg sleep 300 >/dev/null
expect "exec: --group-add holds for execs too" "uid=0(root) gid=0(root) groups=0(root),10(wheel),777|uid=1001(ann) gid=1001 groups=10(wheel),777,1001" \
  "$(docker exec gx id)|$(docker exec -u ann gx id)"
expect "exec -u of an unknown user: docker's words alone, 126" "unable to find user nobody: no matching entries in passwd file 126" \
  "$(docker exec -u nobody gx id 2>&1 | tr -d '\r') $(docker exec -u nobody gx id >/dev/null 2>&1; echo $?)"
expect_match "exec of a missing program: the runtime's words, ending as runc's (CR LF, as dockerd's)" 'exec: "nosuch": executable file not found in \$PATH: unknown'$'\r''$' "$(docker exec gx nosuch 2>&1)"

# ---- a start that fails: nothing ran, so nothing exited ----
out=$(docker run --name fs1 busybox nosuchcmd 2>&1); rc=$?
expect "docker run of a missing program: 127, and only docker's error (no \"Error waiting\" line)" "127 1" "$rc $(grep -c 'Error response from daemon' <<<"$out")$(grep -c 'Error waiting' <<<"$out" | sed 's/^0$//')"
expect "the container stays created, as docker's, with the code and the reason" "created 127 0001-01-01T00:00:00Z true" \
  "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.StartedAt}} {{ne .State.Error ""}}' fs1)"
expect "ps -a shows it Created" "Created" "$(docker ps -a --filter name=fs1 --format '{{.Status}}')"
docker rm fs1 >/dev/null
out=$(docker run --rm --name fs2 busybox nosuchcmd 2>&1); rc=$?
expect "docker run --rm of a missing program: 127, no \"Error waiting\", the container gone" "127 0 0" \
  "$rc $(grep -c 'Error waiting' <<<"$out") $(docker ps -aq --filter name=fs2 | wc -l)"

# ---- docker update through the docker CLI (it sends PidsLimit null, Go's unset pointer) ----
out=$(docker update --memory 128m --memory-swap 256m gx 2>&1)
expect "docker update --memory 128m --memory-swap 256m: done" "gx" "$out"
expect "and inspect shows it" "134217728 268435456" "$(docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' gx)"
docker rm -f gx >/dev/null

# ---- tmpfs mounts, /dev, ps's COMMAND: as dockerd 20.10.24 shows them ----
expect_match "--tmpfs: docker's noexec,nosuid,nodev by default" "^tmpfs /t tmpfs rw,nosuid,nodev,noexec" "$(docker run --rm --tmpfs /t busybox grep ' /t ' /proc/mounts)"
expect "--tmpfs /t:exec: exec lifts the default (it was a failed start: EINVAL from tmpfs)" "tmpfs /t tmpfs rw,nosuid,nodev,relatime 0 0" "$(docker run --rm --tmpfs /t:exec busybox grep ' /t ' /proc/mounts 2>&1)"
expect_match "--mount type=tmpfs: the same defaults, its size kept" "rw,nosuid,nodev,noexec,relatime,size=1024k" "$(docker run --rm --mount type=tmpfs,destination=/t,tmpfs-size=1m busybox grep ' /t ' /proc/mounts)"
want=$([ -e /proc/kcore ] && echo yes || echo no)
expect "/dev/core only where the kernel has /proc/kcore (runc's rule)" "$want" "$(docker run --rm busybox sh -c '[ -L /dev/core ] && echo yes || echo no')"
docker create --name cmdq busybox sh -c 'echo a b' >/dev/null
expect "ps's COMMAND quotes an argument with a space, as docker's" "\"sh -c 'echo a b'\"" "$(docker ps -a --no-trunc --filter name=cmdq --format '{{.Command}}')"
docker rm cmdq >/dev/null

# ---- logs --tail of a word, swap without memory, --platform: as dockerd 20.10.24 ----
docker run -d --name tl busybox sh -c 'echo one; echo two; sleep 300' >/dev/null
for _ in $(seq 1 30); do [ "$(docker logs tl 2>&1 | wc -l)" = 2 ] && break; sleep 0.1; done
expect "logs --tail=abc: all of it, as docker (a count it cannot read is no limit)" "one two" "$(docker logs --tail=abc tl | xargs)"
docker rm -f tl >/dev/null
expect_match "--memory-swap without --memory: docker's refusal at create" "You should always set the Memory limit when using Memoryswap limit, see usage" \
  "$(docker run --rm --memory-swap 10m busybox true 2>&1)"
expect "--platform of the image's own: it runs" "ok" "$(docker run --rm --platform linux/$(docker image inspect -f '{{.Architecture}}' busybox) busybox echo ok)"
expect_match "--platform another: create's 404 says so (the docker CLI then tries a pull)" \
  "found but does not match the specified platform: wanted linux/s390x, actual: linux/" \
  "$(curl -s -X POST -H 'Content-Type: application/json' -d '{"Image":"busybox"}' --unix-socket "$SOCK" 'http://x/v1.43/containers/create?platform=linux/s390x')"

# ---- --ipc host and --uts host, as dockerd 20.10.24 ----
expect "--uts host: the host's hostname; /etc/hostname and Config.Hostname the container's own, as docker's" \
  "$(hostname) yes" "$(docker run --name uh --uts host busybox sh -c 'hostname; cat /etc/hostname' | head -1) $([ "$(docker inspect -f '{{.Config.Hostname}}' uh)" = "$(docker logs uh | tail -1)" ] && echo yes)"
docker rm uh >/dev/null
expect_match "--uts host with --hostname: docker's conflict" "conflicting options: hostname and the UTS mode" "$(docker run --rm --uts host --hostname foo busybox true 2>&1)"
# what --network container: cannot go with (dockerd's validateNetContainerMode)
for f in "-p 80:80|port publishing and the container type network mode" "--hostname x|hostname and the network mode" \
  "--dns 1.1.1.1|dns and the network mode" "--add-host a:1.1.1.1|custom host-to-IP mapping and the network mode" \
  "--expose 80|port exposing and the container type network mode"; do
  expect_match "--network container: with ${f%%|*}: dockerd's conflict" "conflicting options: ${f#*|}" "$(docker create --network container:nosuch ${f%%|*} busybox true 2>&1)"
done
expect_match "--network host with -p: dockerd's warning, the container made" "WARNING: Published ports are discarded when using host network mode" "$(c=$(docker create --network host -p 80:80 busybox true 2>&1); echo "$c"; docker rm "$(tail -1 <<<"$c")" >/dev/null)"
expect "--ipc host: the host's ipc namespace" "$(readlink /proc/self/ns/ipc)" "$(docker run --rm --ipc host busybox readlink /proc/self/ns/ipc)"
echo "shared-$$" >"/dev/shm/berth-test-$$"
expect "--ipc host: the host's /dev/shm" "shared-$$" "$(docker run --rm --ipc host busybox cat /dev/shm/berth-test-$$ 2>&1)"
rm -f "/dev/shm/berth-test-$$"
expect_match "--ipc host with an ipc sysctl: docker's refusal" 'sysctl "kernel.msgmax" is not allowed in the hosts ipc namespace' \
  "$(docker run --rm --ipc host --sysctl kernel.msgmax=100 busybox true 2>&1)"
docker run -d --name ih --ipc host --uts host busybox sleep 300 >/dev/null
expect "an exec joins them too" "$(hostname) $(readlink /proc/self/ns/ipc)" "$(docker exec ih sh -c 'echo $(hostname) $(readlink /proc/self/ns/ipc)')"
docker rm -f ih >/dev/null

# ---- --pid host: the host's processes, and nothing of the container outlives it ----
expect "--pid host: the host's pid namespace" "$(readlink /proc/self/ns/pid)" "$(docker run --rm --pid host busybox readlink /proc/self/ns/pid)"
expect "--pid host: the host's processes in its /proc (this shell's pid among them)" "yes" "$(docker run --rm --pid host busybox sh -c "[ -d /proc/$$ ] && echo yes")"
expect "--pid host: the process is not PID 1" "no" "$(berth run --rm --pid host busybox sh -c '[ $$ = 1 ] && echo yes || echo no')"
docker run -d --name ph --pid host busybox sh -c 'sleep 2400 & sleep 2401 & sleep 1; exit 3' >/dev/null
phid=$(docker inspect -f '{{.Id}}' ph)
expect "--pid host: the container's exit code" 3 "$(docker wait ph)"
sleep 0.5
expect "--pid host: its background processes are killed with it (as runc's delete kills them)" 0 "$(pgrep -fc 'sleep 240[01]')"
check "--pid host: its cgroup is gone" test ! -e "/sys/fs/cgroup/pids/berth/$phid" -a ! -e "/sys/fs/cgroup/berth/$phid"
docker rm ph >/dev/null
docker run -d --name ph --pid host --init busybox sleep 300 >/dev/null
expect "--pid host --init: an exec sees the host's processes too" "yes" "$(docker exec ph sh -c "[ -d /proc/$$ ] && echo yes")"
docker rm -f ph >/dev/null
docker run -d --name ph --pid host busybox sleep 300 >/dev/null
expect "--pid host: stop's SIGTERM ends it (143; a PID 1 of its own would ignore it and be killed, 137)" 143 "$(docker stop -t 30 ph >/dev/null; docker inspect -f '{{.State.ExitCode}}' ph)"
docker rm -f ph >/dev/null
# ---- --pid container:<name>: another container's processes, as docker's ----
docker run -d --name pt busybox sleep 2402 >/dev/null
expect "--pid container:pt: its processes (its sleep is PID 1 there)" "1 sleep 2402" \
  "$(docker run --rm --pid container:pt busybox ps -o pid,args | awk '$2 == "sleep" {print $1, $2, $3}')"
docker run -d --name pj --pid container:pt busybox sh -c 'sleep 2403 & sleep 1; exit 5' >/dev/null
expect "--pid container: the joiner's exit code" 5 "$(docker wait pj)"
sleep 0.5
expect "--pid container: what the joiner left running is killed with it" "" "$(docker exec pt ps -o stat,args | awk '$2 == "sleep" && $3 == "2403" && $1 !~ /Z/')"
expect "inspect keeps the mode by the container's id, as docker's" "container:$(docker inspect -f '{{.Id}}' pt)" "$(docker inspect -f '{{.HostConfig.PidMode}}' pj)"
docker rm pj >/dev/null
expect "--pid container: of a missing container: docker's 400 at create" '{"message":"No such container: berth-no-such"} 400' \
  "$(curl -s -w ' %{http_code}' -X POST -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"PidMode":"container:berth-no-such"}}' --unix-socket "$SOCK" http://x/containers/create | tr -d '\n')"
docker create --name pc busybox true >/dev/null
expect_match "--pid container: of one not running: dockerd's words" "container $(docker inspect -f '{{.Id}}' pc) is not running" "$(docker run --rm --pid container:pc busybox true 2>&1)"
docker run -d --name pk --pid container:pt busybox sleep 2404 >/dev/null
docker stop -t 1 pt >/dev/null
expect "--pid container: the joiner ends when the one it joined does (its namespace's PID 1 takes it along)" "exited 137" \
  "$(docker wait pk >/dev/null; docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' pk)"
docker rm -f pt pk pc >/dev/null
# ---- --ipc shareable, container:<name> and none, as dockerd 20.10's ----
docker run -d --name is --ipc shareable --shm-size 8m busybox sh -c 'echo from-is >/dev/shm/x; sleep 2405' >/dev/null
isid=$(docker inspect -f '{{.Id}}' is)
check "--ipc shareable: its /dev/shm is mounted where berthd keeps the container" grep -q " $T/data/containers/$isid/shm " /proc/$DPID/mountinfo
expect "--ipc container:is: the donor's /dev/shm (its file, its size) and ipc namespace" \
  "from-is 8192 $(docker exec is readlink /proc/self/ns/ipc)" \
  "$(docker run --rm --ipc container:is busybox sh -c 'echo $(cat /dev/shm/x) $(df -k /dev/shm | awk "NR==2 {print \$2}") $(readlink /proc/self/ns/ipc)')"
docker run --rm --ipc container:is busybox sh -c 'echo from-joiner >/dev/shm/y'
expect "what a joiner writes there, the donor reads" "from-joiner" "$(docker exec is cat /dev/shm/y)"
expect "inspect keeps IpcMode by the donor's id, as docker's" "container:$isid" \
  "$(docker create --name ij --ipc container:is busybox true >/dev/null; docker inspect -f '{{.HostConfig.IpcMode}}' ij)"
docker stop -t 0 is >/dev/null
check "the donor stopped: its /dev/shm is unmounted" sh -c "! grep -q '$isid/shm' /proc/$DPID/mountinfo"
expect_match "--ipc container: of one not running: docker's words" "can't join IPC of container $isid: container $isid is not running" "$(docker start ij 2>&1)"
docker start is >/dev/null
expect "started again, it is joinable again (a new, empty /dev/shm, as docker's)" "from-is" "$(docker start -a ij >/dev/null; docker run --rm --ipc container:is busybox sh -c 'echo $(cat /dev/shm/x) $(cat /dev/shm/y 2>/dev/null)')"
docker run -d --name ip busybox sleep 2406 >/dev/null
expect_match "--ipc container: of a private one: docker's refusal" "can't join IPC of container $(docker inspect -f '{{.Id}}' ip): non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)" \
  "$(docker run --rm --ipc container:ip busybox true 2>&1)"
expect "--ipc container: of a missing container: docker's 400 at create" '{"message":"No such container: berth-no-such"} 400' \
  "$(curl -s -w ' %{http_code}' -X POST -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"IpcMode":"container:berth-no-such"}}' --unix-socket "$SOCK" http://x/containers/create | tr -d '\n')"
docker run -d --name ih --ipc host busybox sleep 2407 >/dev/null
expect "--ipc container: of one on the host's ipc: the host's namespace" "$(readlink /proc/self/ns/ipc)" "$(berth run --rm --ipc container:ih busybox readlink /proc/self/ns/ipc)"
expect "--ipc none: no /dev/shm at all, an ipc namespace of its own" "no $(readlink /proc/self/ns/ipc)" \
  "$(docker run --rm --ipc none busybox sh -c '[ -e /dev/shm ] && echo yes || echo no; readlink /proc/self/ns/ipc' | { read -r a; read -r b; [ "$b" = "$(readlink /proc/self/ns/ipc)" ] && echo "$a host" || echo "$a $(readlink /proc/self/ns/ipc)"; })"
docker rm -f is ij ip ih >/dev/null
check "no shareable /dev/shm left mounted" sh -c "! grep -q '$T/data/containers/.*/shm' /proc/$DPID/mountinfo"
expect "a container of its own keeps its own pid namespace" "no" "$([ "$(docker run --rm busybox readlink /proc/self/ns/pid)" = "$(readlink /proc/self/ns/pid)" ] && echo yes || echo no)"
expect "a container of its own keeps its own ipc namespace" "no" "$([ "$(docker run --rm busybox readlink /proc/self/ns/ipc)" = "$(readlink /proc/self/ns/ipc)" ] && echo yes || echo no)"

# ---- Env, ports and exec's user as dockerd 20.10 shows them ----
docker create --name envsrc busybox true >/dev/null
docker commit -c 'ENV B=2' -c 'ENV Z=9' -c 'EXPOSE 91' envsrc envimg >/dev/null
docker rm envsrc >/dev/null
# one -e: the docker CLI 28 sends several in an order of its own (dockerd shows it too)
docker create --name envo -e Z=0 --expose 90 envimg sleep 300 >/dev/null
expect "Config.Env: the create's first, then the image's it does not set (docker's merge)" \
  '["Z=0","B=2"]' "$(docker inspect -f '{{json .Config.Env}}' envo | sed 's/,"PATH=[^"]*"//')"
expect "created: no ports shown, exposed or not (docker fills them at start)" '{} ' \
  "$(docker inspect -f '{{json .NetworkSettings.Ports}}' envo) $(docker ps -a --filter name=envo --format '{{.Ports}}')"
docker start envo >/dev/null
expect "running: the exposed ones, the create's and the image's" '{"90/tcp":null,"91/tcp":null} 90-91/tcp' \
  "$(docker inspect -f '{{json .NetworkSettings.Ports}}' envo) $(docker ps --filter name=envo --format '{{.Ports}}')"
expect "the process's environment in docker's order: PATH, HOSTNAME, the container's, HOME last" \
  "PATH HOSTNAME Z B HOME" "$(docker exec envo env | cut -d= -f1 | xargs)"
expect "HOME of a user the image's passwd lacks: / (runc's, as docker's; berth said /root)" "/ /root" \
  "$(docker exec -u 4242 envo sh -c 'echo $HOME') $(docker exec envo sh -c 'echo $HOME')"
eid=$(curl -s -X POST -H 'Content-Type: application/json' -d '{"Cmd":["true"]}' --unix-socket "$SOCK" http://x/containers/envo/exec | python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])')
expect "an exec's ProcessConfig: no user member when none was asked (docker's omitempty)" '{"arguments":[],"entrypoint":"true","privileged":false,"tty":false}' \
  "$(curl -s --unix-socket "$SOCK" http://x/exec/$eid/json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["ProcessConfig"], sort_keys=True, separators=(",",":")))')"
docker stop -t 0 envo >/dev/null
expect "exited: no ports shown again" '{} ' \
  "$(docker inspect -f '{{json .NetworkSettings.Ports}}' envo) $(docker ps -a --filter name=envo --format '{{.Ports}}')"
docker rm envo >/dev/null
docker rmi envimg >/dev/null
# --domainname (was refused): the uts namespace's domain name (its hosts
# line: network.sh, where the container has an address)
expect "--domainname: the kernel's domain name, and inspect's" "d1 d1" \
  "$(docker run --rm --hostname h1 --domainname d1 busybox cat /proc/sys/kernel/domainname) $(dn=$(docker create --domainname d1 busybox true); docker inspect -f '{{.Config.Domainname}}' "$dn"; docker rm "$dn" >/dev/null)"
# --entrypoint "": docker's [""] clears the image's entrypoint and its Cmd
docker create --name epb busybox true >/dev/null
docker commit --change 'ENTRYPOINT ["echo","ep"]' --change 'CMD ["c1"]' epb epimg >/dev/null
# commit's HEALTHCHECK (a Dockerfile instruction, dockerd's checks and words)
docker commit -c 'HEALTHCHECK --interval=5s --retries=2 CMD ["true"]' epb hcimg2 >/dev/null
expect "commit -c HEALTHCHECK: the image's Healthcheck" '{"Test":["CMD","true"],"Interval":5000000000,"Retries":2}' "$(docker image inspect -f '{{json .Config.Healthcheck}}' hcimg2; docker rmi hcimg2 >/dev/null)"
expect_match "a bad interval: Go's words, as dockerd" 'Error response from daemon: time: invalid duration "zz"$' "$(docker commit -c 'HEALTHCHECK --interval=zz CMD true' epb x 2>&1)"
expect_match "an instruction commit does not take: dockerd's lower-case name" "run is not a valid change command" "$(docker commit -c 'RUN x' epb x 2>&1)"
expect "STOPSIGNAL is not one of dockerd 20.10's change commands" "Error response from daemon: stopsignal is not a valid change command" "$(docker commit -c 'STOPSIGNAL 9' epb x 2>&1)"
expect "an instruction alone: dockerd's parser's words, without its prefix" \
  "Error response from daemon: USER requires exactly one argument|Error response from daemon: ENV requires at least one argument" \
  "$(docker commit -c 'USER' epb x 2>&1)|$(docker commit -c 'ENV' epb x 2>&1)"
expect "CMD alone: the shell alone; ENTRYPOINT alone or [] keeps the container's (dockerd's merge)" \
  '["/bin/sh","-c"] null|["true"] ["/bin/echo"]|["true"] ["/bin/echo"]' \
  "$(docker image inspect -f '{{json .Config.Cmd}} {{json .Config.Entrypoint}}' "$(docker commit -c 'CMD' epb)")|$(e=$(docker create --entrypoint /bin/echo busybox true); docker image inspect -f '{{json .Config.Cmd}} {{json .Config.Entrypoint}}|' "$(docker commit -c 'ENTRYPOINT' "$e")" | tr -d '\n'; docker image inspect -f '{{json .Config.Cmd}} {{json .Config.Entrypoint}}' "$(docker commit -c 'ENTRYPOINT []' "$e")"; docker rm "$e" >/dev/null)"
out=$(curl -s -X POST --unix-socket "$SOCK" 'http://x/containers/epb/wait?condition=bogus' -w ' %{http_code}')
expect "wait with a condition dockerd does not know: not-running, as dockerd 20.10 (at once for a created one), its members in dockerd's order" '{"Error":null,"StatusCode":0} 200' "$(tr -d '\n' <<<"$out")"
docker rm epb >/dev/null
expect "an image's ENTRYPOINT and CMD" "ep c1" "$(docker run --rm epimg 2>&1)"
epid=$(docker create --entrypoint "" epimg echo y)
expect "--entrypoint \"\": Entrypoint null (as dockerd stores it), the command as given" 'null ["echo","y"] echo' \
  "$(docker inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Path}}' "$epid"; docker rm "$epid" >/dev/null)"
expect_match "--entrypoint \"\" and no command: docker's refusal (the image's CMD is not taken)" "No command specified" "$(docker run --rm --entrypoint "" epimg 2>&1; docker rmi epimg >/dev/null)"
expect "an image without Env, a create without -e: Config.Env null, Volumes null (the docker CLI sends {})" "null null" \
  "$(docker create --name envn busybox true >/dev/null; docker inspect -f '{{json .Config.Volumes}}' envn) $(curl -s -X POST -H 'Content-Type: application/json' -d '{"Image":"busybox","Volumes":{}}' --unix-socket "$SOCK" http://x/containers/create?name=envn2 >/dev/null; docker inspect -f '{{json .Config.Env}}' envn2 | sed 's/\["PATH=[^"]*"\]/null/')"
docker rm envn envn2 >/dev/null

# ---- system df: the images docker's list shows, with their shared bytes ----
mkdir -p "$T/dfctx"
printf 'FROM busybox\nENV A=1\nRUN echo x > /x\n' >"$T/dfctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t dfimg "$T/dfctx" >/dev/null 2>&1
out=$(python3 - "$SOCK" <<'PY'
import http.client, json, socket, sys
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sys.argv[1])
def get(p):
    c = C("x"); c.request("GET", p); return json.loads(c.getresponse().read())
df, listed, every = get("/v1.43/system/df"), get("/v1.43/images/json"), get("/v1.43/images/json?all=1")
ids = sorted(i["Id"] for i in df["Images"])
bb = [i for i in df["Images"] if "busybox:latest" in (i["RepoTags"] or [])][0]
print(len(every) > len(listed), ids == sorted(i["Id"] for i in listed), bb["SharedSize"] == bb["Size"] > 0)
PY
)
expect "df lists what images lists (no intermediate build step), busybox's layers shared with dfimg" "True True True" "$out"
docker rmi dfimg >/dev/null

# ---- stats: cgroup v1's memory high-water mark, as docker shows it there ----
docker run -d --name st1 busybox sleep 300 >/dev/null
out=$(curl -s --unix-socket "$SOCK" "http://x/v1.41/containers/st1/stats?stream=0" |
  python3 -c 'import json,sys; m=json.load(sys.stdin)["memory_stats"]; print("max_usage" in m and m["max_usage"] >= m["usage"] > 0, "max_usage" in m)')
if [ -d /sys/fs/cgroup/memory ]; then
  expect "stats on cgroup v1: memory_stats.max_usage, at least the usage" "True True" "$out"
else
  expect "stats on cgroup v2: no max_usage (docker has none there)" "False False" "$out"
fi
docker rm -f st1 >/dev/null

# ---- info: the host's members docker shows ----
curl -s -N --unix-socket "$SOCK" http://x/events >/dev/null 2>&1 &
evpid=$!
sleep 0.3
out=$(python3 - "unix://$SOCK" <<'PY' 2>&1
import docker, os, sys, datetime
i = docker.APIClient(base_url=sys.argv[1]).info()
osv = [l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("VERSION_ID=")][0]
t = datetime.datetime.strptime(i["SystemTime"][:19], "%Y-%m-%dT%H:%M:%S")
print(i["NFd"] > 3, i["NGoroutines"] > 1, i["NEventsListener"] >= 1, i["OSVersion"] == osv,
      abs((datetime.datetime.utcnow() - t).total_seconds()) < 60, i["InitBinary"], i["Labels"],
      sorted(k for k in ("ContainerdCommit", "RuncCommit", "InitCommit", "HttpProxy", "NoProxy",
                         "KernelMemory", "BridgeNfIptables", "GenericResources", "Isolation") if k not in i),
      sorted(i["RegistryConfig"]))
PY
)
kill "$evpid" 2>/dev/null
expect "info: NFd, NGoroutines, NEventsListener (an events client), OSVersion, SystemTime and the rest of docker's members" \
  "True True True True True berth-init [] [] ['AllowNondistributableArtifactsCIDRs', 'AllowNondistributableArtifactsHostnames', 'IndexConfigs', 'InsecureRegistryCIDRs', 'Mirrors']" "$out"
expect_match "docker info prints them (containerd/runc lines come out empty: berth has neither)" "Init Binary: berth-init" "$(docker info 2>&1)"

docker rm -f k1 k2 e1 >/dev/null 2>&1
# last: it takes the images no container uses
out=$(berth image prune -a -f)
expect "berth image prune -a -f: docker's lines (a title, untagged:, deleted: sha256:, the total last)" \
  "Deleted Images: yes yes Total" \
  "$(head -1 <<<"$out") $(grep -q '^untagged: busybox:latest$' <<<"$out" && echo yes) $(grep -Eq '^deleted: sha256:[0-9a-f]{64}$' <<<"$out" && echo yes) $(tail -1 <<<"$out" | cut -d' ' -f1)"
expect "prune -a takes an image and the parent a child of it held (gimg FROM busybox): none left" "0" "$(docker images -q | wc -l)"
finish
