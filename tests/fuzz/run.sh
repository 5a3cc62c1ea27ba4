#!/usr/bin/env bash
# libFuzzer targets of berth's parsers of hostile input, built with clang
# (-fsanitize=fuzzer,address,undefined) from the sources they exercise, run
# for a fixed number of inputs each from the seed corpus in corpus/<target>.
#
#   tests/fuzz/run.sh [RUNS]        smoke mode (tests/run.sh: 20000 each)
#   FUZZ_TIME=3600 tests/fuzz/run.sh  an hour each (-max_total_time)
#
# New inputs go to a scratch corpus, never into the tree; a crash leaves its
# input in $OUT (crash-*), and the TAP line says which.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_OUT:-/tmp/berth-fuzz}
RUNS=${1:-20000}
mkdir -p "$OUT"
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -DSYSCONFDIR=\"/etc\" -I$TOP/include -I$TOP/core -I$TOP"
# libarchive and ldns are opened at first use (core/util/lazylib.h), by the
# soname configure would find
soname() { objdump -p "$(clang -print-file-name="lib$1.so")" 2>/dev/null | sed -n 's/^ *SONAME *//p'; }
CFLAGS="$CFLAGS -DARCHIVE_SONAME=\"$(soname archive)\" -DLDNS_SONAME=\"$(soname ldns)\""
UTIL="core/util/util.c core/util/digest.c core/util/rmtree.c"
declare -A SRC=(
  [reference]="core/image/reference.c"
  [dockerfile]="core/build/dockerfile.c"
  [ignore]="core/build/ignore.c"
  [seccomp]="core/runtime/seccomp.c core/runtime/caps.c $OUT/seccomp_default.c"
  [config]="core/config.c core/network/ipam.c"
  [create]="core/container/validate.c core/container/config.c core/container/resources.c core/runtime/cgroup.c core/runtime/devices.c core/runtime/mntns.c core/network/ipam.c core/runtime/caps.c core/runtime/lsm.c core/runtime/masked.c core/runtime/seccomp.c $OUT/seccomp_default.c"
  [untar]="core/image/layer.c core/util/lazylib.c core/util/lazy-archive.c"
  [dns]="core/network/dns.c core/util/lazylib.c core/util/lazy-ldns.c"
  [template]="cli/template.c"
)
declare -A LIBS=(
  [reference]="" [dockerfile]="" [ignore]="" [seccomp]="-lseccomp" [config]="-lconfig"
  [create]="-lseccomp" [untar]="-ldl" [dns]="-ldl" [template]=""
)
{ echo 'const char rt_seccomp_default_json[] = {'
  od -An -v -tx1 "$TOP/conf/seccomp-default.json" | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
  echo '0x00};'; } >"$OUT/seccomp_default.c"
n=0 failed=0
for t in reference dockerfile ignore seccomp config create untar dns template; do
  n=$((n + 1))
  srcs=""
  for s in ${SRC[$t]} $UTIL; do case $s in /*) srcs="$srcs $s" ;; *) srcs="$srcs $TOP/$s" ;; esac; done
  # shellcheck disable=SC2086
  if ! clang $CFLAGS -o "$OUT/fuzz_$t" "$TOP/tests/fuzz/fuzz_$t.c" $srcs ${LIBS[$t]} -ljansson -lnettle \
    >"$OUT/build_$t.log" 2>&1; then
    echo "not ok $n - fuzz_$t builds"; sed 's/^/#   /' "$OUT/build_$t.log" | head -20
    failed=$((failed + 1)); continue
  fi
  rm -rf "$OUT/corpus_$t" && mkdir -p "$OUT/corpus_$t"
  limit="-runs=$RUNS"
  [ -n "${FUZZ_TIME:-}" ] && limit="-max_total_time=$FUZZ_TIME"
  if (cd "$OUT" && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$TOP/tests/fuzz/lsan.supp "./fuzz_$t" $limit -max_len=65536 -timeout=10 \
    "corpus_$t" "$TOP/tests/fuzz/corpus/$t" >"$OUT/run_$t.log" 2>&1); then
    echo "ok $n - fuzz_$t: $(grep -o 'Done [0-9]* runs' "$OUT/run_$t.log" | tail -1), no crash, no leak"
  else
    echo "not ok $n - fuzz_$t found a crash or a leak (input kept in $OUT)"
    grep -E "ERROR|SUMMARY|Test unit written" "$OUT/run_$t.log" | head -5 | sed 's/^/#   /'
    failed=$((failed + 1))
  fi
done
echo "1..$n"
exit $((failed > 0))
