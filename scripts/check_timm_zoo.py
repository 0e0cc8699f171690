#!/usr/bin/python3
"""Every ViT classifier architecture timm publishes ImageNet-1k weights for, against
vit-classify: 155 in timm 1.0.28 (71 in vision_transformer.py and deit.py, 23 eva.py, 7 beit.py,
9 vision_transformer_relpos.py, 10 cait.py, 7 vision_transformer_hybrid.py, 28 xcit.py), and the 3
of naflexvit.py, which vit-classify refuses (their lines say why).

For each architecture: timm builds it with random weights (seeded, every parameter perturbed,
heads included) for its first ImageNet-1k tag, saves model.safetensors + config.json the way
timm's hub does, runs two of ../shared's ImageNet photos through timm's own eval transform for
that model and the model (--noise: a seeded noise batch); then vit-classify loads the folder
(build/tests/vit_zoo_check) and its logits on the same inputs are compared (vit-classify's
preprocessing is held to timm's eval transform by the zoo tests' pcfg fixtures). One line per architecture: supported or refused
(why), max |logit difference|, the largest reference logit, seconds.

    /usr/bin/python3 scripts/check_timm_zoo.py [--build build] [--only SUBSTRING] [--modules eva,beit]
        [--max-params 350e6] [--noise] [--json FILE]

Architectures with more parameters than --max-params are built at reduced depth (said in the
line) so that the whole zoo runs in minutes on a 2-core machine. Needs ../shared/reference
(timm) and a build with vit_zoo_check. Exit 1 if any supported architecture does not match."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
import timm_zoo  # noqa: E402

# Modules listed (each architecture refused, with the refusal's words) but not in timm_zoo.MODULES:
# vit-classify does not build them (the zoo fixtures and pcfg tests leave them out).
EXTRA_MODULES = ("naflexvit",)
ALL_MODULES = timm_zoo.MODULES + EXTRA_MODULES

TOLERANCE = 1e-4  # on logits, relative to their scale when that is over 1


def features(description):
    """The parts of vit-classify's description after the sizes: what the model needed."""
    words = description.split()
    rest = [w for w in words[words.index(next(w for w in words if w.startswith("eps="))) + 1:]] if words else []
    return " ".join(rest) or "-"


def check(timm, arch, tag, tool, work, max_params, seed, photos):
    t0 = time.time()
    shape = timm.create_model(tag, pretrained=False, device="meta")  # sizes only, no memory
    n = sum(p.numel() for p in shape.parameters())
    note, kw = "", {}
    if n > max_params:
        kw = {"depth": 8}
        note = f"depth {len(shape.blocks)}->8 ({n / 1e6:.0f}M params at full depth)"
    torch.manual_seed(seed)
    model = timm.create_model(tag, pretrained=False, **kw).eval()
    timm_zoo.perturb(model, seed + 1)
    d = os.path.join(work, arch)
    timm_zoo.save_timm_layout(model, d, timm, kw or None)
    batch = 2 if n < 100e6 else 1
    inputs = timm_zoo.eval_inputs(timm, model, photos[:batch]) if photos else None
    timm_zoo.write_io(d, model, seed + 2, batch=batch, inputs=inputs)
    note = " ".join(w for w in (note, f"input: {batch} photo(s), timm's eval transform" if photos else "input: noise") if w)
    size = timm_zoo.input_size(model)
    del model
    timm_s = time.time() - t0
    out = subprocess.run([tool, d], capture_output=True, text=True)
    shutil.rmtree(d, ignore_errors=True)
    if out.returncode != 0 or not out.stdout.strip():
        return dict(arch=arch, tag=tag, status="error", why=(out.stderr or out.stdout).strip()[-300:], note=note)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r.update(arch=arch, tag=tag, note=note, size=size, timm_seconds=timm_s)
    if not r["loaded"] or r["error"]:
        r["status"] = "refused" if not r["loaded"] else "error"
        r["why"] = r["error"]
    else:
        ok = r["max_diff"] <= TOLERANCE * max(1.0, r["max_ref"])
        r["status"] = "match" if ok else "MISMATCH"
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared"))
    ap.add_argument("--only", default="", help="only the architectures whose name contains this")
    ap.add_argument("--modules", default="",
                    help="only these timm modules, comma-separated (eva,beit,...; default: all of " + ", ".join(ALL_MODULES) + ")")
    ap.add_argument("--max-params", type=float, default=350e6)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--noise", action="store_true",
                    help="feed seeded noise instead of the shared ImageNet photos through timm's eval transform")
    args = ap.parse_args()
    tool = os.path.join(args.build, "tests", "vit_zoo_check")
    if not os.access(tool, os.X_OK):
        sys.exit(f"check_timm_zoo: no {tool}: build the project first (cmake --build build)")
    timm = timm_zoo.import_timm(args.shared)
    if timm is None:
        sys.exit("check_timm_zoo: timm is needed (../shared/reference/timm)")
    torch.set_num_threads(os.cpu_count() or 1)
    modules = [m for m in args.modules.split(",") if m] or list(ALL_MODULES)
    unknown = [m for m in modules if m not in ALL_MODULES]
    if unknown:
        sys.exit(f"check_timm_zoo: unknown module(s) {', '.join(unknown)}: one of {', '.join(ALL_MODULES)}")
    archs = timm_zoo.in1k_architectures(timm, modules)
    module_of = {a: m for m in modules for a in timm.list_models(module=m)}
    photo_dir = os.path.join(args.shared, "images", "imagenet")
    photos = [] if args.noise or not os.path.isdir(photo_dir) else sorted(
        os.path.join(photo_dir, f) for f in os.listdir(photo_dir) if f.endswith(".png"))[:2]
    info = open("/proc/cpuinfo").read().splitlines()
    cpu = next((x.split(":", 1)[1].strip() for x in info if x.startswith("model name")), "?")
    flags = next((x.split(":", 1)[1].split() for x in info if x.startswith("flags")), [])
    cpu += " (AVX-512)" if "avx512f" in flags else " (AVX2)" if "avx2" in flags else ""
    print(f"# {len(archs)} timm {timm.__version__} ViT architectures with ImageNet-1k weights; CPU: {cpu}, "
          f"{os.cpu_count()} cores")
    print(f"{'architecture':44} {'status':9} {'max|diff|':>10} {'max|ref|':>9} {'px':>4} {'timm s':>7} {'ours s':>7}  features (notes)")
    results = []
    work = tempfile.mkdtemp(prefix="vit-zoo-")
    try:
        for i, (arch, tags) in enumerate(sorted(archs.items())):
            if args.only not in arch:
                continue
            r = check(timm, arch, tags[0], tool, work, args.max_params, 1000 + i, photos)
            r["module"] = module_of[arch]
            results.append(r)
            if r["status"] in ("match", "MISMATCH"):
                ours = r["load_seconds"] + r["run_seconds"]
                print(f"{arch:44} {r['status']:9} {r['max_diff']:10.2e} {r['max_ref']:9.3f} {r['size']:4d} "
                      f"{r['timm_seconds']:7.1f} {ours:7.1f}  {features(r['description'])} {r['note']}", flush=True)
            else:
                print(f"{arch:44} {r['status']:9} {'':10} {'':9} {'':4} {'':7} {'':7}  {r['why']} {r['note']}",
                      flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    counts = {s: sum(r["status"] == s for r in results) for s in ("match", "MISMATCH", "refused", "error")}
    for m in modules:
        rows = [r for r in results if r["module"] == m]
        if rows:
            diffs = [r["max_diff"] for r in rows if r["status"] == "match"]
            span = f", max|diff| {min(diffs):.1e} .. {max(diffs):.1e}" if diffs else ""
            print(f"# {m}: {sum(r['status'] == 'match' for r in rows)} of {len(rows)} match{span}")
    print(f"# {counts['match']} match within {TOLERANCE:g} (relative to the logit scale when over 1), "
          f"{counts['MISMATCH']} mismatch, {counts['refused']} refused, {counts['error']} errors, "
          f"of {len(results)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(1 if counts["MISMATCH"] or counts["error"] else 0)


if __name__ == "__main__":
    main()
