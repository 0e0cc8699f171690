#!/usr/bin/python3
"""How often ONNX Runtime's dynamic int8 keeps fp32's top-1, on the inputs and the real ViT-Ti
that scripts/check_precision_agreement.sh measures vit-classify's int8 on (run by it with ORT=1).

timm's vit_tiny_patch16_224 (../shared/reference) with the real weights is exported by
torch.onnx as make_model.py exports bench_peers' model, and quantized by quantize_onnx.py (as
ORT's quantize_dynamic: every MatMul with a constant weight, uint8 activations with one scale
per tensor computed at run time) twice: 7-bit weights per tensor (reduce_range, bench_peers'
model) and 8-bit weights per output channel. Each input is preprocessed with timm's own eval
transform (PIL) and run alone (ort_logits.mjs), so ORT's activation scale is that image's.
Prints, for ORT fp32 and both int8 models against PyTorch fp32, and for vit-classify's int8
against its fp32 (the records in WORK), the inputs with the same top-1 and the mean and largest
|difference| of the probability given fp32's top-1 class.

    /usr/bin/python3 scripts/bench_peers/ort_agreement.py WORK MODEL ORT_DIR
      WORK: the agreement folder (inputs/manifest.tsv, fp32.jsonl, int8.jsonl); writes WORK/ort
      MODEL: the ViT-Ti safetensors; ORT_DIR: where onnxruntime-node is installed (bench_peers)
"""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
import peer_model as pm  # noqa: E402
import precision_agreement as pa  # noqa: E402

work, weights, ort_dir = sys.argv[1:4]
out = os.path.join(work, "ort")
os.makedirs(out, exist_ok=True)
torch.set_num_threads(int(os.environ.get("THREADS", "2")))

timm = pm.import_timm()
model = pm.load_weights(timm.create_model("vit_tiny_patch16_224", pretrained=False).eval(), weights)
transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=model))
files, x = pm.agreement_inputs(work, transform)
n = len(files)
inputs_path = os.path.join(out, "inputs.f32")
x.tofile(inputs_path)
with torch.inference_mode():
    torch_logits = torch.cat([model(torch.from_numpy(x[i:i + 16])) for i in range(0, n, 16)]).numpy()

onnx_fp32 = os.path.join(out, "model.onnx")
with torch.no_grad(), warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the tracer's notes on timm's shape asserts
    torch.onnx.export(model, torch.from_numpy(x[:2]), onnx_fp32, opset_version=17, do_constant_folding=True,
                      input_names=["pixel_values"], output_names=["logits"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}})
systems = {"ORT fp32": onnx_fp32}
for name, flags in (("ORT int8, 7-bit weights per tensor", ["--reduce-range"]),
                    ("ORT int8, 8-bit weights per channel", ["--per-channel"])):
    path = os.path.join(out, "model.int8" + "".join(flags) + ".onnx")
    subprocess.run([sys.executable, os.path.join(HERE, "quantize_onnx.py"), onnx_fp32, path] + flags, check=True,
                   stdout=subprocess.DEVNULL)
    systems[name] = path
logits = {}
for name, path in systems.items():
    dst = path[:-len(".onnx")] + ".logits.f32"
    subprocess.run(["node", os.path.join(HERE, "ort_logits.mjs"), ort_dir, path, inputs_path, dst, "1"], check=True)
    logits[name] = np.fromfile(dst, dtype=np.float32).reshape(n, -1)
os.remove(inputs_path)  # 600 MB for 796 inputs


def softmax(z):
    z = z.astype(np.float64) - z.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def line(name, ref, same, total, dp):
    print(f"| {name} | {ref} | {same} / {total} ({100.0 * same / total:.2f}%) | {np.mean(dp):.4f} | {np.max(dp):.3f} |")


print(f"inputs: {n}; PyTorch fp32: timm {timm.__version__} vit_tiny_patch16_224 on torch {torch.__version__}; "
      f"onnxruntime-node {json.load(open(os.path.join(ort_dir, 'node_modules', 'onnxruntime-node', 'package.json')))['version']}")
print("| system | against | same top-1 | mean |dp| | max |dp| |")
print("|---|---|---|---|---|")
p_ref = softmax(torch_logits)
top1 = p_ref.argmax(1)
for name, z in logits.items():
    p = softmax(z)
    line(name, "PyTorch fp32", int((p.argmax(1) == top1).sum()), n, np.abs(p[np.arange(n), top1] - p_ref[np.arange(n), top1]))


ours = {p: pm.agreement_records(work, p) for p in ("fp32", "int8")}
both = [f for f in files if f in ours["fp32"] and f in ours["int8"]]
pairs = [pa.compare_one(ours["fp32"][f], ours["int8"][f]) for f in both]
line("vit-classify int8", "vit-classify fp32", sum(same for same, _, _ in pairs), len(both), [dp for _, dp, _ in pairs])
ours_top1 = np.array([ours["fp32"][f]["predictions"][0]["index"] if f in ours["fp32"] else -1 for f in files])
print(f"vit-classify fp32 and PyTorch fp32: the same top-1 on {int((ours_top1 == top1).sum())} / {n}")
