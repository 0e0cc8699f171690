#!/usr/bin/python3
"""The obvious PyTorch pipeline a user would write, for scripts/bench_batch.sh: PIL decode,
torchvision transforms, torchvision's VisionTransformer, torch.inference_mode, batches.

    scripts/bench_reference.py WEIGHTS.safetensors IMAGE_DIR --preset timm --batch-size 8 --threads 2

WEIGHTS uses timm names (as the real ViT-Ti file); prints images/s on stdout."""
import argparse
import glob
import os
import sys
import time

import torch
from PIL import Image
from torchvision import transforms as T

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import vitref  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("weights")
ap.add_argument("images")
ap.add_argument("--preset", default="timm", choices=["timm", "torchvision"])
ap.add_argument("--batch-size", type=int, default=8)
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)

sd = vitref.load_safetensors(args.weights)
dim = sd["cls_token"].shape[-1]
depth = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
patch = sd["patch_embed.proj.weight"].shape[-1]
mlp = sd["blocks.0.mlp.fc1.weight"].shape[0]
classes = sd["head.weight"].shape[0]
heads = {192: 3, 384: 6, 768: 12, 1024: 16}[dim]
model = vitref.build_torchvision(224, patch, depth, heads, dim, mlp, classes)
model.load_state_dict(vitref.timm_to_tv(sd))

if args.preset == "timm":
    tf = T.Compose([T.Resize(248, T.InterpolationMode.BICUBIC), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize([0.5] * 3, [0.5] * 3)])
else:
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])

files = sorted(glob.glob(os.path.join(args.images, "*.jpg")))
start = time.perf_counter()
top1 = []
with torch.inference_mode():
    for i in range(0, len(files), args.batch_size):
        batch = torch.stack([tf(Image.open(f).convert("RGB")) for f in files[i:i + args.batch_size]])
        top1 += model(batch).softmax(-1).argmax(-1).tolist()
elapsed = time.perf_counter() - start
print(f"{len(files) / elapsed:.3f}")
print(f"reference: {len(files)} images in {elapsed:.2f} s", file=sys.stderr)
