#!/usr/bin/python3
"""vit-classify's forward pass against PyTorch eager (timm's own module) on the same weights, for
the ViT family beyond vision_transformer.py: by default EVA-02 base (448 px, rotary positions,
SwiGLU) and BEiT v2 base (224 px, relative position bias), in one run.

For each timm tag: timm builds the architecture with random weights (seeded, every parameter
perturbed), saves model.safetensors + config.json the way timm's hub does into a temporary folder,
then for each batch size PyTorch eager (torch.inference_mode, THREADS threads) and
`vit-classify bench` (its own process, same threads, random inputs of the model's size) are timed
one after the other. fp32 is the comparison; `--int8` adds vit-classify int8 against PyTorch's
dynamic int8 (torch.ao.quantization.quantize_dynamic on the linear layers timm calls as modules;
the qkv layers with q/v bias, which timm calls through F.linear, stay fp32 there). Prints the CPU and a
Markdown table with p50 milliseconds per batch and the ratio (PyTorch time / vit-classify time:
above 1 is faster than PyTorch).

    /usr/bin/python3 scripts/bench_family.py [--tags TAG,TAG] [--batch-size 1,8] [--threads 2]
        [--seconds 10] [--int8] [--build build] [--shared ../shared]

Needs ../shared/reference (timm) and build/vit-classify. A benchmark, not a test: nothing here is
asserted; run it on a quiet machine (the load average is printed)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
import timm_zoo  # noqa: E402
from bench_clip import cpu_summary  # noqa: E402  (scripts/ is on sys.path: this file's folder)

DEFAULT_TAGS = "eva02_base_patch14_448.mim_in22k_ft_in1k,beitv2_base_patch16_224.in1k_ft_in1k"


def time_torch(model, x, seconds, warmup=2):
    """p50 milliseconds of model(x), at least 5 timed calls and about `seconds` of them."""
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        times = []
        start = time.perf_counter()
        while len(times) < 5 or time.perf_counter() - start < seconds:
            t = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), len(times)


def time_tool(tool, folder, batch, threads, seconds, precision):
    cmd = [tool, "bench", "-m", folder, "--batch-size", str(batch), "--threads", str(threads), "--seconds",
           str(seconds), "--precision", precision, "--format", "json", "-q"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench_family: {' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    r = json.loads(out.stdout)
    return r["results"][0]["p50_ms"], r["results"][0]["iterations"], r["description"], r["kernels"]


def quantized(model):
    """PyTorch's dynamic int8 of the model's linear layers, except those its module reads as
    `.weight` tensors itself (BEiT's and EVA's qkv with q/v bias go through F.linear): those stay
    fp32 in PyTorch's int8 row, as they would for a user quantizing the timm module."""
    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic
    modules = dict(model.named_modules())
    spec = {}
    for name, m in modules.items():
        parent = modules.get(name.rsplit(".", 1)[0]) if "." in name else None
        if isinstance(m, torch.nn.Linear) and not (name.endswith(".qkv") and getattr(parent, "q_bias", None) is not None):
            spec[name] = default_dynamic_qconfig
    return quantize_dynamic(model, spec, dtype=torch.qint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tags", default=DEFAULT_TAGS, help="timm tags, comma-separated (default: %(default)s)")
    ap.add_argument("--batch-size", default="1,8", help="comma-separated (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10, help="timed seconds per system and batch size")
    ap.add_argument("--int8", action="store_true", help="also vit-classify int8 against PyTorch dynamic int8")
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared"))
    args = ap.parse_args()
    batches = [int(b) for b in args.batch_size.split(",")]
    tool = os.path.join(args.build, "vit-classify")
    if not os.access(tool, os.X_OK):
        raise SystemExit(f"bench_family: no {tool}: build it first (cmake --build build --target vit-classify)")
    timm = timm_zoo.import_timm(args.shared)
    if timm is None:
        raise SystemExit(1)
    torch.set_num_threads(args.threads)
    name, flags, cpus = cpu_summary()
    isa = " ".join(f for f, present in flags.items() if present)
    print(f"CPU: {name} ({isa}), {cpus} cores; torch {torch.__version__}, timm {timm.__version__}; {args.threads} threads; "
          f"load average at start {os.getloadavg()[0]:.2f}")
    rows = []
    for i, tag in enumerate(args.tags.split(",")):
        model = timm_zoo.build(timm, tag, seed=100 + 10 * i)
        size = timm_zoo.input_size(model)
        with tempfile.TemporaryDirectory(prefix="bench_family_") as folder:
            timm_zoo.save_timm_layout(model, folder, timm)
            systems = [("fp32", model, "fp32")]
            if args.int8:
                q = quantized(model)
                systems.append(("int8", q, "int8"))
            for batch in batches:
                x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(batch))
                for label, ref, precision in systems:
                    ref_ms, ref_n = time_torch(ref, x, args.seconds)
                    ms, n, description, kernels = time_tool(tool, folder, batch, args.threads, args.seconds, precision)
                    rows.append((tag, size, label, batch, ref_ms, ref_n, ms, n, kernels))
                    print(f"{tag} {label} batch {batch}: PyTorch {ref_ms:.1f} ms ({ref_n} runs), vit-classify "
                          f"{ms:.1f} ms ({n} runs) [{description}; {kernels}]", file=sys.stderr, flush=True)
        del model
    print()
    print("| model (timm tag) | px | precision | batch | PyTorch eager p50 ms | vit-classify p50 ms | x PyTorch |")
    print("|---|---|---|---|---|---|---|")
    for tag, size, label, batch, ref_ms, ref_n, ms, n, kernels in rows:
        peer = "PyTorch dynamic int8" if label == "int8" else "PyTorch fp32"
        print(f"| {tag} | {size} | {label} (vs {peer}) | {batch} | {ref_ms:.1f} | {ms:.1f} | {ref_ms / ms:.2f} |")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
