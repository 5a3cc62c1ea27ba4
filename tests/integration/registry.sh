#!/usr/bin/env bash
# Registries: push and pull against Debian's docker-registry (the reference
# distribution server) on loopback ports of our own, through berth and the
# docker CLI, cross-checked with skopeo; a corrupt blob; a manifest list;
# TLS + htpasswd with docker login.
. "$(dirname "$0")/lib.sh"
DOCKER_BIN=$(type -P docker)
docker() { timeout -s KILL 120 "$DOCKER_BIN" "$@"; }
REGPIDS=()
cleanup_registries() { for p in "${REGPIDS[@]}"; do kill "$p" 2>/dev/null; done; }
trap 'cleanup_registries; cleanup' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_registry NAME PORT [extra yaml]
start_registry() {
  local name=$1 port=$2 extra=${3:-}
  mkdir -p "$T/$name"
  cat >"$T/$name/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/$name/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$extra
YML
  docker-registry serve "$T/$name/config.yml" >"$T/$name/log" 2>&1 &
  REGPIDS+=($!)
  for _ in $(seq 1 50); do curl -sk -o /dev/null "http://127.0.0.1:$port/v2/" && return 0; curl -sk -o /dev/null "https://127.0.0.1:$port/v2/" && return 0; sleep 0.1; done
  echo "# registry $name did not start:"; tail -5 "$T/$name/log" | sed 's/^/#   /'
  return 1
}

if ! command -v docker-registry >/dev/null; then
  fail "docker-registry is installed"
  finish
  exit 1
fi

P1=$(free_port)
start_registry plain "$P1" || { fail "plain registry starts"; finish; exit 1; }
R="127.0.0.1:$P1"
# a docker.io mirror: it holds library/busybox, so docker.io itself is never asked
PM=$(free_port)
start_registry mirror "$PM" || fail "mirror registry starts"
M="127.0.0.1:$PM"

cat >"$T/daemon.conf" <<CONF
data-root = "$T/data";
exec-root = "$T/run";
plugin-dir = "$PLUGIN_DIR";
api: { socket = "$SOCK"; };
registry: { driver = "distribution"; distribution: { mirrors = "http://$M"; }; };
CONF
start_daemon || { fail "berthd starts with the distribution driver"; finish; exit 1; }
expect_match "info lists the registry driver" 'registry +distribution' "$(berth info)"
# the driver opens libcurl at its first request (lazy-curl.c), not at load
expect "before a registry request berthd has not loaded libcurl" "" \
  "$(grep -oE 'libcurl[^ ]*' "/proc/$DPID/maps" | sort -u)"
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
id0=$(berth image inspect -f '{{.Id}}' busybox)

# ---- push and pull back, through both clients ----
for cli in berth docker; do
  if [ $cli = berth ]; then C=(berth); else C=(docker); fi
  "${C[@]}" tag busybox "$R/$cli/bb:v1"
  out=$("${C[@]}" push "$R/$cli/bb:v1" 2>&1)
  [ $cli = berth ] && expect_match "the first push loaded libcurl" "libcurl\.so" "$(cat "/proc/$DPID/maps")"
  expect_match "$cli push: docker's lines" "The push refers to repository \[$R/$cli/bb\]" "$out"
  expect_match "$cli push: digest line" 'v1: digest: sha256:[0-9a-f]{64} size: [0-9]+' "$out"
  pushed=$(grep -o 'sha256:[0-9a-f]\{64\}' <<<"$out" | tail -1)
  expect "$cli push: the registry has the tag" "{\"name\":\"$cli/bb\",\"tags\":[\"v1\"]}" "$(curl -s "http://$R/v2/$cli/bb/tags/list")"
  expect "$cli push: skopeo sees the same manifest digest" "$pushed" \
    "$(skopeo inspect --tls-verify=false "docker://$R/$cli/bb:v1" | jq -r .Digest)"
  berth rmi -f "$id0" >/dev/null
  check_fails "$cli: the image is gone locally" berth image inspect "$R/$cli/bb:v1"
  out=$("${C[@]}" pull "$R/$cli/bb:v1" 2>&1)
  expect_match "$cli pull: progress lines" 'Pull complete' "$out"
  expect_match "$cli pull: status line" "Status: Downloaded newer image for $R/$cli/bb:v1" "$out"
  expect "$cli pull: same image id as pushed" "$id0" "$(berth image inspect -f '{{.Id}}' "$R/$cli/bb:v1")"
  expect "$cli pull: RepoDigests recorded" "[$R/$cli/bb@$pushed]" "$(berth image inspect -f '{{.RepoDigests}}' "$R/$cli/bb:v1")"
  expect "$cli: run the pulled image" hi "$("${C[@]}" run --rm "$R/$cli/bb:v1" echo hi 2>&1)"
  out=$("${C[@]}" pull "$R/$cli/bb:v1" 2>&1)
  expect_match "$cli pull again: up to date" "Status: Image is up to date for $R/$cli/bb:v1" "$out"
  berth tag "$R/$cli/bb:v1" busybox
done
out=$(berth pull "$R/berth/bb@$(skopeo inspect --tls-verify=false "docker://$R/berth/bb:v1" | jq -r .Digest)" 2>&1)
expect_match "pull by digest" 'Status: (Image is up to date|Downloaded newer image)' "$out"
out=$(berth pull "$R/nosuch/repo:v9" 2>&1)
expect_match "pull of an unknown tag: docker's message" "manifest for $R/nosuch/repo:v9 not found: manifest unknown" "$out"

# ---- skopeo: pull what berth pushed; push what berth then pulls ----
check "skopeo copies berth's push to an OCI layout" skopeo copy --src-tls-verify=false "docker://$R/berth/bb:v1" "oci:$T/oci:v1"
berth save -o "$T/saved.tar" busybox
check "skopeo pushes a docker-archive to the registry" skopeo copy --dest-tls-verify=false "docker-archive:$T/saved.tar" "docker://$R/fromskopeo/bb:v1"
berth rmi -f "$id0" >/dev/null
out=$(berth pull "$R/fromskopeo/bb:v1" 2>&1)
expect_match "berth pulls what skopeo pushed" 'Downloaded newer image' "$out"
expect "berth runs what skopeo pushed" hi "$(berth run --rm "$R/fromskopeo/bb:v1" echo hi 2>&1)"
berth tag "$R/fromskopeo/bb:v1" "$R/fromskopeo/bb:v2"
expect "rmi of one of two tags keeps the image" 1 "$(berth rmi "$R/fromskopeo/bb:v2" >/dev/null && berth images -q "$R/fromskopeo/bb" | wc -l)"
# docker: the last tag of a repository takes its digest references along
pid=$(berth images -q "$R/fromskopeo/bb:v1")
out=$(docker rmi "$R/fromskopeo/bb:v1" 2>&1)
expect_match "docker rmi of the last tag untags the digest reference too" "Untagged: $R/fromskopeo/bb@sha256:" "$out"
expect_match "and deletes the image" "Deleted: sha256:$pid" "$out"
berth pull -q "$R/fromskopeo/bb:v1" >/dev/null
berth tag "$R/fromskopeo/bb:v1" busybox

# ---- a multi-layer image ----
mkdir -p "$T/l2" "$T/l3"
head -c 3000000 /dev/urandom >"$T/l2/blob2"
head -c 5000000 /dev/urandom >"$T/l3/blob3"
cat >"$T/Dockerfile.sh" <<'EOF'
EOF
berth run --name mk busybox sh -c 'true' >/dev/null
tar -C "$T/l2" -cf "$T/l2.tar" .
tar -C "$T/l3" -cf "$T/l3.tar" .
# three layers: busybox + l2 + l3, made with skopeo-free tools: import then load a
# docker-save tar assembled here
python3 - "$T" <<'PY'
import hashlib, json, os, sys, tarfile, io
T = sys.argv[1]
layers = [f"{T}/bb.tar", f"{T}/l2.tar", f"{T}/l3.tar"]
diff_ids = ["sha256:" + hashlib.sha256(open(p, "rb").read()).hexdigest() for p in layers]
cfg = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
       "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": [{"created_by": "test"}] * 3}
cb = json.dumps(cfg).encode()
cid = hashlib.sha256(cb).hexdigest()
with tarfile.open(f"{T}/multi.tar", "w") as t:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    add(f"{cid}.json", cb)
    names = []
    for i, p in enumerate(layers):
        n = f"l{i}/layer.tar"; add(n, open(p, "rb").read()); names.append(n)
    add("manifest.json", json.dumps([{"Config": f"{cid}.json", "RepoTags": ["multi:v1"], "Layers": names}]).encode())
PY
berth rm mk >/dev/null
check "a 3-layer image loads" berth load -i "$T/multi.tar"
berth tag multi:v1 "$R/multi:v1"
check "push the 3-layer image" berth push "$R/multi:v1"
mid=$(berth image inspect -f '{{.Id}}' multi:v1)
berth rmi -f "$mid" >/dev/null
out=$(berth pull "$R/multi:v1" 2>&1)
expect "3-layer pull: the base layer already existed" 1 "$(grep -c 'Already exists' <<<"$out")"
expect "3-layer pull: two layers downloaded" 2 "$(grep -c 'Pull complete' <<<"$out")"
expect "3-layer pull: same id" "$mid" "$(berth image inspect -f '{{.Id}}' "$R/multi:v1")"
expect "3-layer pull: content" "5000000" "$(berth run --rm "$R/multi:v1" sh -c 'wc -c </blob3' | tr -d ' ')"

# ---- a blob whose content does not match its digest ----
berth rmi -f "$mid" >/dev/null
l3digest=$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$R/v2/multi/manifests/v1" | jq -r '.layers[2].digest')
blobfile="$T/plain/data/docker/registry/v2/blobs/sha256/${l3digest:7:2}/${l3digest:7}/data"
check "found the blob in the registry's storage" test -f "$blobfile"
printf 'garbage' | dd of="$blobfile" bs=1 seek=1000 conv=notrunc 2>/dev/null
layers_before=$(ls "$T/data/image/layers" 2>/dev/null | wc -l)
out=$(berth pull "$R/multi:v1" 2>&1)
expect_match "a corrupt blob is refused" 'verification failed' "$out"
check_fails "nothing tagged after the refused pull" berth image inspect "$R/multi:v1"
expect "no temp download left" 0 "$(ls "$T/data/image/tmp" 2>/dev/null | wc -l)"
check "no layer of the corrupt blob stored" test "$(ls "$T/data/image/layers" 2>/dev/null | wc -l)" -le "$layers_before"

# ---- a manifest list: linux/amd64 by default, --platform picks another ----
mkdir -p "$T/armroot"
cp -a "$T/bbroot/." "$T/armroot/"
echo arm64 >"$T/armroot/ARCH"
tar --numeric-owner -C "$T/armroot" -cf "$T/arm.tar" .
berth import -c 'CMD ["sh"]' "$T/arm.tar" "$R/plat:arm" >/dev/null
berth tag busybox "$R/plat:amd"
berth push "$R/plat:arm" >/dev/null
berth push "$R/plat:amd" >/dev/null
acc='Accept: application/vnd.docker.distribution.manifest.v2+json'
mk_entry() { # tag arch
  local body; body=$(curl -s -H "$acc" "http://$R/v2/plat/manifests/$1")
  printf '{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":%s,"digest":"sha256:%s","platform":{"architecture":"%s","os":"linux"}}' \
    "$(printf '%s' "$body" | wc -c)" "$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)" "$2"
}
list="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"manifests\":[$(mk_entry arm arm64),$(mk_entry amd amd64)]}"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.list.v2+json' \
  --data-binary "$list" "http://$R/v2/plat/manifests/multi")
expect "the test manifest list is accepted by the registry" 201 "$code"
out=$(berth pull "$R/plat:multi" 2>&1)
expect "manifest list: linux/amd64 by default" "$id0" "$(berth image inspect -f '{{.Id}}' "$R/plat:multi")"
berth rmi "$R/plat:multi" >/dev/null
out=$(berth pull --platform linux/arm64 "$R/plat:multi" 2>&1)
expect "manifest list: --platform linux/arm64" arm64 "$(berth run --rm "$R/plat:multi" cat /ARCH 2>&1)"
out=$(berth pull --platform linux/s390x "$R/plat:multi" 2>&1)
expect_match "manifest list: no such platform" 'no matching manifest for linux/s390x' "$out"

# ---- a connection dropped in the middle of a layer: the pull resumes ----
cat >"$T/proxy.py" <<'PY'
# Relays 127.0.0.1:LISTEN -> 127.0.0.1:UPSTREAM.  Blob GETs are cut after
# CUT bytes of the response: the first one only (mode "once") or all of
# them (mode "always").
import socket, sys, threading, time
listen, upstream, cut, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0  # seconds per 64 KiB: a slow link
state = {"cuts": 0}
def pipe(a, b, limit=None):
    n = 0
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            if limit is not None and n + len(d) > limit:
                b.sendall(d[:limit - n]); state["cuts"] += 1; break
            b.sendall(d); n += len(d)
            if delay and limit is not None: time.sleep(delay)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def handle(c):
    head = b""
    while b"\r\n\r\n" not in head:
        d = c.recv(65536)
        if not d: c.close(); return
        head += d
        if not head[:1].isalpha(): break  # not HTTP (a TLS hello): relay as is
    try:
        u = socket.create_connection(("127.0.0.1", upstream))
    except OSError:  # the registry is down: so is the connection
        c.close(); return
    u.sendall(head)
    line = head.split(b"\r\n", 1)[0]
    limit = None
    if line.startswith(b"GET ") and b"/blobs/sha256:" in line and (mode == "always" or mode == "slow" or state["cuts"] == 0):
        limit = cut
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    pipe(u, c, limit)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", listen)); s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY
mkdir -p "$T/big"
cp -a "$T/bbroot/." "$T/big/"
head -c 20000000 /dev/urandom >"$T/big/blob"
tar --numeric-owner -C "$T/big" -cf "$T/big.tar" .
berth import -c 'CMD ["sh"]' "$T/big.tar" "$R/big:v1" >/dev/null
berth push "$R/big:v1" >/dev/null
bigid=$(berth image inspect -f '{{.Id}}' "$R/big:v1")
P3=$(free_port)
python3 "$T/proxy.py" "$P3" "$P1" 3000000 once >"$T/proxy1.log" 2>&1 &
REGPIDS+=($!)
for _ in $(seq 1 50); do grep -q ready "$T/proxy1.log" && break; sleep 0.1; done
berth rmi -f "$bigid" >/dev/null
out=$(berth pull "127.0.0.1:$P3/big:v1" 2>&1)
expect_match "a dropped download is retried" 'Retrying in' "$out"
expect_match "the pull completes after the drop" 'Downloaded newer image' "$out"
expect "the resumed pull has the right image" "$bigid" "$(berth image inspect -f '{{.Id}}' "127.0.0.1:$P3/big:v1")"
grep -q "retrying from byte [1-9]" "$T/berthd.log"
expect "berthd resumed from the byte it had (log)" 0 $?
berth rmi -f "$bigid" >/dev/null
P4=$(free_port)
python3 "$T/proxy.py" "$P4" "$P1" 3000000 always >"$T/proxy2.log" 2>&1 &
REGPIDS+=($!)
for _ in $(seq 1 50); do grep -q ready "$T/proxy2.log" && break; sleep 0.1; done
layers_before=$(ls "$T/data/image/layers" 2>/dev/null | wc -l)
out=$(berth pull "127.0.0.1:$P4/big:v1" 2>&1)
expect "a registry that keeps dropping: the pull fails" 1 $?
expect_match "... with a clear error" 'Retrying in|unavailable|failed|error' "$out"
check_fails "... and no image is recorded" berth image inspect "127.0.0.1:$P4/big:v1"
expect "... no temp download left" 0 "$(ls "$T/data/image/tmp" 2>/dev/null | wc -l)"
expect "... no half-applied layer" "$layers_before" "$(ls "$T/data/image/layers" 2>/dev/null | wc -l)"
out=$(berth pull "$R/big:v1" 2>&1)
expect "a second pull (registry healthy) completes" "$bigid" "$(berth image inspect -f '{{.Id}}' "$R/big:v1")"

# the registry itself killed in the middle of a (slow) pull, restarted 2 s later
P5=$(free_port)
python3 "$T/proxy.py" "$P5" "$P1" 1000000000 slow 0.01 >"$T/proxy3.log" 2>&1 &
REGPIDS+=($!)
for _ in $(seq 1 50); do grep -q ready "$T/proxy3.log" && break; sleep 0.1; done
berth rmi -f "$bigid" >/dev/null 2>&1
berth pull "127.0.0.1:$P5/big:v1" >"$T/killpull.out" 2>&1 &
pullpid=$!
sleep 1.5
regpid=${REGPIDS[0]}
kill -9 "$regpid"
sleep 2
docker-registry serve "$T/plain/config.yml" >>"$T/plain/log" 2>&1 &
REGPIDS[0]=$!
wait "$pullpid"
rc=$?
out=$(cat "$T/killpull.out")
if [ $rc -eq 0 ]; then
  expect "registry killed mid-pull: the pull resumed and has the right image" "$bigid" "$(berth image inspect -f '{{.Id}}' "127.0.0.1:$P5/big:v1")"
else
  expect_match "registry killed mid-pull: a clear error" 'unavailable|refused|failed|Retrying' "$out"
  check_fails "registry killed mid-pull: nothing recorded" berth image inspect "127.0.0.1:$P5/big:v1"
fi
sleep 0.5
expect "registry killed mid-pull: no temp download left" "" "$(ls "$T/data/image/tmp" 2>/dev/null)"
for _ in $(seq 1 50); do curl -s -o /dev/null "http://$R/v2/" && break; sleep 0.1; done
out=$(berth pull "$R/big:v1" 2>&1)
expect "registry killed mid-pull: a second pull completes" "$bigid" "$(berth image inspect -f '{{.Id}}' "$R/big:v1")"

# ---- pull -a: every tag ----
berth tag busybox "$R/alltags:one"
berth tag busybox "$R/alltags:two"
berth push "$R/alltags:one" >/dev/null
berth push "$R/alltags:two" >/dev/null
berth rmi "$R/alltags:one" "$R/alltags:two" >/dev/null
out=$(berth pull -a "$R/alltags" 2>&1)
expect "pull -a pulls every tag" "$R/alltags:one $R/alltags:two" "$(berth images --format '{{.Repository}}:{{.Tag}}' "$R/alltags" | sort | tr '\n' ' ' | sed 's/ $//')"

# ---- push -a: every tag; images REPO keeps only that repo's rows ----
berth tag busybox "$R/pusha:one"
berth tag busybox "$R/pusha:two"
out=$(docker push --all-tags "$R/pusha" 2>&1)
expect_match "docker push --all-tags pushes the first tag" "^one: digest: sha256:[0-9a-f]{64} size" "$out"
expect_match "... and the second" "^two: digest: sha256:[0-9a-f]{64} size" "$out"
expect "the registry has both" '["one","two"]' "$(curl -s "http://$R/v2/pusha/tags/list" | jq -c '.tags | sort')"
berth tag busybox "$R/pushb:x"
berth tag busybox "$R/pushb:y"
out=$(berth push -a "$R/pushb" 2>&1)
expect "berth push -a too" '["x","y"]' "$(curl -s "http://$R/v2/pushb/tags/list" | jq -c '.tags | sort')"
expect_match "push -a of a repository with no tag: docker's 404" "An image does not exist locally with the tag: $R/nothing" "$(berth push -a "$R/nothing" 2>&1)"
expect "images busybox: no row of the other repositories' digests" "busybox" "$(docker images --digests --format '{{.Repository}}' busybox | sort -u | paste -sd' ')"
expect_match "images REPO --digests: that repository's digest" "^$R/pusha sha256:[0-9a-f]{64}$" "$(docker images --digests --format '{{.Repository}} {{.Digest}}' "$R/pusha" | sort -u | head -1)"
berth rmi "$R/pusha:one" "$R/pusha:two" "$R/pushb:x" "$R/pushb:y" >/dev/null

# ---- run pulls a missing image; /distribution/{name}/json ----
berth rmi -f "$bigid" >/dev/null
out=$(docker run --rm "$R/big:v1" sh -c 'wc -c </blob' 2>&1)
expect_match "docker run pulls a missing image" "Unable to find image '$R/big:v1' locally" "$out"
expect_match "... and runs it" '20000000' "$out"
out=$(curl -s --unix-socket "$SOCK" "http://x/v1.43/distribution/$R/big:v1/json")
expect "distribution/{name}/json: descriptor digest" "$(skopeo inspect --no-creds --tls-verify=false "docker://$R/big:v1" | jq -r .Digest)" "$(jq -r .Descriptor.digest <<<"$out")"
expect "distribution/{name}/json: platform" "linux/amd64" "$(jq -r '.Platforms[0] | .os + "/" + .architecture' <<<"$out")"

# ---- docker.io through a mirror ----
berth tag busybox "$M/library/busybox:latest"
berth push "$M/library/busybox:latest" >/dev/null
berth rmi -f "$id0" >/dev/null
out=$(berth pull busybox 2>&1)
expect_match "pull busybox comes from the configured mirror" 'Downloaded newer image for busybox:latest' "$out"
expect "... the same image" "$id0" "$(berth image inspect -f '{{.Id}}' busybox)"
berth rmi busybox >/dev/null
out=$(docker pull busybox 2>&1)
expect_match "docker pull busybox through the mirror" 'Status: (Downloaded newer image|Image is up to date) for busybox:latest' "$out"
expect "the origin (docker.io) was never tried" 0 "$(grep -c 'trying the next' "$T/berthd.log")"

# ---- search (the registry's catalog) ----
out=$(docker search "$R/bb")
expect_match "docker search: docker's header" '^NAME +DESCRIPTION +STARS +OFFICIAL' "$(head -1 <<<"$out")"
expect_match "docker search finds the pushed repositories" "$R/berth/bb" "$out"
expect "berth search --format" "$R/multi" "$(berth search --format '{{.Name}}' "$R/mult")"

# ---- TLS + htpasswd, docker login ----
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext 'subjectAltName=IP:127.0.0.1' \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1
htpasswd -Bbn alice s3cret >"$T/htpasswd"
P2=$(free_port)
start_registry secure "$P2" "  tls:
    certificate: $T/cert.pem
    key: $T/key.pem
auth:
  htpasswd:
    realm: berth-test
    path: $T/htpasswd" || fail "TLS registry starts"
S="127.0.0.1:$P2"
export HOME="$T/home"
mkdir -p "$HOME"
out=$(docker login -u alice -p wrong "$S" 2>&1)
expect_match "docker login with a wrong password: docker's message" "login attempt to https://$S/v2/ failed with status: 401 Unauthorized" "$out"
out=$(docker login -u alice -p s3cret "$S" 2>&1)
expect_match "docker login with the right password" 'Login Succeeded' "$out"
berth tag busybox "$S/sec/bb:v1"
out=$(docker push "$S/sec/bb:v1" 2>&1)
expect_match "push to the TLS+htpasswd registry (docker)" 'v1: digest: sha256:' "$out"
check_fails "anonymous access is refused by that registry" skopeo inspect --no-creds --tls-verify=false "docker://$S/sec/bb:v1"
echo s3cret | berth login -u alice --password-stdin "$S" >/dev/null
check "berth login stores docker's config.json" grep -q "\"$S\"" "$HOME/.berth/config.json"
expect_match "berth search of the private registry sends the stored login" "^$S/sec/bb " "$(berth search "$S/sec" 2>&1)"
expect_match "docker search too" "^$S/sec/bb " "$(docker search "$S/sec" 2>&1)"
expect_match "anonymous search of it: refused" "unauthorized|401" "$(curl -s --unix-socket "$SOCK" "http://x/v1.43/images/search?term=$S/sec")"
berth rmi "$S/sec/bb:v1" >/dev/null
out=$(berth pull "$S/sec/bb:v1" 2>&1)
expect_match "pull from the TLS+htpasswd registry (berth, with the stored login)" 'Status: ' "$out"
berth logout "$S" >/dev/null
docker logout "$S" >/dev/null
berth rmi "$S/sec/bb:v1" >/dev/null
out=$(berth pull "$S/sec/bb:v1" 2>&1)
expect_match "after logout the pull is refused" 'unauthorized' "$out"

# ---- token auth: a test-only token issuer (RS256 JWTs signed with openssl) ----
cat >"$T/tokserver.py" <<'PY'
# A test-only token issuer for the registry's token auth: RS256 JWTs signed
# with openssl, the signing certificate in the x5c header.
import base64, json, subprocess, sys, time, os
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs
port, key, cert, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], capture_output=True).stdout
def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        auth = self.headers.get("Authorization", "")
        ok = auth.startswith("Basic ") and base64.b64decode(auth[6:]).decode() == f"{user}:{pw}"
        if auth and not ok:
            self.send_response(401); self.end_headers(); return
        access = []
        for sc in q.get("scope", []):
            t, name, actions = sc.split(":")
            access.append({"type": t, "name": name, "actions": actions.split(",") if ok else []})
        now = int(time.time())
        hdr = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": "berth-test-issuer", "sub": user if ok else "", "aud": q.get("service", [""])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing = (b64u(json.dumps(hdr).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing, capture_output=True).stdout
        tok = signing.decode() + "." + b64u(sig)
        body = json.dumps({"token": tok, "access_token": tok, "expires_in": 300}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
print("ready", flush=True)
HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=token-issuer -keyout "$T/tokkey.pem" -out "$T/tokcert.pem" >/dev/null 2>&1
PT=$(free_port)
python3 "$T/tokserver.py" "$PT" "$T/tokkey.pem" "$T/tokcert.pem" bob hunter2 >"$T/tok.log" 2>&1 &
REGPIDS+=($!)
for _ in $(seq 1 50); do grep -q ready "$T/tok.log" && break; sleep 0.1; done
P6=$(free_port)
start_registry token "$P6" "auth:
  token:
    realm: http://127.0.0.1:$PT/token
    service: berth-test
    issuer: berth-test-issuer
    rootcertbundle: $T/tokcert.pem" || fail "token-auth registry starts"
K="127.0.0.1:$P6"
expect_match "the registry asks for a bearer token" 'Bearer realm=' "$(curl -si "http://$K/v2/" | grep -i www-authenticate)"
berth tag busybox "$K/tok/bb:v1"
out=$(berth push "$K/tok/bb:v1" 2>&1)
expect_match "token auth: an anonymous push is refused" 'unauthorized' "$out"
echo hunter2 | berth login -u bob --password-stdin "$K" >/dev/null
out=$(berth push "$K/tok/bb:v1" 2>&1)
expect_match "token auth: push with a token from the issuer" 'v1: digest: sha256:' "$out"
berth rmi "$K/tok/bb:v1" >/dev/null
out=$(berth pull "$K/tok/bb:v1" 2>&1)
expect_match "token auth: pull" 'Status: ' "$out"
out=$(docker login -u bob -p wrong "$K" 2>&1)
expect_match "token auth: docker login with a wrong password fails" 'failed with status: 401' "$out"
out=$(docker login -u bob -p hunter2 "$K" 2>&1)
expect_match "token auth: docker login" 'Login Succeeded' "$out"
berth rmi "$K/tok/bb:v1" >/dev/null
out=$(docker pull "$K/tok/bb:v1" 2>&1)
expect_match "token auth: docker pull" 'Status: (Downloaded newer image|Image is up to date)' "$out"

cleanup_registries
finish
