#!/usr/bin/env bash
# How often --precision bf16 and int8 pick fp32's class, on real photos: builds the input set
# (scripts/make_agreement_inputs.py: every photo in the Debian packages it lists, the shared
# labelled ImageNet photos, and crops, flips and rescales of them), classifies it at each
# precision, and compares each with fp32 (scripts/precision_agreement.py). A measurement, not a
# test: it prints the figures and the disagreements.
#
#   scripts/check_precision_agreement.sh [MODEL]   (default ../shared/models/vit_tiny_patch16_224.safetensors)
#   WORK=build/agreement BIN=build/vit-classify THREADS=2 scripts/check_precision_agreement.sh
#   ORT=1 scripts/check_precision_agreement.sh   (also ONNX Runtime's dynamic int8 on the same inputs)
#   BUDGET=1 scripts/check_precision_agreement.sh   (also where int8's error comes from: its
#     arithmetic emulated in PyTorch with each rounding switched off alone, ~5 minutes more)
#
# Needs build/vit-classify, /usr/bin/python3 with PIL and numpy, and the photo packages that
# make_agreement_inputs.py names (apt-get install mate-backgrounds plasma-workspace-wallpapers
# lomiri-wallpapers python3-skimage python3-matplotlib python3-scipy python3-pywt python3-sklearn
# opencv-doc; absent ones are skipped and said).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-../shared/models/vit_tiny_patch16_224.safetensors}
BIN=${BIN:-build/vit-classify}
WORK=${WORK:-build/agreement}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
[ -x "$BIN" ] || { echo "check_precision_agreement: no $BIN (build first: cmake --build build)" >&2; exit 1; }
[ -e "$MODEL" ] || { echo "check_precision_agreement: no model $MODEL (pass one)" >&2; exit 1; }
mkdir -p "$WORK"
if [ ! -f "$WORK/inputs/manifest.tsv" ]; then
  rm -rf "$WORK/inputs"
  $PY scripts/make_agreement_inputs.py "$WORK/inputs"
fi
echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); model: $MODEL;" \
  "inputs: $(($(ls "$WORK/inputs" | wc -l) - 1)) in $WORK/inputs"
for p in fp32 bf16 int8; do
  start=$SECONDS
  "$BIN" -q -m "$MODEL" --precision "$p" --threads "$THREADS" -r --format json -k 5 --force \
    -o "$WORK/$p.jsonl" "$WORK/inputs"
  echo "$p: $(wc -l < "$WORK/$p.jsonl") records in $((SECONDS - start)) s"
done
status=0
for p in bf16 int8; do
  echo
  $PY scripts/precision_agreement.py "$WORK/fp32.jsonl" "$WORK/$p.jsonl" --name "$p" || status=1
done
# ORT=1: ONNX Runtime's dynamic int8 on the same inputs and weights (scripts/bench_peers/ort_agreement.py;
# onnxruntime-node as scripts/bench_peers.sh installs it into build/bench_peers, python3-onnx, node).
if [ "${ORT:-0}" = 1 ]; then
  ORT_DIR=${ORT_DIR:-build/bench_peers}
  if [ -d "$ORT_DIR/node_modules/onnxruntime-node" ]; then
    echo
    THREADS=$THREADS $PY scripts/bench_peers/ort_agreement.py "$WORK" "$MODEL" "$ORT_DIR" || status=1
  else
    echo "check_precision_agreement: no onnxruntime-node in $ORT_DIR (run scripts/bench_peers.sh once)" >&2
    status=1
  fi
fi
# BUDGET=1: vit-classify's int8 arithmetic emulated in PyTorch (scripts/int8_error_budget.py), each
# rounding switched off alone; needs the ViT-Ti weights (timm names) and ../shared/reference.
if [ "${BUDGET:-0}" = 1 ]; then
  echo
  THREADS=$THREADS $PY scripts/int8_error_budget.py "$WORK" "$MODEL" || status=1
fi
exit $status
