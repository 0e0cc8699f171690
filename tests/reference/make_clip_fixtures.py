#!/usr/bin/python3
"""Fixtures for CLIP zero-shot classification (CTest `clip_parity`), with open_clip as the oracle:

  OUT/clip/NAME/open_clip_config.json      {"model_cfg", "preprocess_cfg"} as laion's hub repos hold it
  OUT/clip/NAME/open_clip_model.safetensors  open_clip's whole state_dict (float32): random init, perturbed
  OUT/clip/NAME/reference.json             labels, templates, logit_scale.exp() and, per photo, open_clip's
                                           zero-shot probabilities and normalised image features; but for
                                           tiny, each label's normalised text embedding (text_features)
  OUT/clip/vit_l14_d2_hf/                  the same weights as Hugging Face's CLIPModel: config.json,
                                           model.safetensors, preprocessor_config.json, vocab.json and
                                           merges.txt; reference.json from open_clip's model on transformers'
                                           preprocessing (CLIPImageProcessor's arithmetic, replicated here)
  OUT/clip/vit_b32_quickgelu_jit/model.pt  the same weights as a TorchScript archive of the whole model, as
                                           OpenAI's original ViT-B-32.pt (torch.jit.script of open_clip's
                                           CLIP, with OpenAI's size buffers); reference.json the source's

    /usr/bin/python3 tests/reference/make_clip_fixtures.py OUT_DIR --shared ../shared [--only NAME[,NAME]]

--only writes the named folders alone (the sanitizer builds write tiny_typed only: the tiny tower,
five typed labels, two templates); a variant (NAME_hf, NAME_jit) builds its source model in a
temporary folder when the source itself is not named.

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
import clip_layouts  # noqa: E402
import vitref  # noqa: E402
from PIL import Image  # noqa: E402

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

TINY = {"embed_dim": 64,
        "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2}}

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
    ("tiny", None, TINY, None, None, 105),
    # the sanitizer builds' one model: typed labels (non-ASCII too) and two templates on the tiny towers
    ("tiny_typed", None, TINY, ["a cat", "crème brûlée", "猫", "a red car", "Smørrebrød"],
     ["a photo of a {}.", "{} in the wild"], 107),
]
# Other layouts of a model's very weights: Hugging Face's CLIPModel folder, OpenAI's TorchScript archive.
VARIANTS = {"vit_l14_d2": ["hf"], "vit_b32_quickgelu": ["jit"]}


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
    """preprocess(path) -> [1, 3, S, S]: the image as the layout's own processor prepares it."""
    with torch.no_grad():
        classifier = open_clip.build_zero_shot_classifier(
            model, tokenizer, labels, templates, num_classes_per_batch=20 if top5_only else None)  # [E, K]
        scale = model.logit_scale.exp().item()
        records = []
        for path in photos:
            x = preprocess(path)  # [1, 3, S, S]
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


def selection(only):
    """--only's names (repeated or comma-separated) -> {model name: the outputs of it to write}
    ("" for the model's own folder, "hf", "jit" for its variants); None: everything."""
    if not only:
        return None
    names = {n for arg in only for n in arg.split(",") if n}
    known = {name for name, *_ in MODELS} | {f"{m}_{v}" for m, vs in VARIANTS.items() for v in vs}
    unknown = sorted(names - known)
    if unknown:
        raise SystemExit(f"make_clip_fixtures: --only {', '.join(unknown)}: no such fixture; known: "
                         f"{', '.join(sorted(known))}")
    wanted = {}
    for name, *_ in MODELS:
        parts = ([""] if name in names else []) + [v for v in VARIANTS.get(name, []) if f"{name}_{v}" in names]
        if parts:
            wanted[name] = parts
    return wanted


def write_one(open_clip, out, photos, spec, parts, write_tokenizer):
    """One model of MODELS: its folder and the variants in `parts` (the folder itself in a temporary
    place when "" is not among them)."""
    name, arch, changes, labels, templates, seed = spec
    imagenet = labels is None
    if imagenet:  # OpenAI's templates are lambdas: as format strings
        meta = open_clip.zero_shot_metadata
        labels, templates = meta.IMAGENET_CLASSNAMES, [t("{}") for t in meta.OPENAI_IMAGENET_TEMPLATES]
    cfg = model_config(open_clip, arch, changes)
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(out, name) if "" in parts else os.path.join(tmp, name)
        write_model(open_clip, folder, cfg, seed)
        model, preprocess, tokenizer = load_as_user(open_clip, folder, tmp)
        ref = reference(open_clip, model, lambda p: preprocess(Image.open(p)).unsqueeze(0), tokenizer, labels,
                        templates, photos, imagenet)
        sd = vitref.load_safetensors(f"{folder}/open_clip_model.safetensors")
    written = [(name, ref)] if "" in parts else []
    c = open_clip.constants
    if "hf" in parts:
        hf = os.path.join(out, name + "_hf")
        clip_layouts.write_hf(hf, sd, cfg, c.OPENAI_DATASET_MEAN, c.OPENAI_DATASET_STD, write_tokenizer)
        side = cfg["vision_cfg"]["image_size"]
        written.append((name + "_hf", reference(
            open_clip, model, lambda p: clip_layouts.hf_preprocess(p, side, c.OPENAI_DATASET_MEAN,
                                                                   c.OPENAI_DATASET_STD),
            tokenizer, labels, templates, photos, imagenet)))
    if "jit" in parts:
        clip_layouts.write_jit(os.path.join(out, name + "_jit"), model, sd)
        written.append((name + "_jit", ref))  # the same weights and open_clip's own preprocessing
    for folder_name, r in written:
        with open(os.path.join(out, folder_name, "reference.json"), "w", encoding="utf-8") as f:
            json.dump(r, f, ensure_ascii=False)
    return written, len(labels), len(templates)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "..", "shared"))
    ap.add_argument("--only", nargs="*", help="write these fixtures only: NAME[,NAME] (names of MODELS, "
                                              "or NAME_hf, NAME_jit for VARIANTS)")
    args = ap.parse_args()
    wanted = selection(args.only)
    if not os.path.isfile(os.path.join(args.shared, "reference", "open_clip", "__init__.py")):
        print(f"make_clip_fixtures: no open_clip under {args.shared}/reference; nothing written")
        return
    out = os.path.join(args.out_dir, "clip")
    os.makedirs(out, exist_ok=True)
    stamp = vitref.Stamp(out, ["make_clip_fixtures.py", "clip_layouts.py", "make_tokenizer_fixtures.py",
                               "vitref.py"], args.shared)
    if wanted is not None:  # a selection has its own stamp, so that the sanitizer builds' one is kept too
        stamp.path = os.path.join(out, ".stamp-" + "-".join(sorted(n + p for n, ps in wanted.items() for p in ps)))
        stamp.fresh = os.path.exists(stamp.path) and open(stamp.path).read() == stamp.digest
    if stamp.fresh:
        print(f"make_clip_fixtures: {out} is up to date")
        return
    open_clip = import_open_clip(args.shared)
    import make_tokenizer_fixtures
    bpe = open_clip.tokenizer.SimpleTokenizer()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    photos = photo_list(args.shared)
    for spec in MODELS:
        parts = [""] + VARIANTS.get(spec[0], []) if wanted is None else wanted.get(spec[0])
        if not parts:
            continue
        start = time.time()
        written, labels, templates = write_one(open_clip, out, photos, spec, parts,
                                               lambda folder: make_tokenizer_fixtures.write_hugging_face(bpe, folder))
        for folder_name, ref in written:
            top = sorted(max(r["probs"]) for r in ref["photos"])
            print(f"make_clip_fixtures: {folder_name}: {labels} labels x {templates} templates, "
                  f"{len(photos)} photos, top probability {top[0]:.3f} .. {top[-1]:.3f} "
                  f"(uniform {1 / labels:.3f}), {time.time() - start:.0f} s", flush=True)
    stamp.write()


if __name__ == "__main__":
    main()
