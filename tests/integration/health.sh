#!/usr/bin/env bash
# Health checks (issue 14): --health-* and the image's HEALTHCHECK run by
# berthd as execs; State.Health (Status, FailingStreak, the last 5 in Log);
# "(healthy)" in ps; the health filter; health_status events; a probe past
# its timeout is killed; the start period; probing resumes after a berthd
# restart and stops with the container.
. "$(dirname "$0")/lib.sh"

start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
T0=$(date +%s)
st() { docker inspect -f '{{.State.Health.Status}}' "$1" 2>&1; }
until_status() { for _ in $(seq 1 100); do [ "$(st "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }

# ---- starting, then healthy ----
docker run -d --name h1 --health-cmd 'test -f /tmp/ok' --health-interval 200ms --health-retries 2 --health-start-period 5s \
  busybox sh -c 'sleep 1.2; touch /tmp/ok; exec sleep 300' >/dev/null
expect "State.Health.Status starts as starting" "starting" "$(st h1)"
expect_match "ps: (health: starting)" "Up .* \(health: starting\)" "$(docker ps --filter name=h1 --format '{{.Status}}')"
check "it turns healthy once the probe passes" until_status h1 healthy
expect_match "ps: (healthy)" "Up .* \(healthy\)$" "$(docker ps --filter name=h1 --format '{{.Status}}')"
expect "ps --filter health=healthy" "h1" "$(docker ps --filter health=healthy --format '{{.Names}}')"
expect "FailingStreak 0 when healthy" "0" "$(docker inspect -f '{{.State.Health.FailingStreak}}' h1)"
expect "Healthcheck in Config, as sent" "[CMD-SHELL test -f /tmp/ok] 200ms 2" "$(docker inspect -f '{{.Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Retries}}' h1)"

# ---- unhealthy after Retries failures ----
docker exec h1 rm /tmp/ok
check "unhealthy after two failures in a row" until_status h1 unhealthy
expect "ps --filter health=unhealthy" "h1" "$(docker ps --filter health=unhealthy --format '{{.Names}}')"
sleep 1.5
expect "the Log keeps the last five" "5" "$(docker inspect -f '{{len .State.Health.Log}}' h1)"
expect "each with its exit code" "1" "$(docker inspect -f '{{(index .State.Health.Log 4).ExitCode}}' h1)"
expect_match "and Start/End times" '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ \+0000 UTC [0-9]{4}-' "$(docker inspect -f '{{(index .State.Health.Log 4).Start}} {{(index .State.Health.Log 4).End}}' h1)"
streak=$(docker inspect -f '{{.State.Health.FailingStreak}}' h1)
expect "FailingStreak counts on" 1 "$([ "$streak" -ge 4 ] && echo 1 || echo "$streak")"
docker exec h1 touch /tmp/ok
check "healthy again" until_status h1 healthy

# ---- the probe's output ----
docker run -d --name h2 --health-cmd 'echo out-$((1+1)); echo err >&2; exit 3' --health-interval 200ms \
  busybox sleep 300 >/dev/null
check "a failing probe (exit 3) turns it unhealthy after 3 (the default retries)" until_status h2 unhealthy
expect "its stdout and stderr in Output" "out-2 err  " "$(docker inspect -f '{{(index .State.Health.Log 0).Output}}' h2 | tr '\n' ' ')"
expect "exit code 3 recorded" "3" "$(docker inspect -f '{{(index .State.Health.Log 0).ExitCode}}' h2)"

# ---- a probe past its timeout is killed ----
docker run -d --name h3 --health-cmd 'sleep 7; true' --health-interval 200ms --health-timeout 300ms \
  --health-retries 1 busybox sleep 300 >/dev/null
check "a probe that hangs: unhealthy" until_status h3 unhealthy
expect "ExitCode -1 and docker's message" "-1 Health check exceeded timeout (0s)" "$(docker inspect -f '{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}' h3)"
sleep 0.5
expect "the timed-out probe's processes are gone (only sleep 300 and, at most, the current probe)" "1" "$(docker top h3 -o args 2>/dev/null | grep -c 'sleep 7' | awk '{print ($1 <= 1)}')"

# ---- start period ----
docker run -d --name h4 --health-cmd false --health-interval 200ms --health-retries 1 \
  --health-start-period 30s busybox sleep 300 >/dev/null
sleep 1.5
expect "failures in the start period do not count: still starting" "starting 0" "$(docker inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' h4)"
expect "but they are logged" "1" "$([ "$(docker inspect -f '{{len .State.Health.Log}}' h4)" -ge 3 ] && echo 1)"

# ---- HEALTHCHECK from the image; --no-healthcheck ----
mkdir -p "$T/ctx"
printf 'FROM busybox\nHEALTHCHECK --interval=200ms --retries=1 CMD ["true"]\n' >"$T/ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t hc-image "$T/ctx" >/dev/null 2>&1
expect "the built image carries the HEALTHCHECK" "[CMD true]" "$(docker image inspect -f '{{.Config.Healthcheck.Test}}' hc-image)"
docker run -d --name h5 hc-image sleep 300 >/dev/null
check "the image's HEALTHCHECK runs: healthy" until_status h5 healthy
docker run -d --name h6 --health-interval 300ms hc-image sleep 300 >/dev/null
expect "a --health-* flag overrides only its own field (the image's test stays)" "[CMD true] 300ms" "$(docker inspect -f '{{.Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}}' h6)"
docker run -d --name h7 --no-healthcheck hc-image sleep 300 >/dev/null
expect "--no-healthcheck: no State.Health" "" "$(docker inspect -f '{{if .State.Health}}has{{end}}' h7)"
expect "ps --filter health=none" "h7" "$(docker ps --filter health=none --format '{{.Names}}')"

# ---- events ----
sleep 0.3
evs=$(docker events --since "$T0" --until "$(date +%s.%N)" --filter event=health_status --filter container=h1 --format '{{.Action}}')
expect "health_status events at each change" "health_status: healthy,health_status: unhealthy,health_status: healthy" "$(printf '%s\n' "$evs" | paste -sd,)"

# ---- docker-py ----
out=$(timeout 20 python3 - "unix://$SOCK" <<'PY' 2>&1
import docker, sys
c = docker.DockerClient(base_url=sys.argv[1])
h = c.containers.get("h5").attrs["State"]["Health"]
print(h["Status"], h["FailingStreak"], sorted(h["Log"][-1]))
PY
)
expect "docker-py sees State.Health" "healthy 0 ['End', 'ExitCode', 'Output', 'Start']" "$out"

# ---- berth CLI ----
berth run -d --name h8 --health-cmd 'true' --health-interval=200ms --health-retries=2 busybox sleep 300 >/dev/null
check "berth run --health-*: healthy" until_status h8 healthy
expect_match "berth ps shows it" "Up .* \(healthy\)" "$(berth ps --filter name=h8 --format '{{.Status}}')"
expect_match "--no-healthcheck with --health-cmd: refused" "conflicts with --health-\* options" "$(berth run --no-healthcheck --health-cmd true busybox true 2>&1)"
expect_match "a bad duration" "invalid argument \"soon\" for \"--health-interval\"" "$(berth run --health-interval soon busybox true 2>&1)"

# ---- bad values through the API ----
code=$(curl -s -o "$T/resp" -w '%{http_code}' --unix-socket "$SOCK" -H 'Content-Type: application/json' \
  -d '{"Image":"busybox","Healthcheck":{"Test":["CMD","true"],"Interval":500}}' http://x/v1.43/containers/create)
expect "Interval under 1ms: 400" "400" "$code"
expect_match "with docker's words" "Interval in Healthcheck cannot be less than 1ms" "$(cat "$T/resp")"
code=$(curl -s -o "$T/resp" -w '%{http_code}' --unix-socket "$SOCK" -H 'Content-Type: application/json' \
  -d '{"Image":"busybox","Healthcheck":{"Test":["CMD","true"],"Retries":-1}}' http://x/v1.43/containers/create)
expect "Retries negative: 400" "400 1" "$code $(grep -c 'Retries in Healthcheck cannot be negative' "$T/resp")"
code=$(curl -s -o "$T/resp" -w '%{http_code}' --unix-socket "$SOCK" -H 'Content-Type: application/json' \
  -d '{"Image":"busybox","Healthcheck":{"Test":["BOGUS","true"]}}' http://x/v1.43/containers/create)
expect "an unknown Test kind: 400" "400" "$code"
expect_match "a bad health filter value: 400" "Unrecognised filter value for health: bogus" "$(docker ps --filter health=bogus 2>&1)"

# ---- a berthd restart: the status is kept, the probing resumes ----
docker exec h1 rm /tmp/ok
check "h1 unhealthy before the restart" until_status h1 unhealthy
kill -9 "$DPID"; wait "$DPID" 2>/dev/null
start_daemon || { fail "berthd restarts"; finish; exit 1; }
expect "after kill -9 and a restart: still unhealthy" "unhealthy" "$(st h1)"
docker exec h1 touch /tmp/ok
check "and probed again: healthy" until_status h1 healthy

# ---- a stopped container is not probed ----
docker stop -t 0 h8 >/dev/null
n1=$(docker inspect -f '{{range .State.Health.Log}}{{.End}} {{end}}' h8)
sleep 0.8
expect_match "probed before the stop" "UTC" "$n1"
expect "no probe after the stop" "$n1" "$(docker inspect -f '{{range .State.Health.Log}}{{.End}} {{end}}' h8)"

finish
