#!/usr/bin/env bash
# Networks: the bridge driver, IPAM and the sandbox, through the docker and
# berth CLIs.  Runs in a network and mount namespace of its own (made
# here), so bridges, veths and addresses never touch the machine's.
if [ -z "${BERTH_NETNS_TEST:-}" ]; then
  exec env BERTH_NETNS_TEST=1 unshare --net --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up
# the resolvers berthd forwards to and copies: one in this test's "outside"
# (below), never the machine's (a bind mount in this mount namespace only)
printf 'search example.test\nnameserver 127.0.0.53\nnameserver 10.200.0.2\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
# "outside": a namespace of this test's own behind a veth pair (its name
# file in /run/netns is removed however the script ends)
OUT="berth-out-$$"
# what runs in the peer namespace (a daemonised httpd) goes with it:
# ip netns del alone leaves its processes running
outside_gone() { ip netns pids "$OUT" 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del "$OUT" 2>/dev/null; }
trap 'outside_gone; cleanup' EXIT
ip netns add "$OUT"
ip link add out0 type veth peer name out1
ip link set out1 netns "$OUT"
ip addr add 10.200.0.1/24 dev out0 && ip link set out0 up
ip netns exec "$OUT" ip addr add 10.200.0.2/24 dev out1
ip netns exec "$OUT" ip link set out1 up
ip netns exec "$OUT" ip link set lo up
# a DNS server there: outside.example.test, NXDOMAIN for the rest
cat >"$T/dns.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    q, a = s.recvfrom(512)
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode(errors="replace")); i += 1 + q[i]
    question = q[12:i + 5]
    if ".".join(labels).lower() == "outside.example.test":
        r = q[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 1, 0, 0) + question + b"\xc0\x0c" + \
            struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(sys.argv[1])
    else:
        r = q[:2] + b"\x81\x83" + struct.pack(">HHHH", 1, 0, 0, 0) + question
    s.sendto(r, a)
PY
ip netns exec "$OUT" ip addr add 10.200.0.3/24 dev out1
ip netns exec "$OUT" python3 "$T/dns.py" 10.200.0.2 &
DNSPIDS="$!"
ip netns exec "$OUT" python3 "$T/dns.py" 10.200.0.3 & # another, answering with its own address
DNSPIDS="$DNSPIDS $!"
trap 'kill $DNSPIDS 2>/dev/null; outside_gone; cleanup' EXIT

write_conf
printf 'network: { drivers = [ "none", "host", "bridge" ]; default = "bridge"; };\n' >>"$T/daemon.conf"
start_daemon || { fail "berthd starts with the bridge driver"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null

expect "network ls: bridge, host, none" "bridge bridge
host host
none null" "$(docker network ls --format '{{.Name}} {{.Driver}}' | sort)"
expect_match "the default bridge is berth0 with 172.17.0.1/16" "172.17.0.1/16" "$(ip -4 -br addr show berth0)"
expect "docker network inspect bridge: its subnet" "172.17.0.0/16 172.17.0.1" "$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}' bridge)"
expect "the default bridge's Options: its settings, as docker's (bridge name and mtu the driver's)" \
  '{"com.docker.network.bridge.default_bridge":"true","com.docker.network.bridge.enable_icc":"true","com.docker.network.bridge.enable_ip_masquerade":"true","com.docker.network.bridge.host_binding_ipv4":"0.0.0.0","com.docker.network.bridge.name":"berth0","com.docker.network.driver.mtu":"1500"}' \
  "$(docker network inspect -f '{{json .Options}}' bridge)"
docker run -d --name ra1 busybox sleep 300 >/dev/null
docker run -d --name ra2 busybox sleep 300 >/dev/null
ra1=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' ra1)
docker rm -f ra1 >/dev/null
docker run -d --name ra3 busybox sleep 300 >/dev/null
expect "a released address is the next one out (the lowest free, as docker's IPAM)" "$ra1" "$(docker inspect -f '{{.NetworkSettings.IPAddress}}' ra3)"
docker rm -f ra2 ra3 >/dev/null
expect_match "IPAM.Options of something else than strings: docker's refusal" "cannot unmarshal number into Go struct field Options of type map\[string\]string" \
  "$(curl -s -X POST -H 'Content-Type: application/json' -d '{"Name":"ipamopt2","IPAM":{"Options":{"a":1}}}' --unix-socket "$SOCK" http://x/networks/create)"

# pools: the first default pool no network and no route of the host covers
ip route add 172.18.0.0/16 dev out0
expect "a pool a host route covers is skipped (as docker does)" "172.19.0.0/16" "$(docker network create autonet >/dev/null && docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' autonet; docker network rm autonet >/dev/null)"
ip route del 172.18.0.0/16 dev out0

# ---- the default bridge ----
docker run -d --name web busybox sleep 300 >/dev/null
docker run -d --name web2 busybox sleep 300 >/dev/null
ip1=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' web)
ip2=$(docker inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' web2)
expect_match "containers get 172.17.0.x" "^172\.17\.0\.[0-9]+ 172\.17\.0\.[0-9]+$" "$ip1 $ip2"
[ "$ip1" != "$ip2" ] && ok "two addresses, not one" || fail "two addresses, not one"
expect_match "eth0 inside has it, with the MAC docker derives" "eth0@.* 02:42:ac:11" "$(docker exec web ip -o link show eth0) $(docker exec web ip -o addr show eth0 | grep -c "$ip1")"
expect_match "the default route goes via the gateway" "default via 172.17.0.1 dev eth0" "$(docker exec web ip route)"
check "one reaches the other by address" docker exec web ping -c1 -W2 "$ip2"
check "and the host's side reaches it" busybox ping -c1 -W2 "$ip1"
expect_match "nsenter --net=<SandboxKey> enters its namespace (its address on eth0)" "eth0.* $ip1/16" \
  "$(nsenter --net="$(docker inspect -f '{{.NetworkSettings.SandboxKey}}' web)" ip -4 -br addr show eth0)"
# stats' networks: eth0's counters from the container's own namespace (lo left out, as docker's)
out=$(curl -s --unix-socket "$SOCK" "http://x/v1.43/containers/web/stats?stream=false" | python3 -c '
import json, sys
n = json.load(sys.stdin).get("networks") or {}
e = n.get("eth0", {})
print(sorted(n), e.get("rx_packets", 0) > 0 and e.get("tx_packets", 0) > 0, sorted(e))')
expect "stats: networks has eth0 (not lo), its packets counted both ways, docker's 8 counters" \
  "['eth0'] True ['rx_bytes', 'rx_dropped', 'rx_errors', 'rx_packets', 'tx_bytes', 'tx_dropped', 'tx_errors', 'tx_packets']" "$out"
expect_match "docker stats' NET I/O column is no longer 0B / 0B" "^[1-9][0-9.]*k?B / [1-9][0-9.]*k?B$" "$(docker stats --no-stream --format '{{.NetIO}}' web)"
docker run -d --name nonet --network none busybox sleep 60 >/dev/null
expect "stats of a --network none container: no networks member, as docker's" "absent" \
  "$(curl -s --unix-socket "$SOCK" "http://x/v1.43/containers/nonet/stats?stream=false" | python3 -c 'import json, sys; print("absent" if "networks" not in json.load(sys.stdin) else "there")')"
docker run -d --name hostnet --network host busybox sleep 60 >/dev/null
expect "nor of a --network host one (the host's interfaces are not its)" "absent" \
  "$(curl -s --unix-socket "$SOCK" "http://x/v1.43/containers/hostnet/stats?stream=false" | python3 -c 'import json, sys; print("absent" if "networks" not in json.load(sys.stdin) else "there")')"
docker stop -t 0 nonet >/dev/null
expect "a stopped container has no SandboxKey, as docker's" "" "$(docker inspect -f '{{.NetworkSettings.SandboxKey}}' nonet)"
docker rm -f nonet hostnet >/dev/null
expect_match "/etc/hosts has its own address and hostname" "^$ip1[[:space:]]+$(docker inspect -f '{{.Config.Hostname}}' web)$" "$(docker exec web cat /etc/hosts)"
expect "network inspect lists both containers" "web web2" "$(docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' bridge | tr ' ' '\n' | sort | xargs)"
docker run -d --name onhost --network host busybox sleep 60 >/dev/null
docker run -d --name onnone --network none busybox sleep 60 >/dev/null
expect "network inspect host and none list their running containers, as docker's" "onhost onnone" \
  "$(docker network inspect -f '{{range .Containers}}{{.Name}}{{end}}' host none | xargs)"
ep=$(docker inspect -f '{{.NetworkSettings.Networks.none.EndpointID}}' onnone)
expect_match "a none endpoint has an EndpointID while it runs, as docker's" '^[0-9a-f]{64}$' "$ep"
expect "network inspect none shows the same one" "$ep" "$(docker network inspect -f '{{range .Containers}}{{.EndpointID}}{{end}}' none)"
docker stop -t 0 onnone >/dev/null
expect "none after the exit" "" "$(docker inspect -f '{{.NetworkSettings.Networks.none.EndpointID}}' onnone)"
docker start onnone >/dev/null
expect_match "a new one for the next start" '^[0-9a-f]{64}$' "$(docker inspect -f '{{.NetworkSettings.Networks.none.EndpointID}}' onnone | grep -v "$ep")"
docker stop -t 0 onhost >/dev/null
expect "a stopped one is not listed" "" "$(docker network inspect -f '{{range .Containers}}{{.Name}}{{end}}' host)"
docker rm -f onhost onnone >/dev/null
out=$(docker run --rm --ip 172.17.0.99 busybox true 2>&1)
expect_match "--ip on the default bridge: docker's refusal" "user specified IP address is supported on user defined networks only" "$out"

# ---- a user network ----
check "network create --subnet --gateway" docker network create --subnet 10.99.0.0/24 --gateway 10.99.0.1 appnet
id=$(docker network inspect -f '{{.Id}}' appnet)
expect "network inspect: the IPAM config as given, gateway too" '[{"Subnet":"10.99.0.0/24","Gateway":"10.99.0.1"}]' "$(docker network inspect -f '{{json .IPAM.Config}}' appnet)"
expect_match "its bridge br-<12 hex> holds the gateway" "10.99.0.1/24" "$(ip -4 -br addr show "br-${id:0:12}")"
docker run -d --name db --network appnet busybox sleep 300 >/dev/null
expect "a container on it: 10.99.0.2" "10.99.0.2" "$(docker inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' db)"
# its veth is moved into the init's namespace by pid as soon as the shim
# answers: a namespace made ahead, joined by the init a moment later, would
# have raced it (eth0 missing now and then in the 50 below)
shim=$(pgrep -f "berth-shim --bundle $T/data/containers/$(docker inspect -f '{{.Id}}' db)")
args=$(tr '\0' ' ' <"/proc/${shim:-0}/cmdline" 2>/dev/null)
expect_match "its shim is found" "berth-shim --bundle" "$args"
expect "a container on a network clones its own namespace (no --netns-fd for its shim)" 0 \
  "$(grep -c -- --netns-fd <<<"$args")"
expect "--ip is honoured" "10.99.0.50" "$(docker run --rm --network appnet --ip 10.99.0.50 busybox sh -c "ip -o -4 addr show eth0 | awk '{print \$4}' | cut -d/ -f1")"
docker run -d --name ipc50 --network appnet --ip 10.99.0.51 busybox sleep 60 >/dev/null
expect "inspect's IPAMConfig is the --ip the client sent, as docker's" '{"IPv4Address":"10.99.0.51"}' "$(docker inspect -f '{{json .NetworkSettings.Networks.appnet.IPAMConfig}}' ipc50)"
docker rm -f ipc50 >/dev/null
check "it reaches db by address" docker run --rm --network appnet busybox ping -c1 -W2 10.99.0.2
# ---- names on a user network: the embedded DNS server on its gateway ----
mkdir -p "$T/www0" && echo hello-by-name >"$T/www0/index.html"
docker run -d --name webn --network appnet --network-alias frontend --hostname webhost busybox sleep 300 >/dev/null
webn_ip=$(docker inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' webn)
expect "resolv.conf on a user network: its DNS server, the host's search domains" "nameserver 10.99.0.1
options ndots:0
search example.test" "$(docker exec db cat /etc/resolv.conf | sort)"
expect "resolv.conf on the default bridge: the host's without loopback servers" "search example.test
nameserver 10.200.0.2" "$(docker exec web cat /etc/resolv.conf)"
wid=$(docker inspect -f '{{.Id}}' webn)
for n in webn frontend webhost "${wid:0:12}" WEBN; do
  expect_match "db resolves '$n' (name, alias, hostname, short id, any case)" "Address:? *(1: )?$webn_ip" "$(docker exec db nslookup "$n." 2>&1 | grep Address | tail -1)"
done
check "ping by name" docker exec db ping -c1 -W2 webn
docker run -d --name webh --network appnet --network-alias www -v "$T/www0:/www" busybox httpd -f -p 80 -h /www >/dev/null
get='printf "GET /index.html HTTP/1.0\r\n\r\n" | nc -w 2'
expect "HTTP to web by name" hello-by-name "$(docker exec db sh -c "$get webh 80 | tail -1")"
expect "and by its alias" hello-by-name "$(docker exec db sh -c "$get www 80 | tail -1")"
expect_match "not from a container on another network" "bad address|can't" "$(docker run --rm busybox sh -c "$get webh 80" 2>&1)"
docker rm -f webh >/dev/null
expect "--domainname: the container's hosts line <address> <hostname>.<domain> <hostname>, as docker's" "h1.d1 h1" \
  "$(docker run --rm --network appnet --hostname h1 --domainname d1 busybox sh -c 'tail -1 /etc/hosts | cut -f2')"
# what inspect shows of a user network's endpoint, as dockerd 20.10: the
# aliases as sent, the short id added at the first start; the network's id
# from that start on, kept after the exit
alc=$(docker create --name alc --network appnet --network-alias al1 busybox sleep 300)
appnet_id=$(docker network inspect -f '{{.Id}}' appnet)
net_shown() { docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{json $v.Aliases}} <{{$v.NetworkID}}> {{end}}' "$1"; }
expect "created: the aliases as sent, no network id yet" 'appnet ["al1"] <> ' "$(net_shown alc)"
docker start alc >/dev/null
expect "running: the short id added, the network's id" "appnet [\"al1\",\"${alc:0:12}\"] <$appnet_id> " "$(net_shown alc)"
docker stop -t 0 alc >/dev/null
expect "exited: both kept" "appnet [\"al1\",\"${alc:0:12}\"] <$appnet_id> " "$(net_shown alc)"
check "network connect of a stopped container" docker network connect bridge alc
expect "its new network: no id until a start; no aliases on bridge" "appnet [\"al1\",\"${alc:0:12}\"] <$appnet_id> bridge null <> " "$(net_shown alc)"
check "a stopped container connected again to a network it has: nothing done, as dockerd's (no error)" docker network connect --alias other appnet alc
expect "and its settings unchanged" "appnet [\"al1\",\"${alc:0:12}\"] <$appnet_id> bridge null <> " "$(net_shown alc)"
docker network create --subnet 10.95.0.0/24 nconn >/dev/null
expect_match "disconnect of a stopped container from a network it is not on: dockerd's words for it" "container $alc is not connected to the network nconn" "$(docker network disconnect nconn alc 2>&1; docker network rm nconn >/dev/null)"
expect_match "other names are forwarded to the host's resolvers" "Address:? *(1: )?10.200.0.2" "$(docker exec db nslookup outside.example.test 2>&1 | grep Address | tail -1)"
expect_match "a container on another network does not resolve it" "NXDOMAIN" "$(docker exec web nslookup webn. 2>&1)"
# --dns, --dns-search, --dns-option, --add-host
expect "--dns on the default bridge lands in resolv.conf" "search corp.test
nameserver 10.200.0.2
options timeout:1" "$(docker run --rm --dns 10.200.0.2 --dns-search corp.test --dns-option timeout:1 busybox cat /etc/resolv.conf)"
expect "--dns on a user network: the embedded server forwards that container's questions to it" "Address: 10.200.0.3" "$(docker run --rm --network appnet --dns 10.200.0.3 busybox nslookup outside.example.test. 2>&1 | grep Address | tail -1)"
expect "--add-host lands in /etc/hosts (host-gateway: the network's gateway)" "10.0.0.9	foo
10.99.0.1	gw" "$(docker run --rm --network appnet --add-host foo:10.0.0.9 --add-host gw:host-gateway busybox tail -2 /etc/hosts)"
expect_match "a bad --add-host: docker's message" "invalid IP address in add-host" "$(docker run --rm --add-host foo:nowhere busybox true 2>&1)"
expect_match "berth run --dns too" "nameserver 10.200.0.9" "$(berth run --rm --dns 10.200.0.9 busybox cat /etc/resolv.conf)"
# --network container:<name>
expect "--network container:web shares web's interfaces" "$ip1" "$(docker run --rm --network container:web busybox sh -c "ip -o -4 addr show eth0 | awk '{print \$4}' | cut -d/ -f1")"
expect "and its /etc/hosts" "$(docker exec web cat /etc/hosts)" "$(docker run --rm --network container:web busybox cat /etc/hosts)"
expect_match "joining a container that is not running: refused" "cannot join network of a non running container" "$(docker create --name stopped1 busybox true >/dev/null; docker run --rm --network container:stopped1 busybox true 2>&1; docker rm stopped1 >/dev/null)"
expect_match "joining one that does not exist: refused" "No such container: nosuch" "$(docker run --rm --network container:nosuch busybox true 2>&1)"
docker rm -f webn >/dev/null
expect_match "a removed container's name is gone" "NXDOMAIN" "$(docker exec db nslookup webn. 2>&1)"
out=$(docker run --rm --network appnet --ip 10.99.0.2 busybox true 2>&1)
expect_match "an --ip that is taken: docker's message" "Address already in use" "$out"
out=$(docker run --rm --network appnet --ip 10.98.0.2 busybox true 2>&1)
expect_match "an --ip outside the subnet: refused" "does not belong to any of this network's subnets" "$out"
expect "nothing of the refused ones is left" "" "$(docker ps -a --filter status=created -q)"
out=$(docker network rm appnet 2>&1)
expect_match "network rm of a network in use: docker's 403" "network appnet has active endpoints \(db\)" "$out"

# ---- bad input: a clear error, nothing half-made ----
expect_match "run --network of a network that is not there: docker's 404" "network nosuchnet not found" "$(docker run --rm --network nosuchnet busybox true 2>&1)"
links_before=$(ip -br link | wc -l)
expect_match "an overlapping subnet" "Pool overlaps with other one on this address space" "$(docker network create --subnet 10.99.0.128/25 ov 2>&1)"
expect_match "a gateway outside the subnet" "no matching subnet for gateway 10.5.0.1" "$(docker network create --subnet 10.77.0.0/24 --gateway 10.5.0.1 gw 2>&1)"
expect "an invalid CIDR: dockerd's words" "Error response from daemon: Invalid subnet 10.77.0.0/33 : invalid CIDR address: 10.77.0.0/33" "$(docker network create --subnet 10.77.0.0/33 bad 2>&1)"
docker network create --subnet 10.77.0.1/24 hostbits >/dev/null
expect "host bits in the subnet: taken as dockerd does, shown as given, addresses from its network" "[{\"Subnet\":\"10.77.0.1/24\"}] 10.77.0.2" \
  "$(docker network inspect -f '{{json .IPAM.Config}}' hostbits) $(docker run --rm --network hostbits busybox ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)"
docker network rm hostbits >/dev/null
expect "creating a predefined network: dockerd's 403" "Error response from daemon: operation is not permitted on predefined host network" "$(docker network create host 2>&1)"
expect_match "a bridge name over 15 characters" "bridge name \"averyveryverylongname\" is not valid" "$(docker network create -o com.docker.network.bridge.name=averyveryverylongname long 2>&1)"
expect_match "a name that exists: 409" "network with name appnet already exists" "$(docker network create appnet 2>&1)"
expect_match "the host driver twice" "only one instance of \"host\" network is allowed" "$(docker network create -d host h2 2>&1)"
expect "none of them left a network" "appnet bridge host none" "$(docker network ls --format '{{.Name}}' | sort | xargs)"
expect "nor a link" "$links_before" "$(ip -br link | wc -l)"

# ---- published ports, and the way out (masquerade) ----
mkdir -p "$T/www" && echo hello-from-httpd >"$T/www/index.html"
docker run -d --name web80 -p 8080:80 -v "$T/www:/www" busybox httpd -f -p 80 -h /www >/dev/null
for _ in $(seq 1 50); do curl -s -m 1 -o /dev/null 127.0.0.1:8080/index.html && break; sleep 0.1; done
expect "-p 8080:80: curl 127.0.0.1:8080 from the host" hello-from-httpd "$(curl -s -m 3 127.0.0.1:8080/index.html)"
expect "and from outside, to the host's address" hello-from-httpd "$(ip netns exec "$OUT" curl -s -m 3 10.200.0.1:8080/index.html)"
# the IPv6 side ([::]:8080, docker-proxy's in docker) where this namespace has IPv6
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
  v6port=$'\n80/tcp -> [::]:8080' v6ps=', [::]:8080->80/tcp' v6json=',{"HostIp":"::","HostPort":"8080"}'
else
  v6port='' v6ps='' v6json=''
  echo "# no IPv6 in this namespace: the [::] side of -p is not tested"
fi
expect "docker port" "80/tcp -> 0.0.0.0:8080$v6port" "$(docker port web80)"
expect "berth port" "80/tcp -> 0.0.0.0:8080$v6port" "$(berth port web80)"
expect "ps PORTS" "0.0.0.0:8080->80/tcp$v6ps" "$(docker ps --filter name=web80 --format '{{.Ports}}')"
expect "NetworkSettings.Ports" '{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}'"$v6json"']}' "$(docker inspect -f '{{json .NetworkSettings.Ports}}' web80)"
if [ -n "$v6port" ]; then
  expect "curl [::1]:8080: the IPv6 side relayed to the container" hello-from-httpd "$(curl -s -m 3 'http://[::1]:8080/index.html')"
  big=$(head -c 3000000 /dev/urandom | tee "$T/www/big" | md5sum)
  expect "3 MB through the IPv6 side, byte for byte" "$big" "$(curl -s -m 10 'http://[::1]:8080/big' | md5sum)"
  rm -f "$T/www/big"
  python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("::", 8097)); s.listen(1); open(sys.argv[1], "w").close(); time.sleep(30)' "$T/v6held" &
  np=$!
  for _ in $(seq 1 200); do [ -e "$T/v6held" ] && break; sleep 0.05; done
  expect_match "a port another program holds on [::] only: refused as taken" "port is already allocated" "$(docker run --rm -p 8097:80 busybox true 2>&1)"
  kill $np 2>/dev/null
  expect "-p 127.0.0.1:...: no IPv6 side, as docker's" "80/tcp -> 127.0.0.1:8098" \
    "$(docker run -d --name lo80 -p 127.0.0.1:8098:80 busybox sleep 60 >/dev/null; docker port lo80; docker rm -f lo80 >/dev/null)"
fi
get80='printf "GET /index.html HTTP/1.0\r\n\r\n" | nc -w 2 10.200.0.1 8080 | tail -1'
expect "hairpin: another container reaches it through the host's address" hello-from-httpd "$(docker run --rm busybox sh -c "$get80")"
expect "and so does the container itself" hello-from-httpd "$(docker exec web80 sh -c "$get80")"
out=$(docker run -d --name web81 -p 8080:80 busybox sleep 60 2>&1)
expect_match "a second -p 8080: docker's message" "Bind for 0.0.0.0:8080 failed: port is already allocated" "$out"
expect "and it is not running" "false" "$(docker inspect -f '{{.State.Running}}' web81 2>&1)"
docker rm -f web81 >/dev/null 2>&1
expect_match "-p 80:80 on a host port in use by another program: refused" "port is already allocated" "$(busybox nc -l -p 8090 >/dev/null 2>&1 & np=$!; sleep 0.2; docker run --rm -p 8090:80 busybox true 2>&1; kill $np 2>/dev/null)"
docker run -d --name webp --expose 8081 -P -v "$T/www:/www" busybox httpd -f -p 8081 -h /www >/dev/null
hp=$(docker port webp 8081/tcp | head -1 | sed 's/.*://')
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
[ -n "$hp" ] && [ "$hp" -ge "$lo" ] && [ "$hp" -le "$hi" ] && ok "-P: an ephemeral port ($hp)" || fail "-P: an ephemeral port ($hp)"
for _ in $(seq 1 50); do curl -s -m 1 -o /dev/null "127.0.0.1:$hp/index.html" && break; sleep 0.1; done
expect "that works" hello-from-httpd "$(curl -s -m 3 "127.0.0.1:$hp/index.html")"
# busybox's nc has no -u here: a tiny static UDP echo server, built now
mkdir -p "$T/udp"
cat >"$T/udp/echo.c" <<'C'
#include <netinet/in.h>
#include <sys/socket.h>
int main(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(5353)};
  bind(fd, (struct sockaddr *)&sa, sizeof sa);
  for (;;) {
    char b[512];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    long n = recvfrom(fd, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
    if (n > 0) sendto(fd, b, (unsigned long)n, 0, (struct sockaddr *)&from, fl);
  }
}
C
cc -static -O1 -o "$T/udp/echo" "$T/udp/echo.c"
docker run -d --name udp -p 5353:5353/udp -v "$T/udp:/u" busybox /u/echo >/dev/null
sleep 0.3
got=$(ip netns exec "$OUT" python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(b"over-udp", ("10.200.0.1", 5353)); print(s.recv(100).decode())' 2>&1)
expect "-p 5353:5353/udp: a datagram from outside comes back" over-udp "$got"
if [ -n "$v6port" ]; then
  expect "and over IPv6 ([::1]:5353/udp, relayed as docker-proxy relays it), two clients each answered" "v6-one v6-two" \
    "$(python3 -c '
import socket
out = []
for w in (b"v6-one", b"v6-two"):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(3)
    s.sendto(w, ("::1", 5353)); out.append(s.recv(100).decode())
print(*out)' 2>&1)"
  expect "docker port shows the udp port's IPv6 side" "5353/udp -> 0.0.0.0:5353 5353/udp -> [::]:5353" "$(docker port udp | xargs)"
fi
ip netns exec "$OUT" busybox httpd -p 10.200.0.2:8000 -h "$T/www"
out=$(docker run --rm busybox sh -c 'printf "GET /index.html HTTP/1.0\r\n\r\n" | nc 10.200.0.2 8000' 2>&1)
expect_match "a container reaches outside through masquerade" "hello-from-httpd" "$out"
expect_match "berth's own nftables table holds it all" "masquerade" "$(nft list table ip berth)"
check_fails "a container on the default bridge cannot reach one on appnet (isolation)" docker exec web ping -c1 -W1 10.99.0.2
check "an --internal network" docker network create --internal intnet
expect "has no default route" "" "$(docker run --rm --network intnet busybox ip route | grep default)"
out=$(docker run --rm --network intnet busybox sh -c 'printf "GET /index.html HTTP/1.0\r\n\r\n" | nc -w 2 10.200.0.2 8000' 2>&1)
expect_match "and no way out" "can't connect|unreachable" "$out"
docker network rm intnet >/dev/null

# ---- bridge options: enable_icc=false, host_binding_ipv4 ----
docker network create -o com.docker.network.bridge.enable_icc=false -o com.docker.network.bridge.host_binding_ipv4=127.0.0.1 --subnet 10.62.0.0/24 noicc >/dev/null
docker run -d --name icc1 --network noicc -p 8096:80 -v "$T/www:/www" busybox httpd -f -p 80 -h /www >/dev/null
expect_match "enable_icc=false: another container on it cannot reach it" "100% packet loss" "$(docker run --rm --network noicc busybox ping -c1 -W1 10.62.0.2 2>&1)"
check "but it reaches the gateway" docker run --rm --network noicc busybox ping -c1 -W2 10.62.0.1
nid=$(docker network inspect -f '{{.Id}}' noicc)
expect_match "its bridge ports are isolated (and in hairpin mode)" "hairpin on .*isolated on" "$(ip -d link show master "br-${nid:0:12}" | tr '\n' ' ')"
expect "host_binding_ipv4=127.0.0.1: -p 8096:80 binds 127.0.0.1" "80/tcp -> 127.0.0.1:8096" "$(docker port icc1)"
for _ in $(seq 1 30); do curl -s -m 1 -o /dev/null 127.0.0.1:8096/index.html && break; sleep 0.1; done
expect "and answers there" hello-from-httpd "$(curl -s -m 3 127.0.0.1:8096/index.html)"
expect "but not on the host's other addresses" "" "$(curl -s -m 2 10.200.0.1:8096/index.html)"
expect_match "a bad host_binding_ipv4: refused" "not an IPv4 address" "$(docker network create -o com.docker.network.bridge.host_binding_ipv4=nope hb 2>&1)"
docker rm -f icc1 >/dev/null
docker network rm noicc >/dev/null

# ---- IPv6 (a v4 and a v6 subnet; the "outside" gets a v6 address too) ----
ip -6 addr add fd00:200::1/64 dev out0 nodad
ip netns exec "$OUT" ip -6 addr add fd00:200::2/64 dev out1 nodad
check "berth network create --ipv6 with a v4 and a v6 --subnet" berth network create --ipv6 --subnet 10.61.0.0/24 --subnet fd00:61::/64 v6net
expect "network inspect: both IPAM configs as given (no gateway was: none shown, as dockerd's), EnableIPv6" '[{"Subnet":"10.61.0.0/24"},{"Subnet":"fd00:61::/64"}] true' "$(docker network inspect -f '{{json .IPAM.Config}} {{.EnableIPv6}}' v6net)"
docker run -d --name v6a --network v6net busybox sleep 300 >/dev/null
expect "a container gets fd00:61::2/64 (inspect)" "fd00:61::2/64 fd00:61::1" "$(docker inspect -f '{{with index .NetworkSettings.Networks "v6net"}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}}{{end}}' v6a)"
expect_match "its eth0 holds it, the default route goes via fd00:61::1" "inet6 fd00:61::2/64.*default via fd00:61::1 dev eth0" "$(docker exec v6a sh -c 'ip -6 addr show eth0; ip -6 route' | tr '\n' ' ')"
expect "network inspect lists its IPv6 address" "fd00:61::2/64" "$(docker network inspect -f '{{range .Containers}}{{.IPv6Address}}{{end}}' v6net)"
check "another container reaches it by name over IPv6 (AAAA from the embedded DNS)" docker run --rm --network v6net busybox ping -6 -c1 -W2 v6a
check "it reaches outside over IPv6 (masquerade in berth's ip6 table)" docker exec v6a ping -6 -c1 -W2 fd00:200::2
expect_match "table ip6 berth holds that masquerade" "ip6 saddr fd00:61::/64 oifname != \"br-[0-9a-f]+\" masquerade" "$(nft list table ip6 berth)"
expect_match "--ipv6 without an IPv6 subnet: docker's refusal" "could not find an available, non-overlapping IPv6 address pool" "$(docker network create --ipv6 nov6 2>&1)"
expect_match "an overlapping IPv6 subnet" "Pool overlaps with other one on this address space" "$(docker network create --ipv6 --subnet fd00:61::/80 ov6 2>&1)"
expect_match "host bits in an IPv6 subnet: the network they are in (here it overlaps), as dockerd" "Pool overlaps with other one on this address space" "$(docker network create --ipv6 --subnet fd00:61::1/64 bad6 2>&1)"
check "host bits in another IPv6 subnet: taken" docker network create --ipv6 --subnet fd00:62::1/64 hb6
expect "shown as given" '{"Subnet":"fd00:62::1/64"}' "$(docker network inspect -f '{{json (index .IPAM.Config 1)}}' hb6)"
expect "a container's address in its network" "fd00:62::2" "$(docker run --rm --network hb6 busybox sh -c "ip -o -6 addr show eth0 scope global | awk '{print \$4}' | cut -d/ -f1")"
docker network rm hb6 >/dev/null
expect_match "a malformed IPv6 subnet: dockerd's words" "Invalid subnet zz::/64 : invalid CIDR address: zz::/64" "$(docker network create --ipv6 --subnet zz::/64 bad6 2>&1)"
expect_match "a /128: no room for the gateway, dockerd's words" "failed to allocate gateway \\(\\): No available addresses on this pool" "$(docker network create --ipv6 --subnet fd00:63::/128 bad6 2>&1)"
expect_match "an IPv4 /31: the same" "failed to allocate gateway \\(\\): No available addresses on this pool" "$(docker network create --subnet 10.63.0.0/31 bad4 2>&1)"
check "an IPv6 subnet without --ipv6: recorded, as dockerd (a compose file's IPAM may list one)" docker network create --subnet fd00:64::1/64 no6
expect "shown in IPAM.Config as given, EnableIPv6 false" '{"Subnet":"fd00:64::1/64"} false' "$(docker network inspect -f '{{json (index .IPAM.Config 1)}} {{.EnableIPv6}}' no6)"
expect "but no container gets an IPv6 address on it" "" "$(docker run --rm --network no6 busybox ip -o -6 addr show eth0 scope global)"
docker rm -f v6a >/dev/null
check "network rm of the IPv6 network" docker network rm v6net
expect "berth's ip6 table goes with the last IPv6 network" "" "$(nft list table ip6 berth 2>/dev/null)"

# ---- the berth CLI ----
check "berth network create" berth network create --subnet 10.98.0.0/24 --label team=a bnet
expect_match "berth network ls: docker's columns" "^NETWORK ID +NAME +DRIVER +SCOPE" "$(berth network ls | head -1)"
expect "berth network ls --filter label=team=a --format" "bnet bridge local" "$(berth network ls --filter label=team=a --format '{{.Name}} {{.Driver}} {{.Scope}}')"
expect "berth network ls -q: 12-character ids" 12 "$(berth network ls -q --filter name=bnet | awk '{print length}')"
expect "berth run --network --ip" "10.98.0.7" "$(berth run --rm --network bnet --ip 10.98.0.7 busybox sh -c "ip -o -4 addr show eth0 | awk '{print \$4}' | cut -d/ -f1")"
expect_match "berth network inspect -f" '"Subnet":"10.98.0.0/24"' "$(berth network inspect -f '{{json .IPAM.Config}}' bnet)"

# ---- network connect / disconnect (web: running, on the default bridge) ----
docker run -d --name peer --network bnet busybox sleep 300 >/dev/null
check "network connect of a running container (--alias)" docker network connect --alias webalias bnet web
expect_match "it gets eth1 on bnet" "eth1 +inet 10\.98\.0\." "$(docker exec web ip -o -4 addr show eth1)"
webb=$(docker inspect -f '{{.NetworkSettings.Networks.bnet.IPAddress}}' web)
expect "inspect lists both networks" "bnet bridge" "$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' web | xargs)"
expect_match "a container on bnet resolves it by name at once" "Address:? *(1: )?$webb" "$(docker exec peer nslookup web. 2>&1 | grep Address | tail -1)"
expect_match "and by its alias" "Address:? *(1: )?$webb" "$(docker exec peer nslookup webalias. 2>&1 | grep Address | tail -1)"
check "and reaches it by name" docker exec peer ping -c1 -W2 web
expect_match "the default route stays on eth0" "^default via 172.17.0.1 dev eth0 *$" "$(docker exec web ip route | grep default)"
expect "network inspect bnet lists it" "peer web" "$(docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' bnet | tr ' ' '\n' | sort | xargs)"
expect_match "connecting twice: docker's 403" "endpoint with name web already exists in network bnet" "$(docker network connect bnet web 2>&1)"
check "network disconnect" docker network disconnect bnet web
expect "its eth1 is gone" "" "$(docker exec web ip -o link show eth1 2>/dev/null)"
expect_match "and its name on bnet" "NXDOMAIN" "$(docker exec peer nslookup web. 2>&1)"
expect_match "disconnecting again: refused" "is not connected to network bnet" "$(docker network disconnect bnet web 2>&1)"
expect_match "connect --link: refused, not ignored" "not supported" "$(docker network connect --link db:x bnet web 2>&1)"
expect_match "connect to a network that is not there: 404" "network nosuchnet not found" "$(docker network connect nosuchnet web 2>&1)"
expect "neither there: the container named first, as dockerd's" "Error response from daemon: No such container: nosuchctr|Error response from daemon: No such container: nosuchctr" \
  "$(docker network connect nosuchnet nosuchctr 2>&1)|$(docker network disconnect nosuchnet nosuchctr 2>&1)"
expect_match "connect of a container that is not there: 404" "No such container: nosuchctr" "$(docker network connect bnet nosuchctr 2>&1)"
docker create --name hostc --network host busybox true >/dev/null
expect_match "a host-network container cannot be connected: dockerd's words" "container sharing network namespace with another container or host cannot be connected to any other network" "$(docker network connect bnet hostc 2>&1)"
docker rm hostc >/dev/null
# what dockerd refuses of a connect, in its order (web: on bridge and bnet's
# neighbour networks; appnet and bnet have subnets their creator gave)
docker network create autonet >/dev/null
autoip=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' autonet | sed 's/\.0\/.*/.9/')
expect_match "connect --ip to a network whose subnet berth picked: dockerd's refusal" "user specified IP address is supported only when connecting to networks with user configured subnets" "$(docker network connect --ip "$autoip" autonet web 2>&1)"
expect_match "run --ip there: the same" "user specified IP address is supported only when connecting to networks with user configured subnets" "$(docker run --rm --network autonet --ip "$autoip" busybox true 2>&1)"
docker network rm autonet >/dev/null
expect_match "connect --ip outside the subnet: dockerd's words" "Invalid address 10.66.0.5: It does not belong to any of this network's subnets" "$(docker network connect --ip 10.66.0.5 bnet web 2>&1)"
expect_match "connect --alias on the default bridge" "network-scoped alias is supported only for containers in user defined networks" "$(docker network connect --alias x bridge web 2>&1)"
expect_match "connect to none beside other networks" "container cannot be connected to multiple networks with one of the networks in private \(none\) mode" "$(docker network connect none web 2>&1)"
docker run -d --name nonec --network none busybox sleep 60 >/dev/null
expect_match "a --network none container to another network: the same" "one of the networks in private \(none\) mode" "$(docker network connect bnet nonec 2>&1)"
docker rm -f nonec >/dev/null
# a created container: the connect is recorded, and made at start
docker create --name late busybox sleep 300 >/dev/null
check "berth network connect --ip of a created container" berth network connect --ip 10.99.0.77 appnet late
docker start late >/dev/null
expect "at start it is on both networks" "appnet bridge" "$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' late | xargs)"
expect "with the address asked for" "10.99.0.77" "$(docker inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' late)"
check "db reaches it by name" docker exec db ping -c1 -W2 late
docker create --name late2 busybox ip -o link >/dev/null
check "berth network disconnect of a created container" berth network disconnect bridge late2
expect "it then starts on no network: only lo" "lo
0" "$(docker start -a late2 | awk '{print $2}' | tr -d :; docker inspect -f '{{len .NetworkSettings.Networks}}' late2; docker rm late2 >/dev/null)"
docker rm -f peer >/dev/null

# ---- --link on the default bridge, --mac-address ----
docker run -d --name linkdb -e SECRET=s3 --expose 5432 busybox sleep 300 >/dev/null
ldb=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' linkdb)
out=$(docker run --rm --link linkdb:database busybox sh -c 'ping -c1 -W2 database >/dev/null && echo reached; env | grep ^DATABASE_ | sort; grep database /etc/hosts')
expect_match "--link db:database: the alias resolves and answers" "reached" "$out"
expect_match "its hosts line: address, alias, hostname, name" "$ldb[[:space:]]+database [0-9a-f]{12} linkdb" "$out"
expect_match "docker's <ALIAS>_PORT variables" "DATABASE_PORT=tcp://$ldb:5432" "$out"
expect_match "<ALIAS>_PORT_5432_TCP_ADDR" "DATABASE_PORT_5432_TCP_ADDR=$ldb" "$out"
expect_match "<ALIAS>_ENV_ of its environment" "DATABASE_ENV_SECRET=s3" "$out"
expect_match "<ALIAS>_NAME" "DATABASE_NAME=/[a-z_]+/database" "$out"
expect_match "a link to a container that is not there: refused in dockerd's words" "could not get container for nosuch: No such container: nosuch" "$(docker run --rm --link nosuch:x busybox true 2>&1)"
docker create --name notrunning busybox true >/dev/null
expect_match "a link to one not running: docker's message" "Cannot link to a non running container: /notrunning AS" "$(docker run --rm --link notrunning:x busybox true 2>&1)"
docker rm -f notrunning linkdb >/dev/null
# (docker CLI 28 sends --mac-address only to API 1.44 daemons; berth's CLI and docker-py send Config.MacAddress)
expect "--mac-address" "92:d0:c6:0a:29:33" "$(berth run --rm --mac-address 92:d0:c6:0a:29:33 busybox cat /sys/class/net/eth0/address)"
expect "docker-py's mac_address" "92:d0:c6:0a:29:34" "$(python3 -c 'import docker,sys; c=docker.from_env(); print(c.containers.run("busybox", "cat /sys/class/net/eth0/address", mac_address="92:d0:c6:0a:29:34", remove=True).decode().strip())')"
expect_match "a bad --mac-address: refused" "invalid MAC address: 92:zz" "$(berth run --rm --mac-address 92:zz busybox true 2>&1)"
expect "berth network rm prints the name" bnet "$(berth network rm bnet)"
expect_match "berth network rm of one not there: docker's 404" "network bnet not found" "$(berth network rm bnet 2>&1)"

# ---- kill -9 and restart: addresses kept, IPAM rebuilt ----
curl -s -X POST -H 'Content-Type: application/json' -d '{"Name":"ipamopt","IPAM":{"Driver":"default","Options":{"berth.test":"1"}}}' --unix-socket "$SOCK" http://x/networks/create >/dev/null
expect "IPAM.Options: echoed as created, as docker's (null when none)" '{"berth.test":"1"} null' \
  "$(docker network inspect -f '{{json .IPAM.Options}}' ipamopt) $(docker network inspect -f '{{json .IPAM.Options}}' bridge)"
for i in 1 2 3; do # with web80, webp and udp: six published containers
  docker run -d --name pub$i --network appnet -p 809$i:80 -v "$T/www:/www" busybox httpd -f -p 80 -h /www >/dev/null
done
addrs() { for n in bridge appnet; do docker network inspect -f '{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}' $n; done | tr ' ' '\n' | sort | xargs; }
before=$(addrs)
for _ in $(seq 1 30); do curl -s -m 1 -o /dev/null 127.0.0.1:8093/index.html && break; sleep 0.1; done
docker network create --subnet 10.96.0.0/24 --ip-range 10.96.0.128/25 gwless >/dev/null
stop_daemon KILL
# a program that cannot run fails the init before it waits for START; its
# network plumbed later finds no namespace: the start's error must be the
# program's (BERTH_FAILPOINT: the plumbing made late for certain)
BERTH_FAILPOINT=start-plumb:sleep start_daemon || fail "berthd restarts"
out=$(docker run --rm --network appnet busybox no-such-program 2>&1); rc=$?
expect_match "a start that fails before the plumbing: the program's error, docker's 127" "executable file not found.* rc=127" "$(head -1 <<<"$out") rc=$rc"
stop_daemon KILL
start_daemon || fail "berthd restarts"
expect "a network made with a subnet and no gateway shows none after the restart either" '[{"Subnet":"10.96.0.0/24","IPRange":"10.96.0.128/25"}]' "$(docker network inspect -f '{{json .IPAM.Config}}' gwless; docker network rm gwless >/dev/null)"
expect "network inspect lists the same addresses after kill -9" "$before" "$(addrs)"
expect "a stopped container's endpoint settings kept across the restart" "appnet [\"al1\",\"${alc:0:12}\"] <$appnet_id> bridge null <> " "$(net_shown alc; docker rm alc >/dev/null)"
expect "IPAM.Options kept across the restart" '{"berth.test":"1"}' "$(docker network inspect -f '{{json .IPAM.Options}}' ipamopt; docker network rm ipamopt >/dev/null)"
expect "an IPv6 subnet with host bits: shown as given after the restart" '{"Subnet":"fd00:64::1/64"}' "$(docker network inspect -f '{{json (index .IPAM.Config 1)}}' no6; docker network rm no6 >/dev/null)"
expect "the published ports of all of them still answer" "hello-from-httpd hello-from-httpd hello-from-httpd" "$(for i in 1 2 3; do curl -s -m 3 127.0.0.1:809$i/index.html; done | xargs)"
expect "web keeps its address" "$ip1" "$(docker inspect -f '{{.NetworkSettings.IPAddress}}' web)"
expect "a connected container keeps both addresses" "10.99.0.77 $(docker exec late ip -o -4 addr show eth0 | awk '{print $4}' | cut -d/ -f1)" "$(docker inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}} {{.NetworkSettings.Networks.bridge.IPAddress}}' late)"
check "and is still reached by name" docker exec db ping -c1 -W2 late
expect "a published port still answers" hello-from-httpd "$(curl -s -m 3 127.0.0.1:8080/index.html)"
expect "and docker port still says it" "80/tcp -> 0.0.0.0:8080$v6port" "$(docker port web80)"
[ -n "$v6port" ] && expect "and its IPv6 side answers again (the relay made again at the restart)" hello-from-httpd "$(curl -s -m 3 'http://[::1]:8080/index.html')"
check "and answers on it" busybox ping -c1 -W2 "$ip1"
new=$(docker run --rm busybox sh -c "ip -o -4 addr show eth0 | awk '{print \$4}' | cut -d/ -f1")
[ -n "$new" ] && [ "$new" != "$ip1" ] && [ "$new" != "$ip2" ] && ok "a new container gets another address ($new)" || fail "a new container gets another address ($new)"

# ---- many at once on a user network: no address twice, nothing leaked ----
dnat_before=$(nft list table ip berth | grep -c 'dnat to 10\.99\.0\.')
pids=()
mkdir -p "$T/gate"
# each says its address and stays until all 50 have (a released address is
# the next one out, so only containers alive together must differ)
for i in $(seq 1 50); do
  docker run --rm --network appnet -p 80 -v "$T/gate:/gate" busybox sh -c "ip -o -4 addr show eth0 | awk '{print \$4}'; while [ ! -e /gate/go ]; do sleep 0.1; done" >"$T/par.$i" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 600); do [ "$(cat "$T"/par.* 2>/dev/null | grep -c .)" -ge 50 ] && break; sleep 0.1; done
touch "$T/gate/go"
wait "${pids[@]}"
expect "50 parallel run --rm -p 80, all running at once: 50 addresses, all different" 50 "$(cat "$T"/par.* | sort -u | grep -c '^10\.99\.0\.')"
expect "and none of their DNAT rules is left" "$dnat_before" "$(nft list table ip berth | grep -c 'dnat to 10\.99\.0\.')"

# ---- docker-py (python3-docker) ----
cat >"$T/py.py" <<'PY'
import docker, sys, urllib.request
c = docker.DockerClient(base_url=sys.argv[1])
n = c.networks.create("pynet", driver="bridge", ipam=docker.types.IPAMConfig(
    pool_configs=[docker.types.IPAMPool(subnet="10.97.0.0/24")]))
assert c.networks.get(n.id).name == "pynet"
assert [x.name for x in c.networks.list(names=["pynet"])] == ["pynet"]
ct = c.containers.run("busybox", ["httpd", "-f", "-p", "80", "-h", "/www"], detach=True,
                      network="pynet", ports={"80/tcp": 8181}, volumes={sys.argv[2]: {"bind": "/www"}})
import time
for _ in range(50):
    try:
        body = urllib.request.urlopen("http://127.0.0.1:8181/index.html", timeout=1).read().decode()
        break
    except Exception:
        time.sleep(0.1)
ct.reload()
print(body.strip(), ct.attrs["NetworkSettings"]["Networks"]["pynet"]["IPAddress"].startswith("10.97.0."),
      ct.ports["80/tcp"][0]["HostPort"])
n2 = c.networks.create("pynet2", driver="bridge")
n2.connect(ct, aliases=["pyalias"])
ct.reload()
print(sorted(ct.attrs["NetworkSettings"]["Networks"]), ct.name in [x.name for x in c.networks.get("pynet2").containers])
n2.disconnect(ct)
ct.reload()
print(sorted(ct.attrs["NetworkSettings"]["Networks"]))
n2.remove()
ct.remove(force=True)
n.remove()
print(len(c.networks.list(names=["pynet"])))
PY
expect "docker-py: networks.create/get/list, ports={'80/tcp': 8181} over HTTP, connect, disconnect, remove" "hello-from-httpd True 8181
['pynet', 'pynet2'] True
['pynet']
0" "$(python3 "$T/py.py" "unix://$SOCK" "$T/www" 2>&1)"
# ---- docker-compose 1.29: a two-service project on its default network ----
if command -v docker-compose >/dev/null; then
  mkdir -p "$T/proj"
  cat >"$T/proj/docker-compose.yml" <<'YML'
version: "2.4"
services:
  db:
    image: busybox
    command: sh -c 'mkdir -p /www && echo db-says-hi > /www/index.html && httpd -f -p 80 -h /www'
  web:
    image: busybox
    ports: ["8282:80"]
    command: sh -c 'mkdir -p /www && httpd -p 80 -h /www && while :; do printf "GET /index.html HTTP/1.0\r\n\r\n" | nc db 80 > /www/db.txt; sleep 0.3; done'
YML
  (cd "$T/proj" && timeout 120 docker-compose -p proj up -d) >"$T/compose.log" 2>&1
  expect "compose up -d: the project network" "proj_default" "$(docker network ls --filter name=proj_ --format '{{.Name}}')"
  for _ in $(seq 1 50); do curl -s -m 1 127.0.0.1:8282/db.txt | grep -q db-says-hi && break; sleep 0.2; done
  expect_match "web, published on 8282, reaches db by its service name" "db-says-hi" "$(curl -s -m 2 127.0.0.1:8282/db.txt)"
  (cd "$T/proj" && timeout 120 docker-compose -p proj down) >>"$T/compose.log" 2>&1
  expect "compose down removes the project network" "" "$(docker network ls --filter name=proj_ --format '{{.Name}}')"
  grep -i error "$T/compose.log" | head -5 | sed 's/^/# /'
else
  fail "docker-compose is installed (tests/run.sh installs it)"
fi

docker rm -f web web2 db web80 webp udp late pub1 pub2 pub3 >/dev/null
expect "rm -f: no DNAT rule left" 0 "$(nft list table ip berth | grep -c 'dnat to')"
for _ in $(seq 1 50); do ip -br link | grep -q veth || break; sleep 0.1; done
expect "rm -f all: no veth left" "" "$(ip -br link | grep veth)"
check "network rm works once it is free" docker network rm appnet
check_fails "and takes its bridge with it" ip link show "br-${id:0:12}"
expect "and its DNS server" "" "$(ss -lun | grep '10.99.0.1:53')"
expect "network prune: nothing to prune" "" "$(docker network prune -f 2>&1 | grep -v '^$')"
stop_daemon
finish
