#!/usr/bin/python3
"""The table of scripts/bench_peers.sh: reads one JSON object per line (vit-classify bench and
the peers, the fields of `vit-classify bench --format json` plus "system"), prints a Markdown
table with batch-8 throughput ratios to ONNX Runtime int8, PyTorch bf16 and ONNX Runtime fp32,
then the agreement figures; with --json FILE also writes the whole run as JSON. A line with
"skipped", "timed_out" or "failed" (and no figures) is a row that says why; a bf16 row whose
kernels were emulated in float32 (no avx512_bf16 / amx_bf16) says "emulated".

    scripts/bench_peers/table.py RESULTS.jsonl [--about ABOUT.json] [--json FILE]"""
import argparse
import json
import sys

BASES = [("ORT int8", "ORT int8"), ("PyTorch bf16", "PyTorch bf16"), ("ORT fp32", "ORT fp32")]

ap = argparse.ArgumentParser()
ap.add_argument("results")
ap.add_argument("--about", help="JSON object describing the run (CPU, versions, settings)")
ap.add_argument("--json", dest="json_out")
args = ap.parse_args()

with open(args.results) as f:
    runs = [json.loads(line) for line in f if line.strip()]
about = json.load(open(args.about)) if args.about else {}


def at(run, batch):
    return next((r for r in run.get("results", []) if r["batch_size"] == batch), None)


def why_missing(run):
    """The reason a run has no figures (skipped, timed out, failed), or None."""
    return next((run[k] for k in ("skipped", "timed_out", "failed") if k in run), None)


def label(run):
    """The system's name, marked when its bf16 was emulated rather than native."""
    emulated = "emulated" in run.get("kernels", "") or "emulated" in run.get("note", "")
    return run["system"] + (" (emulated)" if emulated else "")


def fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


base_ips = {}
for key, _ in BASES:
    run = next((r for r in runs if r["system"] == key), None)
    base_ips[key] = at(run, 8)["images_per_second"] if run and at(run, 8) else None

cols = ["system", "batch 8 img/s", "batch 8 p50 ms", "batch 8 p90 ms", "batch 1 p50 ms", "batch 1 p90 ms",
        "peak RSS MB", "load s"] + [f"x {label}" for _, label in BASES]
print("| " + " | ".join(cols) + " |")
print("|" + "|".join("---" for _ in cols) + "|")
for run in runs:
    why = why_missing(run)
    if why:
        print("| " + " | ".join([run["system"], why] + ["-"] * (len(cols) - 2)) + " |")
        continue
    b8, b1 = at(run, 8), at(run, 1)
    ips = b8["images_per_second"] if b8 else None
    row = [label(run), fmt(ips), fmt(b8 and b8["p50_ms"], 0), fmt(b8 and b8["p90_ms"], 0),
           fmt(b1 and b1["p50_ms"], 1), fmt(b1 and b1["p90_ms"], 1),
           str(run.get("peak_rss_mb", "-")), fmt(run.get("load_seconds"))]
    for key, _ in BASES:
        row.append(fmt(ips / base_ips[key]) if ips and base_ips[key] else "-")
    print("| " + " | ".join(row) + " |")

print()
print("img/s: images over the summed time of the timed batches; p50/p90: nearest rank; "
      "x SYSTEM: batch-8 img/s over that system's")
for run in runs:
    if label(run) != run["system"]:
        print(f"{run['system']}: emulated, {run.get('note') or run.get('kernels')}")
for run in runs:
    if "quantized_engine" in run:
        print(f"{run['system']}: quantize_dynamic on nn.Linear, qint8 weights, engine {run['quantized_engine']}")
print()
print("agreement on the same inputs (logits of the first 2 timing inputs):")
for run in runs:
    v = run.get("vs_pytorch_fp32")
    if v and run["system"] != "PyTorch fp32":
        print(f"  {run['system']:<18} vs PyTorch fp32: cosine {v['cosine']:.6f}, max abs diff {v['max_abs_diff']:.3g}")
    o = run.get("vs_onnx")
    if o:
        print(f"  {run['system']:<18} vs ORT fp32:     cosine {o['cosine']:.6f}")
print()
print("memory: peak RSS of each system's own process over load, warm-up and both batch sizes (the PyTorch "
      "bf16 and int8 peaks include the fp32 module they are converted from); "
      "steady RSS after timing (peers): " + ", ".join(f"{r['system']} {r['rss_mb']}" for r in runs if "rss_mb" in r)
      + " MB; the PyTorch peers' Python + torch + timm before the model: "
      + ", ".join(str(r["baseline_rss_mb"]) for r in runs if "baseline_rss_mb" in r) + " MB")

if args.json_out:
    with open(args.json_out, "w") as f:
        json.dump({"about": about, "ratios_to": {k: v for k, v in base_ips.items()}, "runs": runs}, f, indent=1)
    print(f"wrote {args.json_out}", file=sys.stderr)
