#!/usr/bin/env bash
# Cold start: one photo, whole process (start to exit), vit-classify against the Python script a
# timm user writes for the same answer (import torch + timm, build the model, load the same
# safetensors weights, timm's eval transform, forward, top 5), best of REPEATS each, alternated.
#
#   scripts/bench_cold_start.sh [PHOTO]
#   REPEATS=5 THREADS=2 BIN=build/vit-classify MODEL=../shared/models/vit_tiny_patch16_224.safetensors \
#     scripts/bench_cold_start.sh ../shared/images/imagenet/n01514668_10054.png
#
# Also times `vit-classify --version` (loading the shared libraries, their static constructors
# and exit: the floor under every run). Prints the CPU and load average first (the figures move
# with the load: on a shared machine compare the ratio, measured in the same run), each run's
# seconds, the best, and Python's best over vit-classify's. Both print the same top label (checked).
# Needs /usr/bin/python3 with python3-torch, python3-torchvision, python3-pil and ../shared/reference/timm.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/vit-classify}
MODEL=${MODEL:-../shared/models/vit_tiny_patch16_224.safetensors}
REPEATS=${REPEATS:-5}
THREADS=${THREADS:-2}
PHOTO=${1:-$(ls ../shared/images/imagenet/*.png 2>/dev/null | head -1)}
PY=/usr/bin/python3
[ -x "$BIN" ] || { echo "bench_cold_start: $BIN is missing (build it: cmake --build build --target vit-classify)" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "bench_cold_start: no model at $MODEL (set MODEL=)" >&2; exit 1; }
[ -f "$PHOTO" ] || { echo "bench_cold_start: no photo '$PHOTO' (give one as the argument)" >&2; exit 1; }
[ -d ../shared/reference/timm ] || { echo "bench_cold_start: ../shared/reference/timm is missing" >&2; exit 1; }
export OMP_NUM_THREADS=$THREADS

# The Python side: what a timm user's script does for one photo (safetensors is read with json +
# torch.frombuffer, as Debian 12 packages no python3-safetensors).
PYPROG=$(mktemp --suffix=.py)
trap 'rm -f "$PYPROG"' EXIT
cat > "$PYPROG" <<'PYEOF'
import json, struct, sys
sys.path.insert(0, "../shared/reference")
import torch, timm
from PIL import Image
model_path, photo, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
with open(model_path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = bytearray(f.read())
dtypes = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}
sd = {k: torch.frombuffer(data, dtype=dtypes[v["dtype"]][0], offset=v["data_offsets"][0],
                          count=(v["data_offsets"][1] - v["data_offsets"][0]) // dtypes[v["dtype"]][1]
                          ).reshape(v["shape"]) for k, v in header.items() if k != "__metadata__"}
m = timm.create_model("vit_tiny_patch16_224", pretrained=False)
m.load_state_dict(sd)
m.eval()
tf = timm.data.create_transform(**timm.data.resolve_data_config({}, model=m))
with torch.inference_mode():
    p = m(tf(Image.open(photo).convert("RGB")).unsqueeze(0)).softmax(-1)[0]
top = p.topk(5)
for v, i in zip(top.values.tolist(), top.indices.tolist()):
    print(f"{i}\t{v:.4f}")
PYEOF

now() { date +%s.%N; }
secs() {  # command... -> seconds it took (its stdout to $LAST)
  local t0 t1
  t0=$(now)
  "$@" > "$LAST" 2>/dev/null || { echo "bench_cold_start: '$*' failed" >&2; exit 1; }
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
LAST=$(mktemp)
trap 'rm -f "$PYPROG" "$LAST"' EXIT
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "cpu: $cpu, $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "one photo ($(basename "$PHOTO")), $(basename "$MODEL"), $THREADS threads, whole process, best of $REPEATS"
vit=() py=() ver=()
for _ in $(seq "$REPEATS"); do
  ver+=("$(secs "$BIN" --version)")
  vit+=("$(secs "$BIN" -m "$MODEL" --threads "$THREADS" -k 5 "$PHOTO")")
  vit_top=$(awk 'NR == 1 {print $1}' "$LAST")
  py+=("$(secs "$PY" "$PYPROG" "$MODEL" "$PHOTO" "$THREADS")")
  py_top=$(awk 'NR == 1 {print $1}' "$LAST")
done
best() { printf '%s\n' "$@" | sort -g | head -1; }
list() { printf '%.2f ' "$@"; }
[ "$vit_top" = "$py_top" ] || echo "bench_cold_start: the top classes differ: vit-classify $vit_top, Python $py_top" >&2
printf 'vit-classify --version  %s-> best %.3f s (library loading, static constructors, exit)\n' "$(list "${ver[@]}")" "$(best "${ver[@]}")"
printf 'vit-classify            %s-> best %.3f s\n' "$(list "${vit[@]}")" "$(best "${vit[@]}")"
printf 'Python + timm           %s-> best %.3f s\n' "$(list "${py[@]}")" "$(best "${py[@]}")"
printf 'ratio (Python / vit-classify, best): %.2f; top class %s from both\n' \
  "$(echo "$(best "${py[@]}") / $(best "${vit[@]}")" | bc -l)" "$vit_top"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
