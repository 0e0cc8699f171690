#!/usr/bin/python3
"""Writes the shared files of scripts/bench_peers.sh into a work folder: random ViT-B/16 weights
(model.safetensors with timm's names + config.json, a folder vit-classify loads), the timing
inputs, PyTorch fp32 logits for the agreement checks, and the fp32 ONNX export.

    scripts/bench_peers/make_model.py build/bench_peers/vit_b16 [--opset 17]

The weights are those of scripts/bench_batch.sh (torchvision's ViT-B/16, vitref.randomize, seed 0);
the export and the logits come from timm's vit_base_patch16_224 carrying them, checked here to
agree with torchvision's module."""
import argparse
import os
import sys
import time

import torch

import peer_model as pm

sys.path.insert(0, os.path.join(pm.ROOT, "tests", "reference"))
import vitref  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--opset", type=int, default=17)
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
path = lambda name: os.path.join(args.out, name)  # noqa: E731
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
t0 = time.perf_counter()

cfg = vitref.FIXTURE_MODELS["base"]
torch.manual_seed(0)
tv = vitref.randomize(vitref.build_torchvision(cfg["image_size"], cfg["patch"], cfg["depth"], cfg["heads"],
                                               cfg["dim"], cfg["mlp"], cfg["classes"]), 0)
vitref.save_safetensors(path(pm.WEIGHTS), vitref.tv_to_timm(tv.state_dict()))
vitref.write_fixture_config(args.out, cfg)

g = torch.Generator().manual_seed(1)
inputs = torch.randn((8,) + pm.IMAGE, generator=g)
inputs.numpy().tofile(path(pm.INPUTS))

model = pm.load_weights(pm.build_timm(), path(pm.WEIGHTS))
check = inputs[:pm.CHECK_BATCH]
with torch.inference_mode():
    logits = model(check)
    tv_logits = tv(check)
diff = (logits - tv_logits).abs().max().item()
print(f"make_model: timm {pm.TIMM_NAME} vs torchvision vit_b_16 on the same weights: max abs diff {diff:.2e} "
      f"(logits up to {tv_logits.abs().max().item():.1f})", file=sys.stderr)
if diff > 1e-3:
    sys.exit(f"make_model: timm and torchvision disagree by {diff:.2e}: the name mapping or timm changed")
logits.numpy().tofile(path(pm.CHECK_LOGITS))
del tv

tmp = path(pm.ONNX_FP32 + ".tmp")
with torch.no_grad():
    torch.onnx.export(model, check, tmp, opset_version=args.opset, do_constant_folding=True,
                      input_names=["pixel_values"], output_names=["logits"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}})
os.replace(tmp, path(pm.ONNX_FP32))
print(f"make_model: wrote {args.out}: weights, config.json, inputs, check logits, {pm.ONNX_FP32} "
      f"(opset {args.opset}, torch {torch.__version__}) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
