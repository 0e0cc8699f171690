#!/usr/bin/env python3
"""Downloads real ViT weights into models/ (needs internet; standard library only).

    scripts/fetch_models.py vit_tiny          # timm ViT-Ti/16 (augreg, 75.5% top-1), 22 MB
    scripts/fetch_models.py vit_base_hf       # Hugging Face google/vit-base-patch16-224
    scripts/fetch_models.py vit_b_16          # torchvision vit_b_16 IMAGENET1K_V1 (.pth)
    scripts/fetch_models.py deit_base         # Facebook DeiT-B/16 (.pth, {"model": ...})
    scripts/fetch_models.py all
"""
import os
import sys
import urllib.request

HF = "https://huggingface.co"
MODELS = {
    "vit_tiny": [(f"{HF}/timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k/resolve/main/model.safetensors",
                  "vit_tiny_patch16_224.safetensors")],
    "vit_base_hf": [(f"{HF}/google/vit-base-patch16-224/resolve/main/{f}", f"google-vit-base-patch16-224/{f}")
                    for f in ("model.safetensors", "config.json", "preprocessor_config.json")],
    "vit_b_16": [("https://download.pytorch.org/models/vit_b_16-c867db91.pth", "vit_b_16-c867db91.pth")],
    "deit_base": [("https://dl.fbaipublicfiles.com/deit/deit_base_patch16_224-b5f2ef4d.pth",
                   "deit_base_patch16_224-b5f2ef4d.pth")],
}


def fetch(url, dest):
    if os.path.exists(dest):
        print(f"have {dest}")
        return
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    print(f"fetching {url}")
    with urllib.request.urlopen(url, timeout=60) as r, open(dest + ".part", "wb") as f:
        while chunk := r.read(1 << 20):
            f.write(chunk)
    os.replace(dest + ".part", dest)  # never leave a half-written model behind


def main(names):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
    names = list(MODELS) if names == ["all"] else names
    if not names or any(n not in MODELS for n in names):
        sys.exit(__doc__)
    for n in names:
        for url, rel in MODELS[n]:
            fetch(url, os.path.join(root, rel))


if __name__ == "__main__":
    main(sys.argv[1:])
