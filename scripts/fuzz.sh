#!/usr/bin/env bash
# Runs one libFuzzer target for a while:
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
# TARGET: safetensors, checkpoint, config, resume or image (tests/fuzz/fuzz_TARGET.cpp).
# Builds the clang + ASan + UBSan fuzz build in build-fuzz/ first (needs clang-14 and
# libclang-rt-14-dev), starts from the committed seeds (tests/fuzz/corpus/TARGET), grows a
# working corpus in build-fuzz/corpus/TARGET, and writes any crash, leak or timeout to
# build-fuzz/findings/TARGET/. A finding is a bug: fix it, then copy the file into
# tests/fuzz/corpus/TARGET/ so that CTest's fuzz_corpora test replays it from then on.
# Ends with the run's executions, executions per second and edges covered.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options]}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options]}
shift 2
[ -f "tests/fuzz/fuzz_$target.cpp" ] || { echo "fuzz: no target '$target' (see tests/fuzz/)" >&2; exit 2; }

if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIT_FUZZ=ON -DVIT_BUILD_TESTS=OFF >/dev/null
fi
cmake --build build-fuzz -j"$(nproc)" --target "fuzz_$target" >build-fuzz/build-$target.log 2>&1 ||
  { tail -40 build-fuzz/build-$target.log; exit 1; }

corpus=build-fuzz/corpus/$target findings=build-fuzz/findings/$target
mkdir -p "$corpus" "$findings"
dict=()
[ -f "tests/fuzz/dict/$target.dict" ] && dict=(-dict="tests/fuzz/dict/$target.dict")
log=build-fuzz/fuzz-$target.log
echo "fuzz: $target for ${seconds}s on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); log in $log"
# Leaks are checked (tests/fuzz/lsan.supp names the one LibTorch leak left; matching it needs
# full stacks through LibTorch, which has no frame pointers); one input may take 10 s and
# 2.5 GB at most.
asan=detect_leaks=1:allocator_may_return_null=1
[ "$target" = checkpoint ] && asan=$asan:fast_unwind_on_malloc=0
set +e
ASAN_OPTIONS=$asan LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
  "build-fuzz/tests/fuzz/fuzz_$target" "$corpus" "tests/fuzz/corpus/$target" "${dict[@]}" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -malloc_limit_mb=2560 \
  -artifact_prefix="$findings/" -print_final_stats=1 "$@" >"$log" 2>&1
status=$?
set -e
grep -aE "^#[0-9]+" "$log" | tail -1 || true  # executions, edges (cov), features, corpus
grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" "$log" || true
if [ "$status" != 0 ]; then
  echo "fuzz: $target found something (exit $status): see $log and $findings/" >&2
  grep -m5 -E "ERROR|SUMMARY|==[0-9]+==" "$log" >&2 || true
fi
exit "$status"
