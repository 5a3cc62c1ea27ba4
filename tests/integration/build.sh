#!/usr/bin/env bash
# Builds (issue 13): Dockerfiles through `DOCKER_BUILDKIT=0 docker build`,
# `berth build` and docker-py: every instruction, the cache, multi-stage,
# ARG/ENV, .dockerignore, USER, ONBUILD, a failing RUN, bad input.
. "$(dirname "$0")/lib.sh"

start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
export DOCKER_BUILDKIT=0
dbuild() { docker build "$@" 2>&1 | grep -v -e DEPRECATED -e 'BuildKit is currently' -e 'environment-variable' -e '^ *$'; }

# ---- every seed instruction ----
C="$T/ctx1"
mkdir -p "$C/sub" "$T/tarsrc/pkg"
echo hello >"$C/f.txt"
echo in-sub >"$C/sub/s.txt"
echo packed >"$T/tarsrc/pkg/p.txt"
tar -C "$T/tarsrc" -czf "$C/pkg.tar.gz" pkg
cat >"$C/Dockerfile" <<'DF'
# a comment
FROM busybox
MAINTAINER me@example.com
ARG GREETING=hi
ENV APP=/app \
    MODE=test
LABEL org.example.k="v 1"
WORKDIR $APP
COPY f.txt .
COPY sub /app/sub/
ADD pkg.tar.gz /opt/
RUN echo "$GREETING from $(pwd) in $MODE" > out.txt && cat f.txt
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGINT
ONBUILD RUN echo triggered > /trig
ENTRYPOINT ["cat"]
CMD ["out.txt"]
DF
out=$(dbuild -t seed:1 "$C")
expect_match "docker build: docker's steps" "Step 1/16 : FROM busybox" "$out"
expect "the RUN's output in the stream" "yes" "$(grep -qx hello <<<"$out" && echo yes)"
expect_match "docker's closing lines" "Successfully built [0-9a-f]{12}
Successfully tagged seed:1" "$out"
expect "run: ENTRYPOINT, CMD, WORKDIR, ARG, ENV" "hi from /app in test" "$(docker run --rm seed:1)"
expect "COPY of a file and a directory" "hello in-sub" "$(docker run --rm seed:1 f.txt sub/s.txt | xargs)"
expect "ADD of a local tar.gz: unpacked" "packed" "$(docker run --rm seed:1 /opt/pkg/p.txt)"
expect "the config: Cmd Entrypoint Env WorkingDir" '["out.txt"] ["cat"] /app' \
  "$(docker image inspect -f '{{json .Config.Cmd}} {{json .Config.Entrypoint}} {{.Config.WorkingDir}}' seed:1)"
expect_match "Env has APP and MODE" '"APP=/app","MODE=test"' "$(docker image inspect -f '{{json .Config.Env}}' seed:1)"
expect "ExposedPorts, Volumes, StopSignal, Labels, OnBuild, Author" \
  '{"53/udp":{},"8080/tcp":{}} {"/data":{}} SIGINT v 1 ["RUN echo triggered > /trig"] me@example.com' \
  "$(docker image inspect -f '{{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{.Config.StopSignal}} {{index .Config.Labels "org.example.k"}} {{json .Config.OnBuild}} {{.Author}}' seed:1)"
expect "history: one row per instruction after FROM, and the base's" "16" "$(docker history -q seed:1 | wc -l)"
expect "no container is left" "" "$(docker ps -aq)"

# ---- the history's words, as docker 20.10's builder writes them ----
H="$T/ctxh"
mkdir -p "$H/d1"
echo one >"$H/f1"; echo two >"$H/d1/x"
cat >"$H/Dockerfile" <<'DF'
FROM busybox
WORKDIR /w
COPY f1 .
COPY --chown=1:2 d1/ /w/d1/
EXPOSE 80 53/udp
VOLUME /data
HEALTHCHECK --interval=5s --timeout=2s --retries=2 CMD true
ENTRYPOINT ["/bin/sh","-c"]
SHELL ["/bin/sh","-ec"]
ONBUILD RUN echo onbuild
DF
dbuild -t hist:1 "$H" >/dev/null
hist=$(docker history --no-trunc --format '{{.CreatedBy}}|{{.Size}}' hist:1 | head -9 | sed -E 's/(file|dir):[0-9a-f]{64}/\1:H/')
cat >"$T/hist.want" <<'WANT'
/bin/sh -ec #(nop)  ONBUILD RUN echo onbuild|0B
/bin/sh -ec #(nop)  SHELL [/bin/sh -ec]|0B
/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh" "-c"]|0B
/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "2s" "0s" '\x02'}|0B
/bin/sh -c #(nop)  VOLUME [/data]|0B
/bin/sh -c #(nop)  EXPOSE 53/udp 80/tcp|0B
/bin/sh -c #(nop) COPY --chown=1:2dir:H in /w/d1/ |4B
/bin/sh -c #(nop) COPY file:H in . |4B
/bin/sh -c #(nop) WORKDIR /w|0B
WANT
expect "docker history: Go's printing of each step (%q lists, %v VOLUME and SHELL, sorted EXPOSE, HEALTHCHECK's struct, COPY's --chown and its destination as written, the SHELL in force, a WORKDIR's layer 0B)" \
  "$(cat "$T/hist.want")" "$hist"
# COPY's source hash as dockerd 20.10 computes it (each entry's tarsum
# header without mtime and its content; a directory's entries sorted,
# links followed, a dangling one by its path, the context's root left out;
# several sources' hashes hashed again): the values below are what dockerd
# printed for this very context (its files' modes set, owner root as the
# docker CLI sends them)
mkdir -p "$T/sh/d"
printf 'hi\n' >"$T/sh/f.txt"
printf 'a\n' >"$T/sh/d/a"
ln -s a "$T/sh/d/l"
ln -s nowhere "$T/sh/d/x"
printf 'FROM busybox\nCOPY f.txt /f\nCOPY d /d/\nCOPY f.txt d /m/\nCOPY . /all/\n' >"$T/sh/Dockerfile"
printf 'Dockerfile\n' >"$T/sh/.dockerignore"
chmod 644 "$T/sh/f.txt" "$T/sh/d/a" "$T/sh/Dockerfile" "$T/sh/.dockerignore"
chmod 755 "$T/sh" "$T/sh/d"
cat >"$T/sh.want" <<'W'
/bin/sh -c #(nop) COPY file:63e4fd53e0703f1e446126de2246bde90b0a09aeab29d54844d39e4eb74bc3c3 in /f 
/bin/sh -c #(nop) COPY dir:03b48df1038cea1b0cc5e140b3793c9cba78a2dddd79f09cb214d2340241800a in /d/ 
/bin/sh -c #(nop) COPY multi:3d2337b17f62c7c3b445ee589cfc359398b779a7f2dd41ef9ed7a8709085525c in /m/ 
/bin/sh -c #(nop) COPY dir:56ab32bfca2802326855c625c7647ed5971da9a3d81a17f83af3ced96088b862 in /all/ 
W
docker build -q -t shash:1 "$T/sh" >/dev/null 2>&1
expect "COPY file:, dir: and multi: hashes are dockerd's (docker build)" "$(cat "$T/sh.want")" "$(docker history --no-trunc --format '{{.CreatedBy}}' shash:1 | head -4 | tac)"
berth build -q --no-cache -t shash:2 "$T/sh" >/dev/null 2>&1
expect "and through berth build (its context read in place)" "$(cat "$T/sh.want")" "$(berth history --no-trunc --format '{{.CreatedBy}}' shash:2 | head -4 | tac)"
docker rmi shash:1 shash:2 >/dev/null
parent=$(docker image inspect -f '{{.Parent}}' hist:1)
expect "a stage on an image without PATH gets docker's; Config.Image is the parent" "yes $parent" \
  "$(docker image inspect -f '{{json .Config.Env}}' hist:1 | grep -q '"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"' && echo yes) $(docker image inspect -f '{{.Config.Image}}' hist:1)"
expect "docker history: the rows of the build's own images have their ids, as docker's (not <missing>)" \
  "$parent" "$(docker history -q --no-trunc hist:1 | sed -n 2p)"
gp=$(docker image inspect -f '{{.Parent}}' "$parent")
docker rmi --no-prune hist:1 >/dev/null
expect "rmi --no-prune: the build's intermediate images stay" "$parent" "$(docker image inspect -f '{{.Id}}' "$parent" 2>&1)"
out=$(docker rmi "$parent")
expect "rmi: the image and its untagged intermediate parents go, as docker's (each 'Deleted')" \
  "yes yes sha256:" "$(grep -q "^Deleted: $parent" <<<"$out" && echo yes) $(grep -q "^Deleted: $gp" <<<"$out" && echo yes) ${gp:0:7}"
expect_match "and they are gone" "No such image" "$(docker image inspect "$gp" 2>&1)"

# ---- the cache ----
out=$(dbuild -t seed:1 "$C")
expect "a second build: every step from the cache" "15" "$(grep -c 'Using cache' <<<"$out")"
expect "the same image" "$(docker image inspect -f '{{.Id}}' seed:1 | cut -c8-19)" "$(sed -n 's/^Successfully built //p' <<<"$out")"
echo changed >"$C/sub/s.txt"
out=$(dbuild -t seed:2 "$C")
expect "a changed COPY source: the steps before it cached, it and the ones after rerun" "6 yes" \
  "$(grep -c 'Using cache' <<<"$out") $(grep -q 'Running in' <<<"$out" && echo yes)"
expect "the new file is in" "changed" "$(docker run --rm seed:2 sub/s.txt)"
out=$(dbuild --no-cache -t seed:3 "$C")
expect "--no-cache: nothing from the cache" "0" "$(grep -c 'Using cache' <<<"$out")"

# ---- multi-stage, --target ----
M="$T/ms"
mkdir -p "$M"
cat >"$M/Dockerfile" <<'DF'
FROM busybox AS builder
RUN echo built >/artifact && echo more >/other
FROM busybox AS second
COPY --from=builder /other /o
FROM scratch
COPY --from=builder /artifact /artifact
COPY --from=0 /other /
DF
dbuild -t ms:1 "$M" >/dev/null
docker create --name msc ms:1 x >/dev/null
expect "scratch final stage: only what was copied from the stages (and the mount points and /etc files every container has, as with docker's init layer)" \
  ".dockerenv artifact dev/ etc/ etc/hostname etc/hosts etc/resolv.conf other proc/ sys/" "$(docker export msc | tar -t | LC_ALL=C sort | xargs)"
layer_files() {
  python3 -c '
import io, json, sys, tarfile
t = tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()))
for l in json.load(t.extractfile("manifest.json"))[0]["Layers"]:
    print("\n".join(tarfile.open(fileobj=t.extractfile(l)).getnames()))'
}
expect "... the image itself: only what was copied" "artifact other" "$(docker save ms:1 | layer_files | sort | xargs)"
expect "COPY --from=name and --from=0" "built more" "$(docker export msc | tar -xO | xargs)"
docker rm msc >/dev/null
id=$(berth build -q --target second "$M")
expect_match "berth build -q --target: only the image id" "^sha256:[0-9a-f]{64}$" "$id"
expect "--target stops at the stage" "more" "$(berth run --rm "$id" cat /o)"

# ---- ARG/ENV, --build-arg, .dockerignore, USER, ONBUILD, stdin ----
A="$T/args"
mkdir -p "$A"
printf 'secret\n*.log\n!keep.log\n' >"$A/.dockerignore"
echo s >"$A/secret"; echo a >"$A/a.log"; echo k >"$A/keep.log"
cat >"$A/Dockerfile" <<'DF'
FROM busybox
ARG V
ARG D=dflt
ENV E=${V:-none}-${D}
RUN echo "v=$V e=$E" >/vals && echo 'app:x:1234:1234::/:/bin/sh' >>/etc/passwd
COPY . /ctx/
USER app
CMD ["sh","-c","cat /vals; id -u; ls /ctx"]
DF
out=$(berth build --build-arg V=given --build-arg UNUSED=1 -t args:1 "$A" 2>&1)
expect_match "an unused --build-arg: docker's warning" "\[Warning\] One or more build-args \[UNUSED\] were not consumed" "$out"
expect "ARG, --build-arg, defaults, ENV with \${V:-x}; USER; .dockerignore with a ! exception" \
  "v=given e=given-dflt 1234 Dockerfile keep.log" "$(berth run --rm args:1 | xargs)"
BERTH_BUILD_UPLOAD=1 berth build -q --build-arg V=given -t args:up "$A" >/dev/null
expect "the same through an uploaded context (BERTH_BUILD_UPLOAD=1: the tar, as docker's CLI sends it)" \
  "v=given e=given-dflt 1234 Dockerfile keep.log" "$(berth run --rm args:up | xargs)"
expect "berth build as root names its context, read in place: nothing unpacked under the data root" "" \
  "$(ls "$T/data/build" 2>/dev/null)"
expect_match "berthcontext must be absolute" "an absolute path" \
  "$(curl -s -X POST --unix-socket "$SOCK" 'http://x/build?berthcontext=rel/dir')"
expect_match "berthcontext of a missing directory: refused" "berthcontext /nonexistent" \
  "$(curl -s -X POST --unix-socket "$SOCK" 'http://x/build?berthcontext=/nonexistent')"
printf 'FROM seed:1\nCMD ["/trig"]\n' | berth build -t child:1 - >/dev/null
expect "ONBUILD: the parent's trigger ran in the child build" "triggered" "$(berth run --rm child:1)"
expect "and the child does not inherit it" "null" "$(berth image inspect -f '{{json .Config.OnBuild}}' child:1)"
tar -C "$A" -cf - Dockerfile .dockerignore keep.log | berth build -q -t fromtar:1 - >/dev/null
expect "berth build - with a tar context on stdin" "1234" "$(berth run --rm fromtar:1 id -u)"
expect "-f a Dockerfile outside the context" "outside" \
  "$(printf 'FROM busybox\nCMD ["echo","outside"]\n' >"$T/elsewhere.df"; berth build -q -f "$T/elsewhere.df" -t else:1 "$A" >/dev/null; berth run --rm else:1)"

# ---- a failing RUN ----
printf 'FROM busybox\nRUN echo step-one\nRUN exit 3\n' >"$T/fail.df"
out=$(dbuild -f "$T/fail.df" "$A"); rc=$?
expect_match "a failing RUN: docker's message" "The command '/bin/sh -c exit 3' returned a non-zero code: 3" "$out"
docker build -q -f "$T/fail.df" "$A" >/dev/null 2>&1
expect "docker build exits 1" "1" "$?"
berth build -q -f "$T/fail.df" "$A" >/dev/null 2>&1
expect "berth build exits 1" "1" "$?"
expect "no container left behind" "" "$(docker ps -aq)"
out=$(dbuild -f "$T/fail.df" "$A")
expect_match "the steps before it stay cached" "Using cache" "$out"

# ---- bad input ----
expect_match "an unknown instruction, with its line" "dockerfile parse error line 2: unknown instruction: FOO" \
  "$(printf 'FROM busybox\nFOO bar\n' | berth build - 2>&1)"
expect_match "no FROM first" "no build stage in current context" "$(printf 'RUN true\n' | berth build - 2>&1)"
# the parser's refusals come before any step, as dockerd's: the docker
# CLI prints them as the daemon's answer
mkdir -p "$T/pe"
pe() { printf "$1" >"$T/pe/Dockerfile"; DOCKER_BUILDKIT=0 docker build -q "$T/pe" 2>&1 | tail -1; }
expect "no FROM first: before any step, without the parser's prefix" "Error response from daemon: no build stage in current context" "$(pe 'RUN true\n')"
expect "FROM's words counted before any step" "Error response from daemon: dockerfile parse error line 3: FROM requires either one or three arguments" "$(pe 'FROM busybox\nRUN true\nFROM a b\n')"
expect "an instruction alone, in dockerd's words for each" \
  "WORKDIR requires exactly one argument|COPY requires at least two arguments, but only one was provided. Destination could not be determined|HEALTHCHECK requires at least one argument|FROM requires either one or three arguments" \
  "$(pe 'FROM busybox\nWORKDIR\n' | sed 's/.*line 2: //')|$(pe 'FROM busybox\nCOPY\n' | sed 's/.*line 2: //')|$(pe 'FROM busybox\nHEALTHCHECK --interval=5s\n' | sed 's/.*line 2: //')|$(pe 'FROM\n' | sed 's/.*line 1: //')"
expect "an empty Dockerfile, one of comments only" \
  "Error response from daemon: the Dockerfile (Dockerfile) cannot be empty|Error response from daemon: failed to parse Dockerfile: file with no instructions" "$(pe '')|$(pe '# c\n\n')"
expect "a base name an ARG leaves blank: the word as written" 'base name (${X}) should not be blank' "$(pe 'ARG X=\nFROM ${X}\n')"
pid=$(pe 'FROM busybox\nCMD\n'); eid=$(pe 'FROM busybox\nENTRYPOINT ["e"]\nENTRYPOINT\n')
expect "CMD alone: the shell alone; ENTRYPOINT alone: none (dockerd's)" '["/bin/sh","-c"] null|null null' \
  "$(docker image inspect -f '{{json .Config.Cmd}} {{json .Config.Entrypoint}}' "$pid")|$(docker image inspect -f '{{json .Config.Cmd}} {{json .Config.Entrypoint}}' "$eid")"
expect "RUN alone runs the shell alone, which fails as dockerd's" "The command '/bin/sh -c' returned a non-zero code: 2" "$(pe 'FROM busybox\nRUN\n')"
docker rmi "$pid" "$eid" >/dev/null 2>&1
# what dockerd's parser refuses comes back as an HTTP error before any output,
# in its words (the docker CLI prints "Error response from daemon: …")
expect "LABEL without a value: dockerd's 400, before the build" "Error response from daemon: failed to parse Dockerfile: LABEL must have two arguments" \
  "$(printf 'FROM busybox\nLABEL A\n' | docker build -q - 2>&1 | tail -1)"
expect "an unknown flag" "Error response from daemon: dockerfile parse error line 2: Unknown flag: network" \
  "$(printf 'FROM busybox\nRUN --network=none true\n' | docker build -q - 2>&1 | tail -1)"
expect "HEALTHCHECK's Go durations" '{"Test":["CMD-SHELL","true"],"Interval":90000000000,"Timeout":3600000000000}' \
  "$(printf 'FROM busybox\nHEALTHCHECK --interval=1m30s --timeout=1h CMD true\n' | docker build -q - 2>/dev/null | xargs docker image inspect -f '{{json .Config.Healthcheck}}')"
expect "RUN --mount: refused when it runs, never ignored" "the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled" \
  "$(printf 'FROM busybox\nRUN --mount=type=cache,target=/x true\n' | docker build -q - 2>&1 | tail -1)"
expect_match "COPY ../x: outside the context" "forbidden path outside the build context: ../x" \
  "$(printf 'FROM busybox\nCOPY ../x /\n' >"$A/Dockerfile.bad"; berth build -f "$A/Dockerfile.bad" "$A" 2>&1)"
expect_match "an unknown stage in COPY --from" "invalid from flag value nosuch" \
  "$(printf 'FROM busybox\nCOPY --from=nosuch /a /b\n' | berth build - 2>&1)"
expect_match "an unknown --target" "failed to reach build target nope" "$(berth build --target nope "$M" 2>&1)"
expect_match "a source that is not there" "file not found in build context" \
  "$(printf 'FROM busybox\nCOPY nothere /\n' >"$A/Dockerfile.nf"; berth build -f "$A/Dockerfile.nf" "$A" 2>&1)"
expect_match "SHELL must be JSON" "SHELL requires the arguments to be in JSON form" \
  "$(printf 'FROM busybox\nSHELL /bin/sh -c\n' | berth build - 2>&1)"
python3 - "$T/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    d = b"FROM busybox\n"; i = tarfile.TarInfo("Dockerfile"); i.size = len(d); t.addfile(i, io.BytesIO(d))
    e = tarfile.TarInfo("../../escaped-by-build"); e.size = 1; t.addfile(e, io.BytesIO(b"x"))
PY
expect_match "a context tar with ../ entries: refused" "build context" "$(berth build - <"$T/evil.tar" 2>&1)"
expect "nothing written outside" "absent" "$([ -e "$T/data/escaped-by-build" ] || [ -e "$T/escaped-by-build" ] && echo present || echo absent)"
expect "the scratch directories are gone" "" "$(ls "$T/data/build" 2>/dev/null)"

# ---- docker-py ----
out=$(python3 - "unix://$SOCK" "$C" <<'PY' 2>&1
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
img, logs = c.images.build(path=sys.argv[2], tag="py:1")
print("py:1" in img.tags, any("Step 1/" in l.get("stream", "") for l in logs))
print(c.containers.run("py:1", remove=True).decode().strip())
PY
)
expect "docker-py images.build: the image and its log" "True True
hi from /app in test" "$out"

# ---- docker-compose 1.29: a project with a build: section ----
mkdir -p "$T/proj/app"
printf 'FROM busybox\nARG MSG=none\nRUN echo "$MSG" >/msg\nCMD ["cat","/msg"]\n' >"$T/proj/app/Dockerfile"
cat >"$T/proj/docker-compose.yml" <<'YML'
version: "3"
services:
  app:
    build:
      context: ./app
      args:
        MSG: from-compose
    image: proj-app:1
    network_mode: none
YML
(cd "$T/proj" && timeout 120 docker-compose -p proj build) >"$T/compose.log" 2>&1
expect "docker-compose build: the image, with its build args" "from-compose" "$(docker run --rm proj-app:1 2>&1)"
grep -q "Successfully built" "$T/compose.log" && ok "docker-compose shows the build's stream" || { fail "docker-compose shows the build's stream"; sed 's/^/#   /' "$T/compose.log" | tail -5; }

# ---- berthd stopped during a RUN: the build is cancelled (its container
# killed and removed) and berthd leaves at once; under the sanitizers, the
# build's thread no longer outlives the state berthd frees (CI caught one)
mkdir -p "$T/slow"
printf 'FROM busybox\nRUN sleep 30\n' >"$T/slow/Dockerfile"
before=$(berth ps -aq | wc -l)
# a client that goes (^C) cancels its build, as docker's: the RUN is killed
berth build -t gone:1 "$T/slow" >"$T/gone.log" 2>&1 &
for _ in $(seq 1 200); do grep -q "Running in" "$T/gone.log" && break; sleep 0.05; done
pkill -9 -f "berth build -t gone:1"
for _ in $(seq 1 100); do [ "$(berth ps -aq | wc -l)" = "$before" ] && break; sleep 0.05; done
expect "a build whose client went is cancelled: its RUN's container gone within 5 s" "$before" \
  "$(berth ps -aq | wc -l)"
expect "and no image made" "" "$(berth images -q gone:1 2>&1)"
expect "berthd's log says why, once" "1" \
  "$(grep -c 'build cancelled at step 2/2: its client went away' "$T/berthd.log")"
berth build -t slow:1 "$T/slow" >"$T/slow.log" 2>&1 &
bpid=$!
for _ in $(seq 1 200); do grep -q "Running in" "$T/slow.log" && break; sleep 0.05; done
check_stops "berthd stops within 3 s in the middle of a build's RUN sleep 30"
wait "$bpid" 2>/dev/null
start_daemon || fail "berthd starts again"
expect "the cancelled build left no container" "$before" "$(berth ps -aq | wc -l)"
expect "nor an image" "" "$(berth images -q slow:1 2>&1)"
expect "berthd's log says the stop cancelled it" "1" \
  "$(grep -c 'build cancelled at step 2/2: berthd is stopping' "$T/berthd.log")"
finish
