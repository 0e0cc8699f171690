#!/usr/bin/env bash
# Interop of vit-classify's Hugging Face cache with an independent implementation of the same
# layout: the npm package @huggingface/hub (huggingface.js; Python's huggingface_hub is the
# reference but is not installable here). Both directions, against the local fake hub
# tests/hub/fake_hub.py serving one repository acme/tiny (the small test model, a
# preprocessor_config.json that changes its predictions, a README.md):
#
#  (a) a cache written by `vit-classify models --fetch acme/tiny` is read by the JS library:
#      scanCacheDir (repo id, commit, refs/main, files, symlinks into blobs/ named by ETag, the
#      bytes and sizes); downloadFileToCacheDir at the commit finds our files with no request at
#      all, and at `main` with only its paths-info request; with the snapshot folder deleted it
#      relinks our blobs without downloading them (the blob names agree);
#  (b) a cache written by the JS library (snapshotDownload, which writes refs/main) is read by
#      `vit-classify -m acme/tiny@COMMIT --offline` and `-m acme/tiny --offline` and listed by
#      `vit-classify models`; one written by downloadFileToCacheDir alone is read at the commit
#      (it writes no refs/main: `-m acme/tiny --offline` cannot find it, a difference between
#      the JS and Python libraries, reported as NOTE, not a failure).
# Every classification of /usr/lib/python3/dist-packages/skimage/data/chelsea.png must equal the
# one of the fake repository's folder itself (`-m FOLDER`).
#
#   scripts/check_hub_interop.sh        needs node (>= 18) and npm: installs @huggingface/hub
#                                       (--ignore-scripts) into build/hfjs unless HFJS_DIR names
#                                       a folder whose node_modules already holds it
# Uses the built build/vit-classify (VIT_CLASSIFY=...) and build/tests/fixtures/small/timm.safetensors.
# INTEROP_SABOTAGE=link|ref: break the caches on purpose (our model.safetensors symlink points at
# the wrong blob; the JS cache's refs/main names another commit) to see the checks fail.
# Prints each check with OK or FAIL; exits 1 if any failed, 2 if it could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${VIT_CLASSIFY:-$ROOT/build/vit-classify}
WEIGHTS=${WEIGHTS:-$ROOT/build/tests/fixtures/small/timm.safetensors}
IMAGE=${IMAGE:-/usr/lib/python3/dist-packages/skimage/data/chelsea.png}
HFJS_DIR=${HFJS_DIR:-$ROOT/build/hfjs}
SABOTAGE=${INTEROP_SABOTAGE:-}
PY=/usr/bin/python3
REPO=acme/tiny
COMMIT=0123456789abcdef0123456789abcdef01234567
HELPER=$ROOT/tests/hub/hub_interop.mjs

for need in "$BIN" "$WEIGHTS" "$IMAGE" "$PY"; do
  [ -e "$need" ] || { echo "missing $need (build the project first)" >&2; exit 2; }
done
command -v node >/dev/null || { echo "needs node (>= 18) and npm" >&2; exit 2; }
if [ ! -f "$HFJS_DIR/node_modules/@huggingface/hub/package.json" ]; then
  command -v npm >/dev/null || { echo "needs npm to install @huggingface/hub" >&2; exit 2; }
  echo "installing @huggingface/hub into $HFJS_DIR"
  mkdir -p "$HFJS_DIR"
  npm install --prefix "$HFJS_DIR" --ignore-scripts --no-audit --no-fund --silent @huggingface/hub@2 >&2
fi
echo "@huggingface/hub $(node -p "require('$HFJS_DIR/node_modules/@huggingface/hub/package.json').version"), node $(node --version)"

WORK=$(mktemp -d /tmp/vit-hub-interop-XXXXXX)
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

FAILED=0
ok() { echo "  OK    $1"; }
fail() { echo "  FAIL  $1"; FAILED=$((FAILED + 1)); }
check() {  # check WHAT COMMAND...: OK when the command succeeds
  local what=$1; shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
js() {  # js CACHE CMD key=value...: the helper, with HF_HUB_CACHE=CACHE
  local cache=$1 out rc=0; shift
  out=$(HF_HUB_CACHE=$cache HFJS_DIR=$HFJS_DIR node "$HELPER" "$@" 2>&1) || rc=$?
  echo "$out"
  local n; n=$(grep -c '^  FAIL' <<<"$out" || true)
  [ "$rc" -eq 0 ] || [ "$n" -gt 0 ] || { echo "  FAIL  node $HELPER $1 exited $rc"; n=1; }
  FAILED=$((FAILED + n))
}
requests() { wc -l <"$WORK/hub/requests.log" 2>/dev/null || echo 0; }
# vit-classify's JSON record for the image, model and revision given, with the cache given.
classify() {  # classify CACHE MODEL [ARGS...] -> stdout: the predictions and model_sha256
  local cache=$1 model=$2; shift 2
  HF_HUB_CACHE=$cache HF_ENDPOINT=$ENDPOINT "$BIN" -m "$model" --heads 3 --format json -q "$@" "$IMAGE" \
    2>"$WORK/stderr" | "$PY" -c '
import json, sys
line = sys.stdin.readline()
r = json.loads(line) if line.strip() else {}
print(json.dumps([r["model_sha256"], r["predictions"]]) if r.get("ok") else "no result")'
}
same_as_reference() {  # same_as_reference CACHE MODEL [ARGS...]
  local got
  got=$(classify "$@") || { sed 's/^/        /' "$WORK/stderr"; return 1; }
  [ "$got" = "$REFERENCE" ] || { echo "        got $got"; return 1; }
}

# The fake hub: acme/tiny, main -> COMMIT.
SRC=$WORK/hub/$REPO/$COMMIT
mkdir -p "$SRC"
cp "$WEIGHTS" "$SRC/model.safetensors"
printf '{"do_resize": true, "size": {"height": 32, "width": 32}, "resample": 3, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}\n' \
  >"$SRC/preprocessor_config.json"
printf '# acme/tiny\n\nA 2-block ViT for tests.\n' >"$SRC/README.md"
printf '{"main": "%s"}' "$COMMIT" >"$WORK/hub/$REPO/refs.json"
"$PY" tests/hub/fake_hub.py "$WORK/hub" >"$WORK/port" &
SERVER=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { echo "tests/hub/fake_hub.py did not start" >&2; exit 2; }
ENDPOINT="http://127.0.0.1:$(cat "$WORK/port")"
echo "fake hub $ENDPOINT: $REPO main -> $COMMIT (model.safetensors, preprocessor_config.json, README.md)"

# What the model says when read from the repository's folder directly; the preprocessor config
# must matter (so that a hub run that missed it would differ).
REFERENCE=$(classify "$WORK/none" "$SRC")
WEIGHTS_ONLY=$(classify "$WORK/none" "$WEIGHTS")
echo "reference (-m FOLDER): $REFERENCE"
check "the reference differs from the weights alone (preprocessor_config.json is read)" [ "$REFERENCE" != "$WEIGHTS_ONLY" ]

echo "(a) a cache written by vit-classify, read by @huggingface/hub"
A=$WORK/cache-ours
fetch_ours() { HF_HUB_CACHE=$A HF_ENDPOINT=$ENDPOINT "$BIN" models --fetch "$REPO" -q >/dev/null; }
check "vit-classify models --fetch $REPO" fetch_ours
if [ "$SABOTAGE" = link ]; then
  ln -sfn "../../blobs/$(ls "$A/models--acme--tiny/blobs" | grep -v -m1 '^[0-9a-f]\{64\}$')" \
    "$A/models--acme--tiny/snapshots/$COMMIT/model.safetensors"
  echo "  (sabotage: model.safetensors -> the preprocessor config's blob)"
fi
js "$A" scan repo=$REPO commit=$COMMIT refs=main files=model.safetensors,preprocessor_config.json src="$SRC"
before=$(requests)
js "$A" download repo=$REPO rev=$COMMIT commit=$COMMIT files=model.safetensors,preprocessor_config.json hub="$ENDPOINT" allow='^$'
check "the fake hub saw no request from it ($before -> $(requests) lines in requests.log)" [ "$(requests)" = "$before" ]
js "$A" download repo=$REPO rev=main commit=$COMMIT files=model.safetensors,preprocessor_config.json hub="$ENDPOINT" \
  allow='^/api/models/acme/tiny/paths-info/main$'
A2=$WORK/cache-ours-relinked
cp -a "$A" "$A2"
rm -rf "$A2/models--acme--tiny/snapshots"
js "$A2" download repo=$REPO rev=main commit=$COMMIT files=model.safetensors,preprocessor_config.json hub="$ENDPOINT" \
  allow='^/api/models/acme/tiny/paths-info/main$'
check "  ... and relinked our blobs (no new blob, no .incomplete): $(ls "$A2/models--acme--tiny/blobs" | wc -l) blobs" \
  diff <(ls "$A/models--acme--tiny/blobs") <(ls "$A2/models--acme--tiny/blobs")
before=$(requests)
check "vit-classify -m $REPO@$COMMIT --offline classifies from it as from the folder" same_as_reference "$A" "$REPO@$COMMIT" --offline
check "vit-classify -m $REPO --offline classifies from it as from the folder" same_as_reference "$A" "$REPO" --offline
check "  ... without a request to the fake hub ($before -> $(requests))" [ "$(requests)" = "$before" ]

echo "(b) a cache written by @huggingface/hub, read by vit-classify"
B=$WORK/cache-js
js "$B" snapshot repo=$REPO rev=main commit=$COMMIT hub="$ENDPOINT"
if [ "$SABOTAGE" = ref ]; then
  printf '%040d' 0 >"$B/models--acme--tiny/refs/main"
  echo "  (sabotage: refs/main -> 000...)"
fi
check "it wrote refs/main = $COMMIT" [ "$(cat "$B/models--acme--tiny/refs/main" 2>/dev/null)" = "$COMMIT" ]
js "$B" scan repo=$REPO commit=$COMMIT refs=main files=model.safetensors,preprocessor_config.json,README.md src="$SRC"
before=$(requests)
check "vit-classify -m $REPO@$COMMIT --offline classifies from it as from the folder" same_as_reference "$B" "$REPO@$COMMIT" --offline
check "vit-classify -m $REPO --offline classifies from it as from the folder" same_as_reference "$B" "$REPO" --offline
check "  ... without a request to the fake hub ($before -> $(requests))" [ "$(requests)" = "$before" ]
listing=$(HF_HUB_CACHE=$B "$BIN" models --offline --format json 2>/dev/null || true)
check "vit-classify models lists it: $listing" "$PY" -c '
import json, sys
m = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
ok = len(m) == 1 and m[0]["repo_id"] == "acme/tiny" and m[0]["refs"] == ["main"] and m[0]["commits"] == [sys.argv[2]]
sys.exit(0 if ok else 1)' "$listing" "$COMMIT"

C=$WORK/cache-js-files
js "$C" download repo=$REPO rev=main commit=$COMMIT files=model.safetensors,preprocessor_config.json hub="$ENDPOINT" \
  allow='^(/api/models/acme/tiny/paths-info/main|/acme/tiny/resolve/main/.*|/cdn/acme/tiny/.*)$'
check "vit-classify -m $REPO@$COMMIT --offline classifies from downloadFileToCacheDir's cache" \
  same_as_reference "$C" "$REPO@$COMMIT" --offline
if [ -e "$C/models--acme--tiny/refs/main" ]; then
  check "downloadFileToCacheDir wrote refs/main: -m $REPO --offline reads it" same_as_reference "$C" "$REPO" --offline
elif ! HF_HUB_CACHE=$C "$BIN" -m "$REPO" --offline --heads 3 -q "$IMAGE" >/dev/null 2>"$WORK/stderr"; then
  echo "  NOTE  downloadFileToCacheDir (revision main) writes no refs/main, unlike huggingface_hub's"
  echo "        hf_hub_download, so -m $REPO --offline cannot find it (nor could Python offline):"
  echo "        $(head -c 150 "$WORK/stderr")..."
else
  fail "-m $REPO --offline found a cache without refs/main"
fi

if [ "$FAILED" -eq 0 ]; then echo "ALL OK"; else echo "$FAILED check(s) FAILED"; exit 1; fi
