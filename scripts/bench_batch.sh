#!/usr/bin/env bash
# Batch throughput benchmark: vit-classify against the obvious PyTorch pipeline
# (scripts/bench_reference.py: PIL + torchvision transforms + torchvision ViT, inference_mode),
# same photos, weights, preset, batch size and threads, measured in one run on this machine.
#
#   scripts/bench_batch.sh [IMAGE_DIR]     default: 64 real-size JPEGs made by make_bench_images.py
#   BATCH=8 THREADS=2 REPEAT=3 MEMORY_INPUTS=10000 scripts/bench_batch.sh
#
# Prints images/s for each side and the ratio, for the real ViT-Ti weights and random ViT-B/16
# weights, plus peak memory (max RSS) for a run over MEMORY_INPUTS inputs (0 = skip).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/vit-classify
PY=/usr/bin/python3
WORK=build/bench
DIR=${1:-$WORK/images}
BATCH=${BATCH:-8}
THREADS=${THREADS:-$(nproc)}
REPEAT=${REPEAT:-3}
MEMORY_INPUTS=${MEMORY_INPUTS:-0}
mkdir -p "$WORK"
[ -x "$BIN" ] || { echo "build first: scripts/setup.sh" >&2; exit 1; }
[ -d "$DIR" ] || $PY scripts/make_bench_images.py "$DIR" 64 >&2

TINY=""
for f in models/vit_tiny_patch16_224.safetensors ../shared/models/vit_tiny_patch16_224.safetensors; do
  [ -f "$f" ] && { TINY=$f; break; }
done
BASE=$WORK/vit_b16_random.safetensors
if [ ! -f "$BASE" ]; then
  echo "bench: writing random ViT-B/16 weights to $BASE" >&2
  $PY - "$BASE" <<'PYEOF'
import sys
sys.path.insert(0, "tests/reference")
import torch, vitref
torch.manual_seed(0)
m = vitref.randomize(vitref.build_torchvision(224, 16, 12, 12, 768, 3072, 1000), 0)
vitref.save_safetensors(sys.argv[1], vitref.tv_to_timm(m.state_dict()))
PYEOF
fi

best() { sort -g | tail -1; }
ours() {  # model extra-flags... -> best img/s of REPEAT runs
  local model=$1; shift
  for _ in $(seq "$REPEAT"); do
    "$BIN" -m "$model" --preset timm --threads "$THREADS" --batch-size "$BATCH" -k 1 --format csv --no-progress \
      "$@" -r "$DIR" --force -o "$WORK/out.csv" 2>&1 | sed -n 's/.*, \([0-9.]*\) im\(g\|ages\)\/s$/\1/p'
  done | best
}
reference() {
  for _ in $(seq "$REPEAT"); do
    $PY scripts/bench_reference.py "$1" "$DIR" --preset timm --batch-size "$BATCH" --threads "$THREADS" 2>/dev/null
  done | best
}

echo "photos: $(ls "$DIR" | wc -l) in $DIR; batch $BATCH; threads $THREADS; best of $REPEAT; $(nproc) cores"
printf '%-22s %12s %12s %8s %16s %8s\n' model "vit-classify" "PyTorch" ratio "--fast-decode" ratio
for m in ${TINY:+"ViT-Ti/16(real):$TINY"} "ViT-B/16(random):$BASE"; do
  name=${m%%:*}; path=${m#*:}
  a=$(ours "$path"); f=$(ours "$path" --fast-decode); b=$(reference "$path")
  printf '%-22s %12s %12s %8s %16s %8s\n' "$name" "$a" "$b" "$(echo "$a / $b" | bc -l | cut -c1-5)" "$f" "$(echo "$f / $b" | bc -l | cut -c1-5)"
done

if [ "$MEMORY_INPUTS" -gt 0 ]; then
  LIST=$WORK/memory-list.txt
  ls "$DIR"/*.jpg | awk -v n="$MEMORY_INPUTS" '{f[NR]=$0} END {for (i = 0; i < n; i++) print f[i % NR + 1]}' > "$LIST"
  for m in ${TINY:+"$TINY"} "$BASE"; do
    size=$(stat -L -c %s "$m")
    rss=$(/usr/bin/time -f %M "$BIN" -q -m "$m" --threads "$THREADS" --batch-size "$BATCH" --format json --no-progress \
          --fast-decode --files-from "$LIST" -o "$WORK/memory.jsonl" 2>&1 >/dev/null | tail -1)
    limit=$(( size * 3 / 2 / 1024 + 300 * 1024 ))
    echo "memory, $MEMORY_INPUTS inputs, $(basename "$m"): peak RSS $((rss / 1024)) MB (model $((size / 1048576)) MB; limit 1.5x + 300 MB = $((limit / 1024)) MB)"
  done
fi
