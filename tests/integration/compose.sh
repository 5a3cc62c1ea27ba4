#!/usr/bin/env bash
# docker-compose 1.29 (Debian's) end to end against berthd, with the three
# projects of tests/compose/: (1) web (built here, published port) + app
# (reaches it by service name) + a one-shot service filling a named
# volume; (2) depends_on condition: service_healthy; (3) scale, restart,
# logs -f, exec, run --rm, config, down -v.  Each through up -d, checked
# from the test's own network namespace, and down leaves nothing behind.
if [ -z "${BERTH_NETNS_TEST:-}" ]; then
  exec env BERTH_NETNS_TEST=1 unshare --net --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
ip link set lo up
command -v docker-compose >/dev/null || { fail "docker-compose is installed (tests/run.sh installs it)"; finish; exit 1; }
write_conf
printf 'network: { drivers = [ "none", "host", "bridge" ]; default = "bridge"; };\n' >>"$T/daemon.conf"
start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import -c 'CMD ["sh"]' "$T/bb.tar" busybox:latest >/dev/null
cp -r "$TOP/tests/compose" "$T/compose"
export COMPOSE_HTTP_TIMEOUT=120 DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
dc() { local p=$1; shift; (cd "$T/compose/$p" && timeout 180 docker-compose -p "$p" "$@"); }
left() { # what of project $1 is left: containers, networks, volumes
  echo "$(docker ps -aq --filter "label=com.docker.compose.project=$1" | wc -l)" \
    "$(docker network ls -q --filter "label=com.docker.compose.project=$1" | wc -l)" \
    "$(docker volume ls -q --filter "label=com.docker.compose.project=$1" | wc -l)"
}

# ---- (1) web + app + a volume filled by a one-shot service ----
dc web up -d >"$T/web.log" 2>&1
expect "web: up -d succeeds" 0 $?
expect_match "the build: section was built (its stream shown)" "Successfully (built|tagged)" "$(cat "$T/web.log")"
for _ in $(seq 1 50); do curl -s -m 1 -o /dev/null 127.0.0.1:18080/index.html && break; sleep 0.1; done
expect "web's page through the published port, with the build arg" "hello-from-compose" "$(curl -s -m 3 127.0.0.1:18080/index.html)"
expect "the one-shot seed service ran and exited 0" "exited 0" "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' web_seed_1)"
expect "what it wrote in the named volume, served by web" "seeded-by-a-one-shot" "$(curl -s -m 3 127.0.0.1:18080/data/seed.txt)"
for _ in $(seq 1 50); do dc web exec -T app test -f /tmp/fetched 2>/dev/null && break; sleep 0.2; done
expect "app fetched http://web/ by the service name" "hello-from-compose" "$(dc web exec -T app cat /tmp/fetched 2>&1)"
expect_match "app resolves web to its address on the project network" "^10\.|^172\." "$(dc web exec -T app nslookup web 2>/dev/null | awk '/^Address/ {a=$NF} END {print a}')"
expect "ps: three services" "web_app_1 web_seed_1 web_web_1" "$(dc web ps --services 2>/dev/null | sort | sed 's/^/web_/; s/$/_1/' | paste -sd' ')"
expect "the volume is the project's" "web_shared" "$(docker volume ls -q --filter label=com.docker.compose.project=web)"
dc web down -v >>"$T/web.log" 2>&1
expect "web: down -v succeeds" 0 $?
expect "down -v: no container, network or volume left" "0 0 0" "$(left web)"

# ---- (2) depends_on: condition: service_healthy ----
t0=$(date +%s.%N)
dc healthy up -d >"$T/healthy.log" 2>&1
expect "healthy: up -d succeeds" 0 $?
t1=$(date +%s.%N)
expect "up -d waited for db to be healthy (about 2 s)" 1 "$(python3 -c "print(1 if $t1 - $t0 > 1.8 else 0)")"
expect "db is healthy" "healthy" "$(docker inspect -f '{{.State.Health.Status}}' healthy_db_1)"
db_ok=$(docker inspect -f '{{range .State.Health.Log}}{{if eq .ExitCode 0}}{{.End.UnixNano}} {{end}}{{end}}' healthy_db_1 | awk '{print $1}')
api_start=$(date -d "$(docker inspect -f '{{.State.StartedAt}}' healthy_api_1)" +%s%N)
expect "api started only after db's first passing probe" 1 "$([ -n "$db_ok" ] && [ "$api_start" -gt "$db_ok" ] && echo 1 || echo "db_ok=$db_ok api=$api_start")"
expect_match "ps shows db (healthy)" "healthy_db_1 .*Up.*\(healthy\)" "$(dc healthy ps 2>/dev/null)"
dc healthy down -v >>"$T/healthy.log" 2>&1
expect "healthy: down -v leaves nothing" "0 0 0" "$(left healthy)"

# ---- (3) operations ----
out=$(dc ops config 2>&1)
expect_match "config prints the resolved file" "ROLE: worker" "$out"
dc ops up -d --scale worker=3 >"$T/ops.log" 2>&1
expect "ops: up -d --scale worker=3 succeeds" 0 $?
expect "three workers run" "3" "$(docker ps -q --filter label=com.docker.compose.project=ops --filter label=com.docker.compose.service=worker | wc -l)"
out=$(timeout 20 docker stats --no-stream --format '{{.Name}}' 2>&1 | sort | paste -sd' ')
expect "docker stats without arguments (it reads /events): every running container" "ops_worker_1 ops_worker_2 ops_worker_3" "$out"
before=$(docker inspect -f '{{.State.StartedAt}}' ops_worker_2)
dc ops restart -t 1 worker >>"$T/ops.log" 2>&1
expect "restart worker succeeds" 0 $?
expect "each worker was restarted" "3" "$(for i in 1 2 3; do docker inspect -f '{{.State.Running}} {{.RestartCount}} {{.State.StartedAt}}' ops_worker_$i; done | grep -c '^true')"
expect "a new StartedAt" 1 "$([ "$(docker inspect -f '{{.State.StartedAt}}' ops_worker_2)" != "$before" ] && echo 1)"
n0=$(docker logs ops_worker_1 2>&1 | grep -c tick)
timeout 3 docker-compose -f "$T/compose/ops/docker-compose.yml" -p ops logs -f --no-color worker >"$T/logs.out" 2>&1
expect "logs -f follows until stopped (timeout ends it)" 124 $?
expect "logs -f: every worker's lines, prefixed" "3" "$(grep -oE '^worker_[123] +\| tick' "$T/logs.out" | awk '{print $1}' | sort -u | wc -l)"
n1=$(grep -c '^worker_1 .*tick' "$T/logs.out")
expect "and new lines kept coming while it followed (3 s at one per 0.3 s)" 1 "$([ "$n1" -ge $((n0 + 5)) ] && echo 1 || echo "$n0 -> $n1")"
expect "exec -T into a worker (index 1)" "worker /scratch" "$(dc ops exec -T worker sh -c 'echo $ROLE; ls -d /scratch' 2>&1 | paste -sd' ')"
expect "exec --index=3" "$(docker inspect -f '{{.Config.Hostname}}' ops_worker_3)" "$(dc ops exec -T --index=3 worker hostname 2>&1)"
out=$(dc ops run --rm tool echo ran-once 2>/dev/null)
expect "run --rm: its output" "ran-once" "$(printf '%s\n' "$out" | tr -d '\r' | tail -1)"
expect "and the one-off container is gone" "0" "$(docker ps -aq --filter label=com.docker.compose.oneoff=True | wc -l)"
dc ops down -v >>"$T/ops.log" 2>&1
expect "ops: down -v succeeds" 0 $?
expect "down -v: no container, network or volume left" "0 0 0" "$(left ops)"
grep -iE "error|traceback" "$T"/web.log "$T"/healthy.log "$T"/ops.log | head -5 | sed 's/^/# /'
stop_daemon
finish
