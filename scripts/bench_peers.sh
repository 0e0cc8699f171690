#!/usr/bin/env bash
# Forward-pass benchmark of vit-classify against its peers, in one run, on the same random ViT-B/16
# weights (224 px): PyTorch eager fp32, bf16 and dynamic int8 (Debian's python3-torch, timm's
# module from ../shared/reference), and ONNX Runtime fp32 and dynamic int8 (npm onnxruntime-node;
# the model exported by torch.onnx, quantized by scripts/bench_peers/quantize_onnx.py the way
# onnxruntime.quantization.quantize_dynamic does). Model only: inputs are already preprocessed
# random normal tensors; batch 8 and batch 1, THREADS math threads, each system in its own process
# (its peak RSS is its own), WARMUP untimed batches, then ITERATIONS timed ones per batch size.
# Each system gets at most PEER_TIMEOUT seconds (default 600; its row then says "timed out after
# N s"), and what this CPU cannot run at a useful speed is skipped with a row saying why: PyTorch
# bf16 without AVX-512 (torch 1.13 then leaves oneDNN for its generic bf16 GEMM: 14 minutes
# unfinished on a Zen 3; PEER_BF16=1 runs it anyway). bf16 without avx512_bf16 or amx_bf16 is
# emulated (oneDNN converts to float32): those rows run and say "emulated".
#
#   scripts/bench_peers.sh [--json FILE]
#   ITERATIONS=10 WARMUP=2 THREADS=2 REDUCE_RANGE=1 PER_CHANNEL=0 PEER_TIMEOUT=600 PEER_BF16=0 \
#     BIN=build/vit-classify scripts/bench_peers.sh
#
# Needs: build/vit-classify (optional: skipped if it has no bench subcommand), /usr/bin/python3
# with python3-torch, python3-torchvision and python3-onnx, node + npm (onnxruntime-node is
# installed into build/bench_peers with --ignore-scripts on first use), ../shared/reference/timm.
# Writes the model files into build/bench_peers/vit_b16 once (rewritten when the helpers change).
# Prints the CPU, the versions, a Markdown table with batch-8 throughput ratios to ONNX Runtime int8,
# PyTorch bf16 and ONNX Runtime fp32, and the agreement of each system's logits with PyTorch fp32.
# REDUCE_RANGE=1 (default): ORT int8 weights in 7 bits as ORT's reduce_range ([-64, 64]).
# Exit status 1 when a system failed (not when it was skipped or timed out: those rows say so).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/vit-classify}
PY=/usr/bin/python3
HELPERS=scripts/bench_peers
WORK=build/bench_peers
MODEL=$WORK/vit_b16
ITERATIONS=${ITERATIONS:-10}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-2}
REDUCE_RANGE=${REDUCE_RANGE:-1}
PER_CHANNEL=${PER_CHANNEL:-0}
PEER_TIMEOUT=${PEER_TIMEOUT:-600}
PEER_BF16=${PEER_BF16:-0}
JSON_OUT=""
while [ $# -gt 0 ]; do
  case $1 in
    --json) [ $# -ge 2 ] || { echo "bench_peers: --json needs a FILE" >&2; exit 2; }; JSON_OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_peers: unknown argument $1 (usage: scripts/bench_peers.sh [--json FILE])" >&2; exit 2 ;;
  esac
done
case $PEER_TIMEOUT in ''|*[!0-9]*|0) echo "bench_peers: PEER_TIMEOUT must be a whole number of seconds above 0, not '$PEER_TIMEOUT'" >&2; exit 2 ;; esac
export OMP_NUM_THREADS=$THREADS
START=$(date +%s)
mkdir -p "$MODEL"
LOGS=$WORK/logs
mkdir -p "$LOGS"

# What the run needs, with what to do when it is missing.
$PY -c 'import torch, torchvision' 2>/dev/null || { echo "bench_peers: $PY cannot import torch/torchvision: apt-get install python3-torch python3-torchvision" >&2; exit 1; }
$PY -c 'import onnx' 2>/dev/null || { echo "bench_peers: $PY cannot import onnx: apt-get install python3-onnx" >&2; exit 1; }
[ -d ../shared/reference/timm ] || { echo "bench_peers: ../shared/reference/timm is missing (the PyTorch peers run timm's ViT-B/16)" >&2; exit 1; }
{ command -v node && command -v npm; } >/dev/null || { echo "bench_peers: node and npm are needed for onnxruntime-node: apt-get install nodejs npm" >&2; exit 1; }

ORT_PKG=$WORK/node_modules/onnxruntime-node
if [ ! -f "$ORT_PKG/package.json" ]; then
  echo "bench_peers: npm install --ignore-scripts onnxruntime-node into $WORK" >&2
  [ -f "$WORK/package.json" ] || echo '{"name": "bench-peers", "private": true}' > "$WORK/package.json"
  (cd "$WORK" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node >&2)
fi
# The CPU binding ships in the npm package; the install script (skipped) only fetches the CUDA and
# TensorRT providers from NuGet. Check that the bundled binding loads without it.
if ! node -e "require(require('path').resolve('$ORT_PKG'))" 2>"$LOGS/ort-load.log"; then
  echo "bench_peers: onnxruntime-node's native binding does not load:" >&2
  sed 's/^/  /' "$LOGS/ort-load.log" >&2
  echo "  it expects $ORT_PKG/bin/napi-v*/linux/$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')/onnxruntime_binding.node and libonnxruntime.so.1 (found: $(find "$ORT_PKG/bin" -type f 2>/dev/null | tr '\n' ' '))" >&2
  exit 1
fi

# Model files: made once, again when a helper that writes them changes.
newer() {  # target sources... -> true when target is missing or older than a source
  local t=$1; shift
  [ -f "$t" ] || return 0
  for s in "$@"; do [ "$s" -nt "$t" ] && return 0; done
  return 1
}
if newer "$MODEL/model.onnx" "$HELPERS/make_model.py" "$HELPERS/peer_model.py" tests/reference/vitref.py; then
  echo "bench_peers: writing random ViT-B/16 weights, inputs and the ONNX export into $MODEL" >&2
  $PY "$HELPERS/make_model.py" "$MODEL" >"$LOGS/make_model.log" 2>&1 || { echo "bench_peers: make_model.py failed:" >&2; tail -20 "$LOGS/make_model.log" >&2; exit 1; }
  grep '^make_model:' "$LOGS/make_model.log" >&2
fi
INT8=$MODEL/model.int8-w$([ "$REDUCE_RANGE" = 1 ] && echo 7 || echo 8)-per-$([ "$PER_CHANNEL" = 1 ] && echo channel || echo tensor).onnx
qopts=()
[ "$REDUCE_RANGE" = 1 ] && qopts+=(--reduce-range)
[ "$PER_CHANNEL" = 1 ] && qopts+=(--per-channel)
if newer "$INT8" "$MODEL/model.onnx" "$HELPERS/quantize_onnx.py"; then
  $PY "$HELPERS/quantize_onnx.py" "$MODEL/model.onnx" "$INT8" "${qopts[@]}" >&2
fi

# The machine and the versions.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
flags=$(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -1)
has() { case " $flags " in *" $1 "*) echo yes ;; *) echo no ;; esac; }
torch_v=$($PY -c 'import torch; print(torch.__version__)')
onnx_v=$($PY -c 'import onnx; print(onnx.__version__)')
ort_v=$(node -p "require('./$ORT_PKG/package.json').version")
echo "cpu: $cpu, $(nproc) cores; avx2 $(has avx2), avx512_vnni $(has avx512_vnni), avx512_bf16 $(has avx512_bf16); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: torch $torch_v (Debian), onnx $onnx_v (Debian), onnxruntime-node $ort_v, node $(node --version)"
echo "model: ViT-B/16 224 px, random weights (seed 0, as scripts/bench_batch.sh) in $MODEL; $THREADS threads; warm-up $WARMUP, $ITERATIONS timed batches per batch size"
echo "ORT int8: $(basename "$INT8") (MatMuls with constant weights; weights $([ "$REDUCE_RANGE" = 1 ] && echo "7-bit, [-64, 64], as reduce_range" || echo "8-bit, [-127, 127]"), per $([ "$PER_CHANNEL" = 1 ] && echo "output channel" || echo tensor))"
echo

RESULTS=$WORK/results.jsonl
: > "$RESULTS"
failed=0
note() {  # system field reason -> appends {"system": ..., field: reason} to RESULTS (a row without figures)
  $PY -c 'import json, sys; print(json.dumps({"system": sys.argv[1], sys.argv[2]: sys.argv[3]}))' "$@" >> "$RESULTS"
}
skip() {  # system reason -> a skipped row, and the reason on stderr
  echo "bench_peers: $1 skipped: $2" >&2
  note "$1" skipped "$2"
}
run() {  # system command... -> appends the command's JSON line to RESULTS, with "system" set;
  # the command gets PEER_TIMEOUT seconds (then TERM, KILL 10 s later) and its row says so.
  local system=$1 log out rc=0; shift
  log=$LOGS/$(echo "$system" | tr ' /' '__').log
  out=$log.json
  echo "bench_peers: $system (at most $PEER_TIMEOUT s)" >&2
  local t0=$SECONDS line note=${RUN_NOTE:-}
  timeout --kill-after=10 "$PEER_TIMEOUT" "$@" >"$out" 2>"$log" || rc=$?
  line=$(tail -1 "$out")
  if [ "$rc" = 0 ] && [ -n "$line" ]; then
    echo "$line" | $PY -c '
import json, sys
j = json.loads(sys.stdin.read())
j["system"] = sys.argv[1]
if sys.argv[2]: j["note"] = sys.argv[2]
print(json.dumps(j))' "$system" "$note" >> "$RESULTS"
    echo "bench_peers: $system done in $((SECONDS - t0)) s" >&2
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "bench_peers: $system timed out after $PEER_TIMEOUT s (PEER_TIMEOUT); the end of $log:" >&2
    tail -3 "$log" | sed 's/^/  /' >&2
    note "$system" timed_out "timed out after $PEER_TIMEOUT s (PEER_TIMEOUT)"
  else
    echo "bench_peers: $system failed (exit $rc); the end of $log:" >&2
    tail -5 "$log" | sed 's/^/  /' >&2
    note "$system" failed "failed (exit $rc), see $log"
    failed=1
  fi
}

# vit-classify: while the lead rebuilds, the binary may be briefly missing.
[ -x "$BIN" ] || echo "bench_peers: waiting up to 30 s for $BIN (being rebuilt?)" >&2
for _ in $(seq 15); do [ -x "$BIN" ] && break; sleep 2; done
if [ -x "$BIN" ] && "$BIN" help 2>/dev/null | grep -qE '^[[:space:]]+bench[[:space:]]'; then
  bench_help=$("$BIN" help bench 2>&1)
  opts=()
  grep -q -- '--iterations' <<<"$bench_help" && opts+=(--iterations "$ITERATIONS")
  grep -q -- '--warmup' <<<"$bench_help" && opts+=(--warmup "$WARMUP")
  precisions=fp32
  grep -q -- '--precision' <<<"$bench_help" && precisions="fp32 bf16 int8"
  for p in $precisions; do
    popt=()
    [ "$p" = fp32 ] || popt=(--precision "$p")
    run "vit-classify $p" "$BIN" bench -m "$MODEL" --batch-size "8,1" --threads "$THREADS" --format json "${opts[@]}" "${popt[@]}"
  done
else
  echo "vit-classify bench: not available in this build"
  skip "vit-classify" "$BIN has no bench subcommand (or is missing)"
fi

peer=(--batch-sizes "8,1" --iterations "$ITERATIONS" --warmup "$WARMUP" --threads "$THREADS")
for p in fp32 bf16 int8; do
  # torch 1.13 sends bf16 matmuls to oneDNN only on AVX-512 (avx512bw/vl/dq, mkldnn_bf16_device_check);
  # elsewhere its generic bf16 GEMM takes minutes per batch: nothing a user would run.
  RUN_NOTE=""
  if [ "$p" = bf16 ] && [ "$(has avx512_bf16)" = no ] && [ "$(has amx_bf16)" = no ]; then
    if [ "$PEER_BF16" != 1 ] && [ "$(has avx512bw)" = no ]; then
      skip "PyTorch bf16" "no AVX-512 on this CPU: torch $torch_v runs bf16 matmuls in its generic, unvectorised GEMM (minutes per batch); PEER_BF16=1 runs it anyway"
      continue
    fi
    RUN_NOTE="emulated: no avx512_bf16 or amx_bf16"
  fi
  run "PyTorch $p" $PY "$HELPERS/peer_torch.py" "$MODEL" --precision "$p" "${peer[@]}"
  RUN_NOTE=""
done
ort=(node "$HELPERS/peer_ort.mjs" --ort-dir "$WORK" --inputs "$MODEL/inputs.f32" "${peer[@]}"
     --check-logits "$MODEL/check_logits.f32")
run "ORT fp32" "${ort[@]}" --model "$MODEL/model.onnx"
run "ORT int8" "${ort[@]}" --model "$INT8" --check-onnx "$MODEL/model.onnx"

ABOUT=$WORK/about.json
$PY - "$ABOUT" <<PYEOF
import json, sys
json.dump({"cpu": """$cpu""", "cores": $(nproc), "avx2": "$(has avx2)" == "yes", "avx512_vnni": "$(has avx512_vnni)" == "yes",
           "avx512_bf16": "$(has avx512_bf16)" == "yes", "torch": "$torch_v", "onnx": "$onnx_v",
           "onnxruntime_node": "$ort_v", "threads": $THREADS, "warmup": $WARMUP, "iterations": $ITERATIONS,
           "ort_int8_model": "$INT8", "reduce_range": $REDUCE_RANGE == 1, "per_channel": $PER_CHANNEL == 1},
          open(sys.argv[1], "w"), indent=1)
PYEOF
echo
$PY "$HELPERS/table.py" "$RESULTS" --about "$ABOUT" ${JSON_OUT:+--json "$JSON_OUT"}
echo "run took $(($(date +%s) - START)) s"
exit $failed
