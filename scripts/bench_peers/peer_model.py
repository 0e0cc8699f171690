"""The module every PyTorch peer of scripts/bench_peers.sh runs, and the files they share.

The weights are the random ViT-B/16 of scripts/bench_batch.sh (torchvision's architecture,
tests/reference/vitref.randomize, seed 0) saved with timm's names; the peers run them as timm's
own vit_base_patch16_224 (../shared/reference/timm), whose attention and MLP are plain
nn.Linear layers, so dynamic int8 quantizes every linear layer and the ONNX export has one
MatMul per weight."""
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TIMM_DIR = os.path.normpath(os.path.join(ROOT, "..", "shared", "reference"))
TIMM_NAME = "vit_base_patch16_224"
IMAGE = (3, 224, 224)

# Files in the work folder (build/bench_peers/vit_b16 by default).
WEIGHTS = "model.safetensors"     # timm names, fp32; with config.json this folder is what vit-classify loads
ONNX_FP32 = "model.onnx"
INPUTS = "inputs.f32"             # (8, 3, 224, 224) float32, random normal: every peer times on these
CHECK_LOGITS = "check_logits.f32"  # (CHECK_BATCH, 1000) float32: PyTorch fp32 logits of the first inputs
CHECK_BATCH = 2


def import_timm():
    if not os.path.isdir(os.path.join(TIMM_DIR, "timm")):
        sys.exit(f"bench_peers: timm not found in {TIMM_DIR} (the shared reference folder next to the repository)")
    sys.path.insert(0, TIMM_DIR)
    import timm
    return timm


def build_timm():
    """timm's ViT-B/16, random init (overwritten by load_weights)."""
    return import_timm().create_model(TIMM_NAME, pretrained=False).eval()


def load_weights(model, path):
    """Reads each tensor of a safetensors file straight into the module's own parameter, so the
    weights are never resident twice (a state dict plus the module would double the peak RSS)."""
    params = dict(model.state_dict())
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        missing = set(params) - set(header)
        unexpected = set(header) - set(params)
        if missing or unexpected:
            raise SystemExit(f"bench_peers: {path} does not match timm's {TIMM_NAME}: "
                             f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}")
        for name, info in header.items():
            p = params[name]
            if info["dtype"] != "F32" or list(p.shape) != info["shape"]:
                raise SystemExit(f"bench_peers: {path}: {name} is {info['dtype']} {info['shape']}, "
                                 f"timm expects F32 {list(p.shape)}")
            begin, end = info["data_offsets"]
            f.seek(8 + n + begin)
            view = memoryview(p.detach().numpy()).cast("B")
            if f.readinto(view) != end - begin:
                raise SystemExit(f"bench_peers: {path} ends inside {name}: an incomplete file?")
    return model


def agreement_inputs(work, transform):
    """(names, float32 array (n, 3, 224, 224)) of the inputs scripts/check_precision_agreement.sh
    made in WORK/inputs, in its manifest's order, each through `transform` (timm's eval transform)."""
    from PIL import Image
    with open(os.path.join(work, "inputs", "manifest.tsv")) as f:
        names = [line.split("\t")[0] for line in f.read().splitlines()[1:] if line]
    x = np.empty((len(names),) + IMAGE, dtype=np.float32)
    for i, name in enumerate(names):
        with Image.open(os.path.join(work, "inputs", name)) as im:
            x[i] = transform(im.convert("RGB")).numpy()
    return names, x


def agreement_records(work, precision):
    """{input name: record} of vit-classify's WORK/PRECISION.jsonl, the usable records only, read
    by scripts/precision_agreement.py; {} when the file is absent."""
    path = os.path.join(work, precision + ".jsonl")
    if not os.path.exists(path):
        return {}
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import precision_agreement as pa
    return {os.path.basename(key): r for key, r in pa.read_records(path).items() if pa.problem(r) is None}


def read_f32(path, shape):
    data = np.fromfile(path, dtype=np.float32)
    if data.size != int(np.prod(shape)):
        raise SystemExit(f"bench_peers: {path} holds {data.size} floats, expected {shape}")
    return torch.from_numpy(data.reshape(shape))


def cosine(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return float(a @ b / (a.norm() * b.norm()))


def rss_mb():
    """(peak, current) resident set size of this process in MB."""
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/status") as f:
        now = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    return round(peak), round(now)


def percentile(sorted_ms, p):
    """Nearest rank, as vit-classify bench computes it."""
    import math
    rank = math.ceil(p / 100 * len(sorted_ms))
    return sorted_ms[min(len(sorted_ms) - 1, max(rank, 1) - 1)]


def figures(batch_size, ms):
    """One entry of "results", the same fields as vit-classify bench's JSON."""
    s = sorted(ms)
    return {"batch_size": batch_size, "iterations": len(ms), "p50_ms": percentile(s, 50),
            "p90_ms": percentile(s, 90), "images_per_second": 1000.0 * batch_size * len(ms) / sum(ms)}
