#!/usr/bin/env bash
# Images through berth and the stock docker CLI: import, list, inspect,
# history, tag, rmi, save/load, skopeo/umoci interop, restarts.
. "$(dirname "$0")/lib.sh"

start_daemon || { fail "berthd starts"; finish; exit 1; }
ok "berthd starts"

out=$(docker version 2>&1)
expect_match "docker version talks to berthd" "Server: Berth Engine" "$out"
expect_match "API 1.43 negotiated" "API version: +1.43 \(minimum version 1.24\)" "$out"
out=$(docker info 2>&1)
expect_match "docker info shows the storage driver" "Storage Driver: overlay" "$out"
out=$(berth info 2>&1)
expect_match "berth info lists every driver with its ABI" "storage +overlay +1.0.0 +ABI 1.3" "$out"
expect_match "berth info lists built-ins" "log +json-file .*built-in" "$out"
out=$(berth plugin ls --format '{{.Kind}}/{{.Name}}/{{.ABI}}')
expect_match "plugin ls" "network/none/1.3" "$out"

hdr=$(curl -sI --unix-socket "$SOCK" http://x/_ping)
expect_match "HEAD /_ping has Api-Version" "Api-Version: 1.43" "$hdr"
body=$(curl -s --unix-socket "$SOCK" http://x/v1.50/version)
expect "too new a version" '{"message":"client version 1.50 is too new. Maximum supported API version is 1.43"}' "$body"
body=$(curl -s --unix-socket "$SOCK" http://x/nosuch)
expect "unknown route" '{"message":"page not found"}' "$body"

make_busybox_tar "$T/bb.tar"
id=$(berth import -c 'CMD ["sh"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$T/bb.tar" busybox:latest)
expect_match "berth import prints the image id" "^sha256:[0-9a-f]{64}$" "$id"
out=$(berth images)
expect_match "berth images lists busybox" "^busybox +latest +${id:7:12} +.* ago +1.9[0-9]MB$" "$out"
expect_match "table header like docker's" "^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$" "$out"
out=$(docker images)
expect_match "docker images lists busybox" "^busybox +latest +${id:7:12}" "$out"
expect "images -q" "${id:7:12}" "$(berth images -q)"
expect "images --format" "busybox:latest" "$(berth images --format '{{.Repository}}:{{.Tag}}')"
expect "images --format json" "busybox" "$(berth images --format '{{json .}}' | jq -r .Repository)"

diffid=sha256:$(sha256sum "$T/bb.tar" | cut -d' ' -f1)
insp=$(docker image inspect busybox)
expect "RootFS.Layers is the tar's sha256" "$diffid" "$(echo "$insp" | jq -r '.[0].RootFS.Layers[0]')"
expect "ContainerConfig is an object" "object" "$(echo "$insp" | jq -r '.[0].ContainerConfig|type')"
expect "Config.Cmd from the change" '["sh"]' "$(echo "$insp" | jq -c '.[0].Config.Cmd')"
expect "Id is the config digest" "$id" "$(echo "$insp" | jq -r '.[0].Id')"
expect "inspect by short id" "$id" "$(docker image inspect --format '{{.Id}}' "${id:7:12}")"
out=$(docker image inspect nosuch 2>&1); rc=$?
expect_match "inspect of a missing image: dockerd's words" "Error response from daemon: no such image: nosuch: No such image: nosuch:latest" "$out"
expect "history and tag of a missing one name the normalised reference" "Error response from daemon: No such image: nosuch:latest|Error response from daemon: No such image: nosuch:1" "$(docker history nosuch 2>&1)|$(docker tag nosuch:1 x 2>&1)"
expect "inspect of a missing image exits 1" 1 "$rc"
out=$(docker history busybox)
expect_match "docker history" "${id:7:12} .*Imported from -" "$out"

check "docker tag" docker tag busybox localhost:5000/foo/bb:v1
out=$(docker images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')
expect "both tags listed" "busybox:latest localhost:5000/foo/bb:v1 " "$out"
out=$(docker rmi "${id:7:12}" 2>&1); rc=$?
expect_match "rmi by id of a multi-repo image is a conflict" "conflict: unable to delete ${id:7:12} \(must be forced\) - image is referenced in multiple repositories" "$out"
expect "conflict exits 1" 1 "$rc"
out=$(docker rmi localhost:5000/foo/bb:v1)
expect "rmi a tag untags only" "Untagged: localhost:5000/foo/bb:v1" "$out"
out=$(docker rmi nosuch 2>&1); rc=$?
expect "rmi of a missing image" "Error response from daemon: No such image: nosuch:latest" "$out"
expect "exits 1" 1 "$rc"
docker rmi -f nosuch >/dev/null 2>&1; expect "rmi -f of a missing image exits 0" 0 "$?"
check_fails "tag with an uppercase repository fails" docker tag busybox Bad/Name

out=$(docker save busybox | docker load)
expect "docker save | docker load" "Loaded image: busybox:latest" "$out"
check "berth save -o" berth save -o "$T/save.tar" busybox
expect "save of a name that is not there, and of a tag that is not: dockerd's two refusals" \
  "Error response from daemon: No such image: nosuch|Error response from daemon: reference does not exist" \
  "$(docker save nosuch 2>&1 >/dev/null)|$(docker save busybox nosuch:2 2>&1 >/dev/null)"
expect_match "save has manifest.json, index.json, oci-layout" "index.json.*manifest.json.*oci-layout" "$(tar -tf "$T/save.tar" | tr '\n' ' ')"
sk=$(skopeo inspect "docker-archive:$T/save.tar" 2>&1)
expect "skopeo reads berth's save" "$diffid" "$(echo "$sk" | jq -r '.Layers[0]' 2>/dev/null)"
check "skopeo copy to an OCI layout" skopeo copy "docker-archive:$T/save.tar" "oci:$T/oci:bb"
expect "umoci sees the image" "bb" "$(umoci ls --layout "$T/oci")"
check "umoci unpacks it" umoci raw unpack --image "$T/oci:bb" "$T/unpacked"
check "unpacked busybox is the same binary" cmp /bin/busybox "$T/unpacked/bin/busybox"

out=$(berth rmi busybox)
expect_match "rmi deletes image and layer" "Untagged: busybox:latest.Deleted: $id.Deleted: $diffid" "$(echo "$out" | tr '\n' '.')"
expect "no images left" "" "$(berth images -q)"
expect "no layers left in the driver" "l" "$(ls "$T/data/storage/overlay")"
out=$(berth load -i "$T/save.tar")
expect "berth load of a docker-save tar" "Loaded image: busybox:latest" "$out"
expect "same image id after save/load" "$id" "$(docker image inspect -f '{{.Id}}' busybox)"
(cd "$T/oci" && tar -cf "$T/oci.tar" .)
out=$(berth load -i "$T/oci.tar")
expect_match "berth load of an OCI layout tar" "^Loaded image ID: sha256:[0-9a-f]{64}$" "$out"
check "docker import" docker import -c 'CMD ["sh"]' -m "imported" "$T/bb.tar" myimg:imp
expect "import message in Comment" "imported" "$(docker image inspect -f '{{.Comment}}' myimg:imp)"
docker import "$T/bb.tar" myimg:imp2 >/dev/null
expect "no message: the history's, as dockerd shows it" "Imported from -" "$(docker image inspect -f '{{.Comment}}' myimg:imp2; docker rmi myimg:imp2 >/dev/null)"
expect "import of an empty stream: an image with one empty layer, as dockerd (Go's tar reader)" "1 0" \
  "$(docker import - emptyimp:1 </dev/null >/dev/null && docker image inspect -f '{{len .RootFS.Layers}} {{.Size}}' emptyimp:1)"
docker rmi emptyimp:1 >/dev/null
# a parent's tag goes, the image stays for its child (dockerd's quiet
# conflict); by id it is refused; the child's rmi takes both
docker create --name par busybox true >/dev/null && docker commit par par:1 >/dev/null && docker rm par >/dev/null
docker create --name chi par:1 true >/dev/null && docker commit chi chi:1 >/dev/null && docker rm chi >/dev/null
pid=$(docker image inspect -f '{{.Id}}' par:1)
expect_match "rmi by id of a parent: dockerd's conflict" "unable to delete ${pid:7:12} \(cannot be forced\) - image has dependent child images" "$(docker rmi "$pid" 2>&1)"
expect "rmi of the parent's tag: untagged, as dockerd (berth refused it)" "Untagged: par:1" "$(docker rmi par:1 2>&1)"
expect "the parent stays, with no tag" "[]" "$(docker image inspect -f '{{.RepoTags}}' "$pid")"
docker rmi chi:1 >/dev/null
check_fails "the child's rmi takes the untagged parent with it" docker image inspect "$pid"
expect "a stream that is no tar is still refused, in dockerd's words" "Error response from daemon: Error processing tar file(exit status 1): unexpected EOF" "$(echo garbage | docker import - bad:1 2>&1)"
expect "a longer one" "Error response from daemon: Error processing tar file(exit status 1): archive/tar: invalid tar header" "$(head -c 2000 /dev/zero | tr '\0' x | docker import - bad:1 2>&1)"
out=$(docker images --filter dangling=true -q | wc -l)
expect "dangling filter" "1" "$out"
expect "reference filter" "myimg:imp" "$(docker images --filter reference='myimg*' --format '{{.Repository}}:{{.Tag}}')"

before=$(berth images --format '{{.ID}} {{.Repository}}:{{.Tag}}' | sort)
stop_daemon TERM
start_daemon || fail "berthd restarts"
expect "images and tags survive a restart" "$before" "$(berth images --format '{{.ID}} {{.Repository}}:{{.Tag}}' | sort)"
stop_daemon KILL
start_daemon || fail "berthd restarts after kill -9"
expect "images and tags survive kill -9" "$before" "$(berth images --format '{{.ID}} {{.Repository}}:{{.Tag}}' | sort)"
check "restored image still inspects" docker image inspect busybox
expect "state files are whole JSON" "ok" "$(jq -e . "$T/data/image/repositories.json" >/dev/null && echo ok)"
stop_daemon TERM
finish
