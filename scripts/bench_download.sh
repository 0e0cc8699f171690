#!/usr/bin/env bash
# Download speed: vit-classify's hub download (src/io/hub_download.cpp, through the test case
# Hub.DownloadBenchmark in build/tests/vit_tests) against `curl -o`, the same file from the same
# local fake hub (tests/hub/fake_hub.py on 127.0.0.1), best of REPEAT runs each.
#
#   scripts/bench_download.sh            SIZE_MB=300 REPEAT=3 by default
#
# Ours includes what curl does not do: the HEAD for the metadata, SHA-256 of every byte, the
# rename into the cache, the symlink. Prints both times, MB/s, the ratio and the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-300}
REPEAT=${REPEAT:-3}
TESTS=build/tests/vit_tests
[ -x "$TESTS" ] || { echo "build $TESTS first: cmake --build build --target vit_tests" >&2; exit 1; }
WORK=$(mktemp -d /tmp/vit-bench-download-XXXXXX)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

COMMIT=$(printf 'c%.0s' $(seq 40))
mkdir -p "$WORK/hub/bench/big/$COMMIT"
head -c "${SIZE_MB}M" /dev/urandom >"$WORK/hub/bench/big/$COMMIT/model.safetensors"
printf '{"main": "%s"}' "$COMMIT" >"$WORK/hub/bench/big/refs.json"
/usr/bin/python3 tests/hub/fake_hub.py "$WORK/hub" >"$WORK/port" &
SERVER=$!
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
ENDPOINT="http://127.0.0.1:$(cat "$WORK/port")"
URL="$ENDPOINT/bench/big/resolve/main/model.safetensors"
curl -sfI "$URL" >/dev/null  # the server hashes the file once, on the first HEAD: not timed

best() { sort -g | head -1; }
CURL_S=$(for _ in $(seq "$REPEAT"); do
  rm -f "$WORK/curl.out"
  curl -sfL -o "$WORK/curl.out" -w '%{time_total}\n' "$URL"
done | best)
OURS_S=$(for _ in $(seq "$REPEAT"); do
  VIT_HUB_BENCH_ENDPOINT=$ENDPOINT VIT_HUB_BENCH_REPO=bench/big \
    "$TESTS" --gtest_filter=Hub.DownloadBenchmark | awk '/^vit_download_seconds/ {print $2}'
done | best)

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
awk -v c="$CURL_S" -v o="$OURS_S" -v mb="$SIZE_MB" -v cpu="$CPU" -v n="$(nproc)" 'BEGIN {
  printf "file     %d MB from 127.0.0.1 (tests/hub/fake_hub.py), best of '"$REPEAT"'\n", mb
  printf "curl -o  %.3f s  %7.1f MB/s\n", c, mb * 1.048576 / c
  printf "vit      %.3f s  %7.1f MB/s  (HEAD + GET + SHA-256 + rename)\n", o, mb * 1.048576 / o
  printf "ratio    %.2f (vit / curl)\n", o / c
  printf "cpu      %s, %d cores\n", cpu, n
}'
