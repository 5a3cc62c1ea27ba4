#!/usr/bin/env bash
# The berth CLI's grammar and its self-description (issue 14): every
# command and management subcommand docker has, each with --help; the bash
# completion and the man pages made from the same command tables
# (`berth __gen`), installed by make install; -P wired.
. "$(dirname "$0")/lib.sh"

"$BERTH_BIN" __gen bash >"$T/berth.bash" 2>"$T/gen.err"
expect "berth __gen bash succeeds" "" "$(cat "$T/gen.err")"
check "the completion script is valid bash" bash -n "$T/berth.bash"
paths=$(grep -o '^_berth_flags\["berth [^"]*"\]' "$T/berth.bash" | sed 's/^_berth_flags\["berth //; s/"\]$//')
expect "the tables hold every top-level command and subcommand (over 100)" 1 "$([ "$(wc -l <<<"$paths")" -gt 100 ] && echo 1)"

# ---- docker's management commands, each subcommand there ----
subs() { grep "^_berth_subs\[\"berth $1\"\]" "$T/berth.bash" | sed 's/.*="//; s/"$//' | tr ' ' '\n' | sort | paste -sd' '; }
want_sub() { # group, docker's subcommands
  local g=$1 missing=""; shift
  for s in "$@"; do grep -qw -- "$s" <<<"$(subs "$g")" || missing="$missing $s"; done
  expect "berth $g has every subcommand docker's has" "" "$missing"
}
want_sub container attach commit cp create diff exec export inspect kill logs ls pause port prune rename restart rm run start stats stop top unpause update wait
want_sub image build history import inspect load ls prune pull push rm save tag
want_sub network connect create disconnect inspect ls prune rm
want_sub volume create inspect ls prune rm
want_sub system df events info prune

# ---- --help for every command, to stdout, exit 0 ----
bad=""
while read -r p; do
  # shellcheck disable=SC2086
  out=$(berth $p --help 2>&1) || bad="$bad [$p: rc]"
  grep -q "Usage:" <<<"$out" || bad="$bad [$p: no usage]"
done <<<"$paths"
expect "berth COMMAND --help prints its usage for every command and subcommand" "" "$bad"
expect_match "a group's --help lists its subcommands with their help" "^  prune +Remove all stopped containers$" "$(berth container --help)"

# ---- completion, through bash's own completion machinery ----
comp() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _berth; echo "${COMPREPLY[*]}"' \
    _ "$T/berth.bash" "$@"
}
expect "completes a command" "container" "$(comp berth conta)"
expect "a subcommand" "ls list logs" "$(comp berth container l)"
expect "a subcommand's flags" "--filter --format" "$(comp berth container ls --f)"
expect "run's flags, from the same table that parses them" "--publish --publish-all" "$(comp berth run --publish)"
expect "no completion for a flag's value" "" "$(comp berth run --name '')"
start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import "$T/bb.tar" busybox:latest >/dev/null
berth create --name comp-one busybox true >/dev/null
berth network create compnet >/dev/null 2>&1 || true
export BERTH_HOST="unix://$SOCK"
expect "container operands: the containers' names" "comp-one" "$(comp berth rm comp-)"
expect "image operands: the images" "busybox:latest" "$(comp berth rmi busy)"
expect "after a flag's value, operands again" "comp-one" "$(comp berth container rm -f comp)"

# ---- -P: every exposed port published ----
id=$(berth create -P --expose 8080 busybox true)
expect "-P sends PublishAllPorts" "true" "$(docker inspect -f '{{.HostConfig.PublishAllPorts}}' "$id")"
berth rm comp-one "$id" >/dev/null

# ---- --format is Go's text/template: berth renders it as the docker CLI does ----
fc=$(berth run -d --name fmt-c --label a.b=c --label x=y -e E1=1 busybox sleep 60)
for f in '{{range .NetworkSettings.Networks}}<{{.NetworkID}}>{{end}}' \
  '{{index .Config.Labels "a.b"}}' '{{if .State.Running}}up{{else}}down{{end}}' \
  '{{join .Config.Cmd ","}} {{len .Config.Cmd}} {{.Name | len}}' \
  '{{printf "%s-%d|%5s|%q" .Name .State.ExitCode "ab" .Path}}' \
  '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}' \
  '{{with .State}}{{.Status}}{{end}} {{with .Config.Domainname}}x{{else}}none{{end}}' \
  '{{.Config.Labels}} {{.Config.Cmd}} {{json .Config.Labels}}' \
  '{{upper .State.Status}} {{title "a-b c"}} {{split "1,2" ","}} {{lower "AB"}}' \
  '{{$n := .Name}}{{range .Config.Cmd}}{{$n}}:{{.}} {{end}}{{$.Id | printf "%.5s"}}' \
  '{{if and .State.Running (eq .State.Status "running")}}both{{end}} {{or .Config.User "root"}}' \
  '{{- .Name -}}   {{- /* trimmed */ -}}   x' '{{index .Config.Cmd 1}}' '{{range .Config.Env}}{{.}} {{end}}' \
  '{{.ID}} {{.Config.Hostname}}'; do
  expect "inspect -f '$f' renders as the docker CLI's" "$(docker inspect -f "$f" fmt-c 2>&1)" \
    "$("$BERTH_BIN" inspect -f "$f" fmt-c 2>&1)"
done
f='{{.Client.APIVersion}} {{.Server.APIVersion}} {{.Server.Os}}'
expect "version --format with Go's field names, as the docker CLI's" "$(docker version --format "$f")" \
  "$("$BERTH_BIN" version --format "$f")"
# listings: docker's fields and methods, its table headers (the template
# run on the titles) and its order (networks and volumes by name, digits
# as numbers)
berth volume create v10 >/dev/null
berth volume create --label a=b v9 >/dev/null
while IFS='|' read -r l f; do
  # shellcheck disable=SC2086
  expect "$l --format '$f' as the docker CLI's" "$(docker $l --format "$f" 2>&1)" \
    "$("$BERTH_BIN" $l --format "$f" 2>&1)"
done <<'EOF'
ps --filter name=fmt-c|table {{.Names}}\t{{if eq .State "running"}}R{{end}}\t{{.Label "x"}}\t{{.Labels}}
ps --filter name=fmt-c|table {{json .Names}}\t{{upper .Status}}\t{{.CreatedAt}}
volume ls|{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}} {{.Label "a"}} {{.Links}} {{.Size}}
volume ls|table {{.Name}}\t{{.Scope}}\t{{.Mountpoint}}\t{{.Labels}}\t{{.Links}}\t{{.Size}}
volume ls|
network ls|table {{.Name}}\t{{.ID}}\t{{.CreatedAt}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}
network ls|{{.Name}} {{.Driver}} {{.Scope}} {{.Label "k"}}
network ls|
EOF
berth volume rm v9 v10 >/dev/null
out=$("$BERTH_BIN" inspect -f '{{foo .Name}}' fmt-c 2>&1); rc=$?
expect "an unknown function: docker's message" "template parsing error: template: :1: function \"foo\" not defined" "$out"
expect "and docker's status" "64 $(docker inspect -f '{{foo .Name}}' fmt-c >/dev/null 2>&1; echo $?)" "$rc 64"
out=$("$BERTH_BIN" ps --format '{{if .Names}}' 2>&1); rc=$?
expect "a listing's template that does not parse" "failed to parse template: template: :1: unexpected EOF (1)" "$out ($rc)"
out=$("$BERTH_BIN" inspect -f '{{index .Config.Cmd 9}}' fmt-c 2>&1); rc=$?
expect_match "a template that fails as it runs says where" 'executing "" at <index .Config.Cmd 9>: error calling index: index out of range: 9' "$out"
expect "and fails" 1 "$rc"
berth rm -f "$fc" >/dev/null

# ---- man pages ----
"$BERTH_BIN" __gen man "$T/man" 2>"$T/gen.err"
expect "berth __gen man succeeds" "" "$(cat "$T/gen.err")"
missing=""
while read -r p; do [ -f "$T/man/berth-${p// /-}.1" ] || missing="$missing $p"; done <<<"$paths"
expect "a man page for every command and subcommand" "" "$missing"
out=$(MANWIDTH=100 man --warnings -l "$T/man/berth-run.1" 2>&1)
expect_match "berth-run(1) renders, with its options" "--publish-all" "$out"
expect "and groff has nothing to warn about" "" "$(MANWIDTH=100 man --warnings -l "$T/man/berth-run.1" 2>&1 >/dev/null)"
expect_match "berth(1) lists the commands" "berth-container" "$(MANWIDTH=100 man -l "$T/man/berth.1" 2>/dev/null)"

# ---- make install puts both in place ----
make -s -C "$BUILD" install DESTDIR="$T/inst" >/dev/null 2>"$T/inst.err"
expect "make install succeeds" 0 $?
expect_match "the bash completion, where bash-completion looks" "/share/bash-completion/completions/berth$" "$(find "$T/inst" -path '*completions/berth')"
expect_match "the man pages" "/share/man/man1/berth-container-ls.1$" "$(find "$T/inst" -name berth-container-ls.1)"

finish
