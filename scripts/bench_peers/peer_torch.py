#!/usr/bin/python3
"""PyTorch peer of scripts/bench_peers.sh: times timm's ViT-B/16 forward pass on the shared
weights in one precision, in eager mode under torch.inference_mode, and prints one JSON object on
stdout with the fields of `vit-classify bench --format json`.

    scripts/bench_peers/peer_torch.py WORK_DIR --precision fp32|bf16|int8
        [--batch-sizes 8,1] [--iterations 10] [--warmup 2] [--threads 2]

bf16: model.to(torch.bfloat16) and bf16 inputs. int8: torch.ao.quantization.quantize_dynamic on
every nn.Linear (qint8 weights, per tensor, its defaults) with the onednn engine where this
build has it. Load time covers building the module, reading the weights and converting them."""
import argparse
import json
import os
import sys
import time

import torch

import peer_model as pm

ap = argparse.ArgumentParser()
ap.add_argument("work")
ap.add_argument("--precision", choices=["fp32", "bf16", "int8"], default="fp32")
ap.add_argument("--batch-sizes", default="8,1")
ap.add_argument("--iterations", type=int, default=10)
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
work = lambda name: os.path.join(args.work, name)  # noqa: E731

out = {"system": f"PyTorch {args.precision}", "model": work(pm.WEIGHTS), "precision": args.precision,
       "threads": torch.get_num_threads(), "torch": torch.__version__}
pm.import_timm()
out["baseline_rss_mb"] = pm.rss_mb()[1]  # Python, torch and timm before the model
t0 = time.perf_counter()
model = pm.load_weights(pm.build_timm(), work(pm.WEIGHTS))
dtype = torch.float32
if args.precision == "bf16":
    model.to(torch.bfloat16)
    dtype = torch.bfloat16
elif args.precision == "int8":
    engines = torch.backends.quantized.supported_engines
    if "onednn" in engines:
        torch.backends.quantized.engine = "onednn"
    else:
        print(f"peer_torch: no onednn quantized engine in this PyTorch (it has {engines}); "
              f"using {torch.backends.quantized.engine}", file=sys.stderr)
    out["quantized_engine"] = torch.backends.quantized.engine
    model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
out["load_seconds"] = time.perf_counter() - t0

inputs = pm.read_f32(work(pm.INPUTS), (8,) + pm.IMAGE).to(dtype)
out["results"] = []
with torch.inference_mode():
    for n in (int(b) for b in args.batch_sizes.split(",")):
        x = inputs[:n].contiguous()
        for _ in range(args.warmup):
            model(x)
        ms = []
        for _ in range(args.iterations):
            s = time.perf_counter()
            model(x)
            ms.append(1000 * (time.perf_counter() - s))
        out["results"].append(pm.figures(n, ms))
    out["peak_rss_mb"], out["rss_mb"] = pm.rss_mb()
    logits = model(inputs[:pm.CHECK_BATCH]).float()
ref = pm.read_f32(work(pm.CHECK_LOGITS), (pm.CHECK_BATCH, 1000))
out["vs_pytorch_fp32"] = {"max_abs_diff": (logits - ref).abs().max().item(), "cosine": pm.cosine(logits, ref)}
print(json.dumps(out))
