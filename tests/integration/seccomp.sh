#!/usr/bin/env bash
# Seccomp (issue 15): docker's default profile as an allowlist
# (conf/seccomp-default.json, compiled in), read by a static probe inside
# containers: what docker refuses is EPERM, clone3 ENOSYS, a syscall the
# profile does not name refused; the capability-conditional groups follow
# --cap-add; 32-bit syscalls run; a non-root user and an exec get the same
# filter; seccomp=unconfined and a profile of one's own; daemon.conf's
# seccomp-profile and what info says.
. "$(dirname "$0")/lib.sh"

gcc -O1 -static -o "$T/probe" "$TOP/tests/seccomp/probe.c" || { fail "the probe builds (gcc -static)"; finish; exit 1; }
start_daemon || { fail "berthd starts"; finish; exit 1; }
make_busybox_tar "$T/bb.tar"
berth import "$T/bb.tar" busybox:latest >/dev/null
probe() { berth run --rm -v "$T/probe:/probe:ro" "$@" /probe | paste -sd' '; }
field() { tr ' ' '\n' <<<"$1" | grep "^$2=" | cut -d= -f2; }

def=$(probe busybox)
for want in personality_rie=EPERM pidfd_getfd=EPERM process_madvise=EPERM fanotify_init=EPERM sysfs=EPERM \
  io_uring_setup=EPERM listmount=EPERM unshare_user=EPERM mount_tmpfs=EPERM settimeofday=EPERM; do
  expect "default: ${want%=*} refused as docker refuses it" "${want#*=}" "$(field "$def" "${want%=*}")"
done
expect "default: clone3 is ENOSYS (libcs fall back to clone)" "ENOSYS" "$(field "$def" clone3)"
expect "default: read-only adjtimex allowed" "ok" "$(field "$def" adjtimex_read)"
expect "default: personality's query allowed" "ok" "$(field "$def" personality_query)"
# int 0x80 as on the host: ok where the machine runs i386 calls; this
# session's VM cannot at all (SIGSEGV on the host too), which the filter
# must not turn into its own kill (SIGSYS)
host80=$("$T/probe" int80 | cut -d= -f2)
expect "default: an i386 syscall (int 0x80) fares as on the host ($host80: ok where it runs), not killed" \
  "$host80" "$(field "$def" int80_getpid)"
# x32 likewise: ENOSYS on a kernel without the x32 ABI (Debian's), whose
# filter leaves the x32 branch out and answers ENOSYS itself, not a kill
hostx32=$("$T/probe" x32 | cut -d= -f2)
expect "default: an x32 syscall fares as on the host ($hostx32), not killed" "$hostx32" "$(field "$def" x32_getpid)"
# the built-in copy, or the same file installed under the sysconfdir (make install)
expect_match "info names the profile" "^\[name=seccomp,profile=(builtin|/.*/berth/seccomp-default.json)\]$" "$(docker info -f '{{.SecurityOptions}}')"

adm=$(probe --cap-add SYS_ADMIN busybox)
expect "--cap-add SYS_ADMIN: mount gets through" "ok" "$(field "$adm" mount_tmpfs)"
expect "--cap-add SYS_ADMIN: unshare and fanotify_init too" "ok ok" "$(field "$adm" unshare_user) $(field "$adm" fanotify_init)"
expect "--cap-add SYS_ADMIN: clone3 reaches the kernel (EINVAL there)" "EINVAL" "$(field "$adm" clone3)"
pt=$(probe --cap-add SYS_PTRACE busybox)
expect "--cap-add SYS_PTRACE: pidfd_getfd reaches the kernel (EBADF there)" "EBADF" "$(field "$pt" pidfd_getfd)"
expect "--cap-add SYS_TIME: settimeofday" "ok" "$(field "$(probe --cap-add SYS_TIME busybox)" settimeofday)"
expect "a non-root user: the same filter (loaded before the identity drop)" "$def" "$(probe --user 1000 busybox | sed 's/unshare_user=[^ ]*/unshare_user=EPERM/')"
unc=$(probe --security-opt seccomp=unconfined busybox)
expect "seccomp=unconfined: sysfs and READ_IMPLIES_EXEC reach the kernel" "ok ok" "$(field "$unc" sysfs) $(field "$unc" personality_rie)"
berth run -d --name sx -v "$T/probe:/probe:ro" busybox sleep 300 >/dev/null
expect "an exec gets the container's filter" "$def" "$(berth exec sx /probe | paste -sd' ')"
# berthd's compiled filters: files of BPF under the exec-root, named by
# their sha256, root's alone; a spec names its file instead of the BPF
spec=$T/data/containers/$(berth inspect -f '{{.Id}}' sx)/spec.json
f=$(grep -o '"seccomp_bpf_path": *"[^"]*"' "$spec" | cut -d'"' -f4)
expect "the container's spec names its filter's file, under the exec-root" "$T/run/seccomp" "$(dirname "${f:-none}")"
check "and holds no BPF" sh -c "! grep -q '\"seccomp_bpf\"' '$spec'"
expect "a compiled filter is a file named by its sha256" "$(basename "${f:-none}" .bpf)" "$(sha256sum "${f:-/dev/null}" | cut -d' ' -f1)"
expect "in a directory only root reads" "700 600" "$(stat -c %a "$T/run/seccomp" "${f:-/dev/null}" | paste -sd' ')"
# the x32 branch compares x32 numbers (0x40000000 + n, jgt/jge): none
# where the kernel has no x32 (the probe's ENOSYS on the host), some where it has
x32_cmps=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); print(sum(1 for i in range(0,len(d),8) if struct.unpack_from("<H",d,i)[0] in (0x25,0x35) and 0x40000000<struct.unpack_from("<I",d,i+4)[0]<0x40001000))' "${f:-/dev/null}")
if [ "$hostx32" = ENOSYS ]; then
  expect "no x32 branch in the filter on a kernel without x32" 0 "$x32_cmps"
else
  check "the filter keeps its x32 branch on a kernel with x32 ($x32_cmps comparisons)" test "$x32_cmps" -gt 0
fi
rm -f "$T/run/seccomp"/*.bpf
expect "an exec after the files were removed: the same filter (the file written again)" "$def" "$(berth exec sx /probe | paste -sd' ')"
check "and the file is back" test -s "$f"
berth rm -f sx >/dev/null

# a profile of one's own, through the docker CLI (it sends the file's content)
cat >"$T/nomkdir.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
JSON
expect_match "--security-opt seccomp=FILE: mkdir refused" "Operation not permitted" "$(docker run --rm --security-opt seccomp="$T/nomkdir.json" busybox mkdir /tmp/x 2>&1)"
expect "and the rest allowed (its default action)" "ok" "$(docker run --rm --security-opt seccomp="$T/nomkdir.json" busybox sh -c 'touch /tmp/y && echo ok')"
stop_daemon

# daemon.conf seccomp-profile: the default for every container
write_conf
printf 'seccomp-profile = "%s";\n' "$T/nomkdir.json" >>"$T/daemon.conf"
start_daemon || { fail "berthd starts with seccomp-profile"; finish; exit 1; }
expect "info names the file" "[name=seccomp,profile=$T/nomkdir.json]" "$(docker info -f '{{.SecurityOptions}}')"
expect_match "containers get it" "Operation not permitted" "$(berth run --rm busybox mkdir /tmp/x 2>&1)"
stop_daemon
printf '{"defaultAction": "SCMP_ACT_NOPE"}' >"$T/bad.json"
write_conf
printf 'seccomp-profile = "%s";\n' "$T/bad.json" >>"$T/daemon.conf"
out=$("$BERTHD" --config-file "$T/daemon.conf" 2>&1); rc=$?
expect "a bad seccomp-profile stops berthd" 1 "$rc"
expect_match "saying which file and why" "seccomp-profile $T/bad.json: .*defaultAction" "$out"
check "the shipped conf/seccomp-default.json is the built-in copy, and loads" \
  cmp "$TOP/conf/seccomp-default.json" <(printf '%s' "$(cat "$TOP/conf/seccomp-default.json")"; echo)
finish
