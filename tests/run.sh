#!/usr/bin/env bash
# The whole test suite: installs what it needs (Debian packages by name),
# builds with -Werror, runs the C unit tests, the storage conformance tests
# for every driver, and the black-box tests against a real berthd with the
# berth and docker CLIs.  Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD

PKGS="build-essential autoconf automake libtool pkg-config libltdl-dev libconfig-dev
  libjansson-dev libseccomp-dev libarchive-dev libnl-3-dev libnl-route-3-dev
  libcurl4-openssl-dev libmicrohttpd-dev libssl-dev zlib1g-dev busybox-static
  curl jq skopeo umoci python3 tar tmux python3-docker procps docker-registry apache2-utils openssl
  clang-format abigail-tools libnftables-dev nftables libldns-dev nettle-dev docker-compose
  clang libclang-rt-14-dev man-db"
missing=$(for p in $PKGS; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "== installing: $(echo $missing)"
  # no service may start from a package's postinst (docker-registry has one)
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; rm_policy=1; }
  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing) >/tmp/berth-apt.log 2>&1
  apt_rc=$?
  [ -n "${rm_policy:-}" ] && rm -f /usr/sbin/policy-rc.d
  [ $apt_rc -eq 0 ] ||
    { echo "apt-get failed; see /tmp/berth-apt.log"; tail -5 /tmp/berth-apt.log; echo "0 passed, 1 failed"; exit 1; }
fi
command -v docker >/dev/null || echo "# note: no docker CLI on PATH; docker-client checks will fail"

echo "== build"
# what the build adds to `git status` (a generated file that is tracked, or
# one it writes that is not ignored) is a failure of its own, below
status_before=$(git status --porcelain 2>/dev/null | sort)
{ [ -x configure ] || ./autogen.sh; } >/tmp/berth-build.log 2>&1 &&
  ./configure --enable-werror --prefix=/usr/local --sysconfdir=/etc >>/tmp/berth-build.log 2>&1 &&
  make -j"$(nproc)" >>/tmp/berth-build.log 2>&1 &&
  make -j"$(nproc)" check TESTS= >>/tmp/berth-build.log 2>&1
if [ $? -ne 0 ]; then
  grep -E "error|Error" /tmp/berth-build.log | head -30
  echo "0 passed, 1 failed"
  exit 1
fi

pass=0
fail=0
failed_names=()
# what an earlier run left (one cut short: a killed session, a power cut) is
# not this run's leak: the checks at the end count what appeared since here
mounts_before=$(grep '/tmp/berth-' /proc/self/mounts | sort)
shims_before=$(pgrep -f 'berth-shim --bundle /tmp/berth-it-' | sort)
new_files=$(comm -13 <(echo "$status_before") <(git status --porcelain 2>/dev/null | sort))
if [ -n "$new_files" ]; then
  echo "the build left files git neither tracks as sources nor ignores:"; echo "$new_files" | head -20 | sed 's/^/    /'
  fail=$((fail + 1)); failed_names+=("generated files in git status")
else
  pass=$((pass + 1))
fi
# run NAME CMD...: counts the TAP lines a test program prints
run() {
  local name=$1; shift
  local out rc
  out=$("$@" 2>&1); rc=$?
  local p f
  p=$(grep -c '^ok ' <<<"$out")
  f=$(grep -c '^not ok ' <<<"$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  pass=$((pass + p)); fail=$((fail + f))
  printf '%-40s %4d passed, %d failed\n' "$name" "$p" "$f"
  if [ "$f" -ne 0 ]; then
    failed_names+=("$name")
    grep -E -A12 '^not ok' <<<"$out" | head -60 | sed 's/^/    /'
    [ "$rc" -ne 0 ] && tail -5 <<<"$out" | sed 's/^/    | /'
  fi
}

echo "== the tree's own checks"
run "format (clang-format)" make -s format-check

run "plugin ABI: 1.0, 1.1 and 1.2 kept, 1.3 exact (tests/abi/check.sh)" bash tests/abi/check.sh

echo "== unit tests"
UNIT_TESTS=$(make -s print-unit-tests) # the one list, in Makefile.am
for t in $UNIT_TESTS; do
  run "$t" "$t"
done

echo "== the parsers fuzzed (libFuzzer, ASan+UBSan; smoke mode: 20000 inputs each)"
run "fuzz (tests/fuzz/run.sh)" timeout 900 bash tests/fuzz/run.sh 20000

echo "== driver conformance (the suites of berth-plugin-check)"
# the built-in drivers through berthd's own loader and host table
run "conformance: vfs (built-in)" tests/plugin/conformance storage vfs
run "conformance: overlay (overlay.so)" tests/plugin/conformance storage overlay "$TOP/plugins/.libs"
run "conformance: json-file (built-in)" tests/plugin/conformance log json-file
run "conformance: local volumes (built-in)" tests/plugin/conformance volume local
run "conformance: none (built-in)" tests/plugin/conformance network none
run "conformance: host (built-in)" tests/plugin/conformance network host
# every shipped driver file and contrib's examples, from a staged install
run "berth-plugin-check (tests/plugin/plugin-check.sh)" timeout 1200 bash tests/plugin/plugin-check.sh

run "lying plugins (tests/plugin/liars.sh)" timeout 600 bash tests/plugin/liars.sh

echo "== integration (real berthd, berth and docker CLIs)"
for s in tests/integration/*.sh; do
  [ "$(basename "$s")" = lib.sh ] && continue
  run "$s" timeout 600 bash "$s"
done

# build_tree DIR LOG CONFIGURE-FLAG: a separate copy of the tracked
# sources, configured with the flag and built with its tests
build_tree() {
  rm -rf "$1" && mkdir -p "$1"
  git ls-files | tar -T - -cf - | tar -C "$1" -xf -
  (cd "$1" && ./autogen.sh >"$2" 2>&1 &&
    ./configure --enable-werror "$3" >>"$2" 2>&1 &&
    make -j"$(nproc)" check TESTS= >>"$2" 2>&1)
}

if [ "${BERTH_SANITIZE:-1}" = 1 ]; then
  echo "== unit tests under AddressSanitizer + UBSan"
  san="$TOP/build-asan"
  if build_tree "$san" /tmp/berth-asan.log --enable-sanitizers; then
    for t in $UNIT_TESTS; do
      run "asan: ${t#tests/unit/}" env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$san/$t"
    done
    for s in images hostile daemon containers registry containment cp build userns filters; do
      run "asan: berthd in $s.sh" env BERTH_BUILD="$san" ASAN_OPTIONS=detect_leaks=1 timeout 600 bash "tests/integration/$s.sh"
    done
    run "asan: conformance vfs" "$san/tests/plugin/conformance" storage vfs
    run "asan: conformance overlay" "$san/tests/plugin/conformance" storage overlay "$san/plugins/.libs"
    run "asan: conformance json-file" "$san/tests/plugin/conformance" log json-file
    run "asan: conformance local.so" "$san/tests/plugin/conformance" log local "$san/plugins/.libs"
  else
    tail -20 /tmp/berth-asan.log
    fail=$((fail + 1)); failed_names+=("asan build")
  fi
fi

echo "== the stress loop (kill -9 restarts, rm -f, 50 parallel run --rm, exec, logs)"
run "stress: 3 rounds" env ROUNDS=3 timeout 900 bash tests/stress.sh

if [ "${BERTH_TSAN:-1}" = 1 ]; then
  echo "== the concurrent tests under ThreadSanitizer"
  tsan="$TOP/build-tsan"
  if build_tree "$tsan" /tmp/berth-tsan.log --enable-tsan; then
    # a race report fails the run: halt_on_error ends the process, and the
    # scripts look for "Sanitizer" in berthd's log (tsan.supp says why
    # each suppression is benign)
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$TOP/tests/tsan.supp"
    for t in test_exec test_driver test_pull; do
      run "tsan: $t" "$tsan/tests/unit/$t"
    done
    run "tsan: stress, 3 rounds" env BERTH_BUILD="$tsan" ROUNDS=3 timeout 1200 bash tests/stress.sh
    run "tsan: output under load" env BERTH_BUILD="$tsan" timeout 900 bash tests/integration/output.sh
    run "tsan: registry (parallel pulls)" env BERTH_BUILD="$tsan" timeout 900 bash tests/integration/registry.sh
    unset TSAN_OPTIONS
  else
    tail -20 /tmp/berth-tsan.log
    fail=$((fail + 1)); failed_names+=("tsan build")
  fi
fi

mounts_after=$(grep '/tmp/berth-' /proc/self/mounts | sort)
leaked=$(comm -13 <(echo "$mounts_before") <(echo "$mounts_after") | sed '/^$/d')
[ -n "$mounts_before" ] && { echo "# mounts an earlier run left (not counted):"; echo "$mounts_before" | sed 's/^/#   /'; }
if [ -n "$leaked" ]; then
  echo "mounts leaked by the tests:"; echo "$leaked"
  fail=$((fail + 1)); failed_names+=("leaked mounts")
else
  pass=$((pass + 1))
fi

# containers outlive berthd: none of the tests' may be left running
shims=$(comm -13 <(echo "$shims_before") <(pgrep -f 'berth-shim --bundle /tmp/berth-it-' | sort) | sed '/^$/d')
if [ -n "$shims" ]; then
  echo "shims left running by the tests: $(echo "$shims" | wc -l)"
  for p in $shims; do ps -o args= -p "$p"; done | head
  fail=$((fail + 1)); failed_names+=("leaked shims")
else
  pass=$((pass + 1))
fi

[ ${#failed_names[@]} -gt 0 ] && printf 'failed: %s\n' "${failed_names[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
