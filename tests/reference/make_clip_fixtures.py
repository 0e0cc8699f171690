#!/usr/bin/python3
"""Fixtures for CLIP zero-shot classification (CTest `clip_parity`), with open_clip as the oracle:

  OUT/clip/NAME/open_clip_config.json      {"model_cfg", "preprocess_cfg"} as laion's hub repos hold it
  OUT/clip/NAME/open_clip_model.safetensors  open_clip's whole state_dict (float32): random init, perturbed
  OUT/clip/NAME/reference.json             labels, templates, logit_scale.exp() and, per photo, open_clip's
                                           zero-shot probabilities and normalised image features; but for
                                           tiny, each label's normalised text embedding (text_features)

    /usr/bin/python3 tests/reference/make_clip_fixtures.py OUT_DIR --shared ../shared

The reference is computed by open_clip loading the written files the way a user loads a hub
repository (create_model_and_transforms("hf-hub:...") with its preprocess and get_tokenizer),
the zero-shot classifier by open_clip's own build_zero_shot_classifier. "tiny" is ImageNet
zero-shot (1000 class names x OpenAI's 80 templates), its records keep the top 5 and all 1000
probabilities. Writes nothing but a note when ../shared/reference/open_clip is absent (the tests
then skip); rewrites nothing when the scripts, shared folder and library versions are unchanged.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vitref  # noqa: E402

SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
# Varied sizes and shapes: the smallest and the largest ImageNet photo, a portrait, a square,
# a landscape; a cat; a greyscale photo (mode L: open_clip converts it to RGB).
PHOTOS = ["imagenet/n03240683_10240.png", "imagenet/n03062245_1030.png", "imagenet/n02018795_102.png",
          "imagenet/n02412080_10216.png", "imagenet/n02125311_10473.png"]
SKIMAGE_PHOTOS = ["chelsea.png", "camera.png"]

LABELS = ["a cat", "a dog", "a church", "a red car", "a bowl of soup", "a landscape", "a bird"]
# Trained CLIP models end near logit_scale.exp() = 100 (open_clip's training clamps it there): at
# the initial 1/0.07 these towers give nearly uniform probabilities (top 0.16-0.32), which would
# hide bugs. With the noise some models' exp() is above 100: the scale is the checkpoint's, unclamped.
LOGIT_SCALE = 4.6

# name, open_clip architecture, model_cfg changes, labels, templates, seed
MODELS = [
    ("vit_b32", "ViT-B-32", {}, LABELS, ["{}"], 101),
    ("vit_b16", "ViT-B-16", {}, LABELS, ["a photo of a {}.", "a blurry photo of a {}.", "{}"], 102),
    ("vit_b32_quickgelu", "ViT-B-32-quickgelu", {},
     ["crème brûlée", "猫", "🐱 cat", "Smørrebrød", "a dog", "a church"], ["a photo of a {}."], 103),
    ("vit_l14_d2", "ViT-L-14", {"vision_cfg": {"layers": 2}, "text_cfg": {"layers": 2}},
     ["a cat", "a church", "a red car", "a landscape"], ["a photo of a {}.", "art of the {}."], 104),
    # 378 px (27 x 27 patches), head width 80, QuickGELU, embed_dim 1024: as DFN's ViT-H-14-378
    ("vit_h14_378_d1", "ViT-H-14-378-quickgelu", {"vision_cfg": {"layers": 1}, "text_cfg": {"layers": 1}},
     ["a dog", "a cat", "a bird", "a bowl of soup", "a church"], ["a photo of the {}.", "itap of a {}."], 106),
    ("tiny", None, {"embed_dim": 64,
                    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
                    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2}},
     None, None, 105),
]


def import_open_clip(shared):
    sys.path.insert(0, os.path.join(shared, "reference"))
    import open_clip
    return open_clip


def model_config(open_clip, arch, changes):
    """open_clip's config for `arch` with `changes` merged in (one level deep), or `changes` alone."""
    cfg = open_clip.get_model_config(arch) if arch else {}
    for key, value in changes.items():
        cfg[key] = dict(cfg.get(key, {}), **value) if isinstance(value, dict) else value
    return cfg


def is_layer_norm_weight(name):
    return name.endswith(".weight") and (".ln_" in name or name.startswith("ln_"))


def perturb(model, seed):
    """Every parameter moves by seeded noise, so that parts open_clip initialises to 0 or 1
    (LayerNorm, attention biases) and the class and position embeddings take part."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            noise = torch.randn(p.shape, generator=g)
            if name == "logit_scale":
                p.copy_(LOGIT_SCALE + 0.05 * noise)
            elif is_layer_norm_weight(name):
                p.copy_(1 + 0.1 * noise)
            else:
                p.add_(0.02 * noise)


def write_model(open_clip, folder, model_cfg, seed):
    """The two files of an open_clip hub repository, from open_clip's random init, perturbed."""
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.model.CLIP(**model_cfg)
    perturb(model, seed + 1)
    sd = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    vitref.save_safetensors(f"{folder}/open_clip_model.safetensors", sd, {"format": "pt"})
    c = open_clip.constants
    config = {"model_cfg": model_cfg,
              "preprocess_cfg": {"mean": list(c.OPENAI_DATASET_MEAN), "std": list(c.OPENAI_DATASET_STD),
                                 "interpolation": "bicubic", "resize_mode": "shortest"}}
    with open(f"{folder}/open_clip_config.json", "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)


def load_as_user(open_clip, folder, tmp):
    """open_clip's model, preprocess and tokenizer for `folder` through its hf-hub path, the
    download answered from the folder. open_clip 2.26.1 reads open_clip_pytorch_model.bin from
    the hub: that file is the safetensors' tensors, torch.save'd."""
    weights = os.path.join(tmp, "open_clip_pytorch_model.bin")
    torch.save(vitref.load_safetensors(f"{folder}/open_clip_model.safetensors"), weights)
    files = {"open_clip_config.json": f"{folder}/open_clip_config.json", "open_clip_pytorch_model.bin": weights}

    def download(model_id, filename="open_clip_pytorch_model.bin", revision=None, cache_dir=None):
        return files[filename]

    open_clip.factory.download_pretrained_from_hf = download
    model, _, preprocess = open_clip.create_model_and_transforms("hf-hub:local/clip-fixture")
    tokenizer = open_clip.get_tokenizer("hf-hub:local/clip-fixture")
    os.remove(weights)
    return model.eval(), preprocess, tokenizer


def reference(open_clip, model, preprocess, tokenizer, labels, templates, photos, top5_only):
    from PIL import Image
    with torch.no_grad():
        classifier = open_clip.build_zero_shot_classifier(
            model, tokenizer, labels, templates, num_classes_per_batch=20 if top5_only else None)  # [E, K]
        scale = model.logit_scale.exp().item()
        records = []
        for path in photos:
            x = preprocess(Image.open(path)).unsqueeze(0)  # [1, 3, S, S]
            feats = F.normalize(model.encode_image(x), dim=-1)  # [1, E]
            probs = (scale * feats @ classifier).softmax(dim=-1)[0]  # [K]
            rec = {"path": path, "probs": probs.tolist(), "image_features": feats[0].tolist()}
            if top5_only:
                top = probs.topk(5)
                rec["top5"] = [[i, p] for i, p in zip(top.indices.tolist(), top.values.tolist())]
            records.append(rec)
    out = {"labels": list(labels), "templates": list(templates), "logit_scale_exp": scale, "photos": records}
    if not top5_only:
        out["text_features"] = classifier.T.tolist()  # [K, E]: each label's normalised mean embedding
    return out


def photo_list(shared):
    photos = [os.path.join(os.path.abspath(shared), "images", p) for p in PHOTOS]
    photos += [f"{SKIMAGE}/{p}" for p in SKIMAGE_PHOTOS]
    return [p for p in photos if os.path.exists(p)]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "..", "shared"))
    ap.add_argument("--only", nargs="*", help="write these models only (names of MODELS)")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.shared, "reference", "open_clip", "__init__.py")):
        print(f"make_clip_fixtures: no open_clip under {args.shared}/reference; nothing written")
        return
    out = os.path.join(args.out_dir, "clip")
    os.makedirs(out, exist_ok=True)
    stamp = vitref.Stamp(out, ["make_clip_fixtures.py", "vitref.py"], args.shared)
    if stamp.fresh and not args.only:
        print(f"make_clip_fixtures: {out} is up to date")
        return
    open_clip = import_open_clip(args.shared)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    photos = photo_list(args.shared)
    meta = open_clip.zero_shot_metadata
    for name, arch, changes, labels, templates, seed in MODELS:
        if args.only and name not in args.only:
            continue
        start = time.time()
        folder = os.path.join(out, name)
        write_model(open_clip, folder, model_config(open_clip, arch, changes), seed)
        imagenet = labels is None
        if imagenet:  # OpenAI's templates are lambdas: as format strings
            labels, templates = meta.IMAGENET_CLASSNAMES, [t("{}") for t in meta.OPENAI_IMAGENET_TEMPLATES]
        with tempfile.TemporaryDirectory() as tmp:
            model, preprocess, tokenizer = load_as_user(open_clip, folder, tmp)
        ref = reference(open_clip, model, preprocess, tokenizer, labels, templates, photos, imagenet)
        with open(f"{folder}/reference.json", "w", encoding="utf-8") as f:
            json.dump(ref, f, ensure_ascii=False)
        top = sorted(max(r["probs"]) for r in ref["photos"])
        print(f"make_clip_fixtures: {name}: {len(labels)} labels x {len(templates)} templates, "
              f"{len(photos)} photos, top probability {top[0]:.3f} .. {top[-1]:.3f} "
              f"(uniform {1 / len(labels):.3f}), {time.time() - start:.0f} s", flush=True)
    if not args.only:
        stamp.write()


if __name__ == "__main__":
    main()
