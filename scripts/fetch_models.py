#!/usr/bin/env python3
"""Puts real ViT weights in models/ (needs internet; standard library only).

    scripts/fetch_models.py vit_tiny          # timm ViT-Ti/16 (augreg, 75.5% top-1), 22 MB
    scripts/fetch_models.py vit_base_hf       # Hugging Face google/vit-base-patch16-224
    scripts/fetch_models.py vit_b_16          # torchvision vit_b_16 IMAGENET1K_V1 (.pth)
    scripts/fetch_models.py deit_base         # Facebook DeiT-B/16 (.pth, {"model": ...})
    scripts/fetch_models.py all

Models on the Hugging Face hub are fetched by vit-classify itself (`vit-classify models --fetch
ORG/NAME`, into the Hugging Face cache, where Python's huggingface_hub finds them too) and
linked into models/; `vit-classify -m ORG/NAME` needs no such step. torchvision's and
Facebook's .pth files are not on the hub and are downloaded here.
"""
import json
import os
import subprocess
import sys
import urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
HUB = {  # name: (repository, file in models/ or folder in models/)
    "vit_tiny": ("timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k", "vit_tiny_patch16_224.safetensors"),
    "vit_base_hf": ("google/vit-base-patch16-224", "google-vit-base-patch16-224"),
}
URLS = {
    "vit_b_16": ("https://download.pytorch.org/models/vit_b_16-c867db91.pth", "vit_b_16-c867db91.pth"),
    "deit_base": ("https://dl.fbaipublicfiles.com/deit/deit_base_patch16_224-b5f2ef4d.pth",
                  "deit_base_patch16_224-b5f2ef4d.pth"),
}


def binary():
    for path in (os.environ.get("VIT_CLASSIFY", ""), os.path.join(ROOT, "build", "vit-classify")):
        if path and os.access(path, os.X_OK):
            return path
    return "vit-classify"


def fetch_hub(repo, dest):
    """vit-classify downloads into the Hugging Face cache; models/DEST links to the snapshot."""
    subprocess.run([binary(), "models", "--fetch", repo], check=True)
    listing = subprocess.run([binary(), "models", "--format", "json", "--offline"], check=True,
                             capture_output=True, text=True).stdout
    entry = next(json.loads(l) for l in listing.splitlines() if json.loads(l)["repo_id"] == repo)
    repo_dir = os.path.join(entry["cache"], "models--" + repo.replace("/", "--"))
    with open(os.path.join(repo_dir, "refs", "main")) as f:
        snapshot = os.path.join(repo_dir, "snapshots", f.read().strip())
    target = snapshot if not dest.endswith(".safetensors") else os.path.join(snapshot, "model.safetensors")
    link = os.path.join(ROOT, "models", dest)
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(target, link)
    print(f"models/{dest} -> {target}")


def fetch_url(url, dest):
    dest = os.path.join(ROOT, "models", dest)
    if os.path.exists(dest):
        print(f"have {dest}")
        return
    print(f"fetching {url}")
    with urllib.request.urlopen(url, timeout=60) as r, open(dest + ".part", "wb") as f:
        while chunk := r.read(1 << 20):
            f.write(chunk)
    os.replace(dest + ".part", dest)  # never leave a half-written model behind


def main(names):
    names = list(HUB) + list(URLS) if names == ["all"] else names
    if not names or any(n not in HUB and n not in URLS for n in names):
        sys.exit(__doc__)
    os.makedirs(os.path.join(ROOT, "models"), exist_ok=True)
    for n in names:
        fetch_hub(*HUB[n]) if n in HUB else fetch_url(*URLS[n])


if __name__ == "__main__":
    main(sys.argv[1:])
