#!/usr/bin/python3
"""Where vit-classify's int8 error comes from: its arithmetic emulated in PyTorch on the inputs
and the real ViT-Ti that scripts/check_precision_agreement.sh measures (run by it with BUDGET=1).

timm's vit_tiny_patch16_224 (../shared/reference) with the real weights, each input
preprocessed with timm's eval transform, runs in float32 with the int8 rounding applied where
vit-classify applies it (src/model/reduced_precision.cpp, src/model/int8_rows.cpp): every
linear layer of the blocks gets weights rounded to int8 per output channel (symmetric, scale
max|w| / 127, or / 63 with --bits 7 as on a CPU without VNNI) and its input rounded per row to
uint8 (scale (max(row, 0) - min(row, 0)) / 255, zero point rounded, values rounded half up);
the classifier head stays float32. Each rounding can be switched off alone, which bounds what
any change to the other one can reach:

- weights only / inputs only: int8 with the other side exact;
- one kind of layer (qkv, proj, fc1, fc2) left in float32;
- the k largest |x| of each input row kept exact and the rest quantized over their own range
  (the outlier split of LLM.int8(), per row so that an image's answer does not depend on the
  batch around it).

For each it prints how many inputs keep fp32's top-1 and the mean and largest |difference| of
the probability of fp32's top-1 class, and how often the emulation's top-1 equals the one
vit-classify's int8 gave (WORK/int8.jsonl), to show the emulation is the same arithmetic.

    /usr/bin/python3 scripts/int8_error_budget.py WORK MODEL [--bits 8|7]
      WORK: the agreement folder (inputs/manifest.tsv, fp32.jsonl, int8.jsonl)
      MODEL: the ViT-Ti safetensors
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_peers"))
import peer_model as pm  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("work")
parser.add_argument("model")
parser.add_argument("--bits", type=int, choices=(7, 8), default=8)
args = parser.parse_args()
torch.set_num_threads(int(os.environ.get("THREADS", "2")))

timm = pm.import_timm()
model = pm.load_weights(timm.create_model("vit_tiny_patch16_224", pretrained=False).eval(), args.model)
transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=model))
files, inputs = pm.agreement_inputs(args.work, transform)
x = torch.from_numpy(inputs)
n = len(files)

linears = {name: mod for name, mod in model.named_modules()
           if isinstance(mod, torch.nn.Linear) and name.startswith("blocks.")}
exact = {name: mod.weight.data.clone() for name, mod in linears.items()}
qmax = 2 ** (args.bits - 1) - 1


def weights_int8(w):
    scale = (w.abs().amax(1, keepdim=True) / qmax).clamp_min(1e-12)
    return (w / scale).round().clamp(-qmax, qmax) * scale


def rows_uint8(x):
    lo = x.amin(-1, keepdim=True).clamp(max=0)
    hi = x.amax(-1, keepdim=True).clamp(min=0)
    scale = torch.where(hi > lo, (hi - lo) / 255, torch.ones_like(hi))
    zp = (-lo / scale).clamp(0, 255).round()
    q = (x * (1 / scale) + (zp + 0.5)).clamp(0, 255).trunc()
    return (q - zp) * scale


def rows_uint8_but_largest(k):
    def quantize(x):
        keep = torch.zeros_like(x, dtype=torch.bool).scatter_(-1, x.abs().topk(k, -1).indices, True)
        return torch.where(keep, x, rows_uint8(x.masked_fill(keep, 0.0)))
    return quantize


hooks = []


def configure(weights, inputs):
    """weights(name) -> bool, inputs(name) -> a rounding of the input rows or None."""
    for h in hooks:
        h.remove()
    hooks.clear()
    for name, mod in linears.items():
        mod.weight.data.copy_(weights_int8(exact[name]) if weights(name) else exact[name])
        rounding = inputs(name)
        if rounding:
            hooks.append(mod.register_forward_pre_hook(lambda mod, inp, r=rounding: (r(inp[0]),)))


@torch.inference_mode()
def probabilities():
    return torch.cat([model(x[i:i + 32]).double().softmax(-1) for i in range(0, n, 32)])


vit_int8 = pm.agreement_records(args.work, "int8")
vit_top1 = torch.tensor([vit_int8[f]["predictions"][0]["index"] if f in vit_int8 else -1 for f in files])

configure(lambda _: False, lambda _: None)
ref = probabilities()
top1 = ref.argmax(1)
rows = np.arange(n)
print(f"inputs: {n}; timm {timm.__version__} vit_tiny_patch16_224 on torch {torch.__version__}; "
      f"{args.bits}-bit weights per output channel, uint8 inputs per row; head float32")
print("| emulated | same top-1 as fp32 | mean |dp| | max |dp| | same top-1 as vit-classify int8 |")
print("|---|---|---|---|---|")


def report(label, weights, inputs):
    configure(weights, inputs)
    p = probabilities()
    got = p.argmax(1)
    same = int((got == top1).sum())
    dp = (p[rows, top1] - ref[rows, top1]).abs()
    ours = f"{int((got == vit_top1).sum())} / {int((vit_top1 >= 0).sum())}" if vit_int8 else "(no int8.jsonl)"
    print(f"| {label} | {same} / {n} ({100.0 * same / n:.2f}%) | {dp.mean():.4f} | {dp.max():.3f} | {ours} |",
          flush=True)
    return same


every, none = (lambda _: True), (lambda _: False)
report("everything int8 (vit-classify's int8)", every, lambda _: rows_uint8)
bound = report("weights int8, inputs exact", every, lambda _: None)
report("inputs int8, weights exact", none, lambda _: rows_uint8)
for kind in ("qkv", "proj", "fc1", "fc2"):
    report(f"{kind} left float32", lambda name, k=kind: not name.endswith(k),
           lambda name, k=kind: None if name.endswith(k) else rows_uint8)
for k in (16, 64):
    report(f"the {k} largest |x| of each input row exact", every, lambda _, k=k: rows_uint8_but_largest(k))
print(f"With the inputs exact, the limit of any scheme for the inputs, these weights keep fp32's top-1 on "
      f"{bound} / {n} ({100.0 * bound / n:.2f}%).")
