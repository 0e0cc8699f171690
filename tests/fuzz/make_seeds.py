#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into tests/fuzz/corpus/TARGET/ (committed; small valid
files, so the fuzzer starts from inputs that reach deep into each reader).

    /usr/bin/python3 tests/fuzz/make_seeds.py BUILD/vit-classify MODEL.safetensors IMAGE

Needs Debian's python3-torch and python3-pil; the resume seeds are real outputs of the given
binary and model. Findings that crashed a target are kept beside the seeds as
corpus/TARGET/crash-*: this script leaves those alone.
"""
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def safetensors_bytes(tensors, metadata=None, align=8):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % align)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def safetensors_seeds():
    f32 = np.arange(6, dtype=np.float32).tobytes()
    put("safetensors", "two_tensors.safetensors", safetensors_bytes(
        {"cls_token": ("F32", [1, 1, 2], f32[:8]), "head.weight": ("F32", [2, 2], f32[8:24])}, {"format": "pt"}))
    put("safetensors", "dtypes.safetensors", safetensors_bytes({
        "a": ("BF16", [3], b"\x80\x3f" * 3), "b": ("F16", [2], b"\x00\x3c" * 2), "c": ("I64", [1], b"\x01" + b"\x00" * 7),
        "d": ("U8", [2, 2], b"\x01\x02\x03\x04"), "e": ("F32", [0, 4], b"")}))
    put("safetensors", "scalar.safetensors", safetensors_bytes({"s": ("F64", [], struct.pack("<d", 1.5))}))


def checkpoint_seeds():
    sd = OrderedDict([("cls_token", torch.zeros(1, 1, 4)), ("patch_embed.proj.weight", torch.ones(4, 3, 2, 2)),
                      ("head.bias", torch.arange(3, dtype=torch.float64)), ("steps", torch.tensor(7))])
    views = {"a": torch.arange(64, dtype=torch.float32)}
    views["b"] = views["a"][8:24].view(4, 4)  # a view: a shared storage with an offset
    views["c"] = views["a"].view(8, 8).t()     # non-contiguous strides
    for name, obj in [("state_dict", sd), ("wrapped", {"model": sd, "epoch": 3, "args": [1.5, "x", None, True]}),
                      ("views", views), ("half", {"w": torch.ones(2, 3, dtype=torch.float16),
                                                   "b": torch.ones(2, dtype=torch.bfloat16)})]:
        buf = io.BytesIO()
        torch.save(obj, buf)
        data = buf.getvalue()
        put("checkpoint", name + ".pth", b"\x01" + data)  # odd first byte: the whole file
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            pkl = z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0])
        if name == "views":  # storage "0" holds 64 floats = 256 bytes: the size the target packs
            put("checkpoint", name + ".pkl", b"\x00" + pkl)  # even first byte: data.pkl alone


def config_seeds():
    hf = {"architectures": ["ViTForImageClassification"], "hidden_size": 192, "num_attention_heads": 3,
          "num_hidden_layers": 12, "image_size": 224, "patch_size": 16, "layer_norm_eps": 1e-12,
          "id2label": {"0": "tench, Tinca tinca", "1": "goldfish"}, "label2id": {"goldfish": 1}}
    pre = {"do_resize": True, "size": {"height": 224, "width": 224}, "resample": 2, "do_normalize": True,
           "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "crop_size": 224, "do_center_crop": False}
    timm = {"architecture": "vit_tiny_patch16_224", "num_classes": 1000, "num_features": 192,
            "model_args": {"num_heads": 3}, "pretrained_cfg": {"input_size": [3, 224, 224], "crop_pct": 0.875,
            "crop_mode": "center", "interpolation": "bicubic", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
            "label_names": ["tench", "goldfish"]}
    put("config", "hf.txt", json.dumps(hf, indent=2).encode() + b"\n@@\n" + json.dumps(pre).encode())
    put("config", "timm.txt", json.dumps(timm).encode())
    put("config", "labels.txt", b"n01440764\ttench, Tinca tinca\nn01443537\tgoldfish\n\nthird\n")


def resume_seeds(binary, model, image):
    for byte, fmt in [(0, "json"), (1, "csv"), (2, "tsv"), (3, "text")]:
        out = subprocess.run([binary, "-m", model, "--format", fmt, "-k", "2", image, image + ".missing"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        put("resume", fmt + ".out", bytes([byte]) + out)
    put("resume", "torn.out", b"\x00" + out[: len(out) // 2])


def image_seeds():
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8))
    for fmt, ext, img, kw in [("PNG", "png", rgb, {}), ("JPEG", "jpg", rgb, {"quality": 80}),
                              ("JPEG", "progressive.jpg", rgb, {"progressive": True}), ("BMP", "bmp", rgb, {}),
                              ("WEBP", "webp", rgb, {"lossless": True}), ("WEBP", "lossy.webp", rgb, {}),
                              ("TIFF", "tif", rgb, {}), ("PPM", "ppm", rgb, {}), ("PPM", "pgm", rgb.convert("L"), {}),
                              ("PNG", "palette.png", rgb.convert("P"), {}), ("PNG", "rgba.png", rgb.convert("RGBA"), {}),
                              ("PNG", "16bit.png", Image.fromarray((np.arange(192, dtype=np.uint16) * 300).reshape(12, 16)), {}),
                              ("JPEG", "cmyk.jpg", rgb.convert("CMYK"), {}), ("JPEG2000", "jp2", rgb, {}),
                              ("TIFF", "gray.tif", rgb.convert("L"), {"compression": "tiff_deflate"})]:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        put("image", ext, b"\x00" + buf.getvalue())
    sun = struct.pack(">8I", 0x59A66A95, 4, 3, 24, 36, 1, 0, 0) + bytes(range(36))
    put("image", "ras", b"\x01" + sun)
    hdr = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 3\n" + bytes([128, 64, 32, 129] * 6)
    put("image", "hdr", b"\x02" + hdr)
    pam = b"P7\nWIDTH 2\nHEIGHT 2\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n" + bytes(range(12))
    put("image", "pam", b"\x13" + pam)
    pfm = b"PF\n2 2\n-1.0\n" + np.linspace(0, 1, 12, dtype="<f4").tobytes()
    put("image", "pfm", b"\x07" + pfm)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    safetensors_seeds()
    checkpoint_seeds()
    config_seeds()
    resume_seeds(*sys.argv[1:])
    image_seeds()
