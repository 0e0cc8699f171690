#!/usr/bin/python3
"""Exports a torchvision ViT state dict as a TorchScript module that vit-classify runs.

    scripts/export_torchscript.py models/vit_b_16-c867db91.pth models/vit_b_16.ts [--arch vit_b_16]
"""
import argparse

import torch
import torchvision

ap = argparse.ArgumentParser()
ap.add_argument("weights")
ap.add_argument("out")
ap.add_argument("--arch", default="vit_b_16", help="torchvision builder: vit_b_16, vit_b_32, vit_l_16, ...")
args = ap.parse_args()
model = getattr(torchvision.models, args.arch)()
sd = torch.load(args.weights, map_location="cpu")
sd = {k.replace("mlp.linear_1.", "mlp.0.").replace("mlp.linear_2.", "mlp.3."): v for k, v in sd.items()}
model.load_state_dict(sd)
torch.jit.script(model.eval()).save(args.out)
print(f"wrote {args.out}")
