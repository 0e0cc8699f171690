#!/usr/bin/python3
"""Writes the reference fixtures that vit-classify's tests compare against, using PyTorch,
torchvision and Pillow (Debian's python3-torch, python3-torchvision, python3-pil).

    /usr/bin/python3 tests/reference/make_fixtures.py OUT_DIR [--shared ../shared]

Everything is regenerated only when this script, vitref.py or the versions of the libraries
that make the reference numbers changed (OUT_DIR/.stamp).
Model weights are random (seeded) or read from ../shared/models; nothing is downloaded."""
import argparse
import glob
import io
import json
import os
import sys

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision import transforms as T

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vitref  # noqa: E402

SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
MATE = "/usr/share/backgrounds/mate"
BICUBIC, BILINEAR = T.InterpolationMode.BICUBIC, T.InterpolationMode.BILINEAR
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def preset_transform(name):
    """The evaluation transforms each family publishes, on PIL images."""
    if name == "timm":
        return T.Compose([T.Resize(248, BICUBIC), T.CenterCrop(224), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    if name == "deit":
        return T.Compose([T.Resize(248, BICUBIC), T.CenterCrop(224), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    if name == "torchvision":
        return T.Compose([T.Resize(256, BILINEAR), T.CenterCrop(224), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    if name == "hf":  # ViTImageProcessor: PIL resize to 224x224 bilinear, rescale, normalise 0.5
        def hf(img):
            a = np.asarray(img.resize((224, 224), Image.BILINEAR)).astype(np.float64) * (1 / 255)
            a = (a.astype(np.float32) - 0.5) / 0.5
            return torch.from_numpy(a.transpose(2, 0, 1).copy())
        return hf
    raise KeyError(name)


PRESETS = ["timm", "torchvision", "hf", "deit"]


def open_rgb(path):
    return Image.open(path).convert("RGB")


def write_layouts(out, model, dim, cfg, seed_input, batch=2, extras=True):
    """Saves model (a torchvision ViT) in every layout, plus inputs and reference logits."""
    os.makedirs(out, exist_ok=True)
    vitref.write_fixture_config(out, cfg)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    timm_sd = vitref.tv_to_timm(sd)
    vitref.save_safetensors(f"{out}/timm.safetensors", timm_sd, {"format": "pt"})
    torch.save(sd, f"{out}/tv.pth")
    os.makedirs(f"{out}/hf", exist_ok=True)
    vitref.save_safetensors(f"{out}/hf/model.safetensors", vitref.tv_to_hf(sd, dim), {"format": "pt"})
    with open(f"{out}/hf/config.json", "w") as f:
        json.dump(vitref.hf_config(**cfg), f, indent=1)
    scripted = torch.jit.script(model)
    scripted.save(f"{out}/scripted.pt")
    g = torch.Generator().manual_seed(seed_input)
    size = cfg["image_size"]
    x = torch.randn(batch, 3, size, size, generator=g)
    ref = {"input": x}
    with torch.inference_mode():
        ref["logits"] = model(x)
    if extras:
        old = {k.replace("mlp.0.", "mlp.linear_1.").replace("mlp.3.", "mlp.linear_2."): v for k, v in sd.items()}
        torch.save(old, f"{out}/tv_old.pth")
        torch.save({"model": timm_sd, "epoch": 300, "args": {"lr": 0.001}}, f"{out}/deit.pth")
        # A torchvision checkpoint saved by a training loop (not DeiT), and a CNN's state dict.
        torch.save({"model": sd, "epoch": 3}, f"{out}/tv_wrapped.pth")
        torch.save({"conv1.weight": torch.randn(4, 3, 3, 3), "bn1.running_mean": torch.zeros(4),
                    "bn1.num_batches_tracked": torch.tensor(7)}, f"{out}/resnet_like.pth")
        for dt, tag in ((torch.float16, "f16"), (torch.bfloat16, "bf16")):
            low = {k: v.to(dt) for k, v in timm_sd.items()}
            vitref.save_safetensors(f"{out}/{tag}.safetensors", low)
            rounded = {k: v.to(dt).float() for k, v in sd.items()}
            m2 = vitref.build_torchvision(**tv_args(cfg))
            m2.load_state_dict(rounded)
            with torch.inference_mode():
                ref[f"logits_{tag}"] = m2(x)
        # An unaligned header (as pre-2023 writers left them).
        vitref.save_safetensors(f"{out}/unaligned.safetensors", timm_sd, align=False)
    vitref.save_safetensors(f"{out}/ref.safetensors", ref)


def tv_args(cfg):
    return dict(image_size=cfg["image_size"], patch=cfg["patch"], depth=cfg["depth"], heads=cfg["heads"],
                dim=cfg["dim"], mlp=cfg["mlp"], classes=cfg["classes"])


def random_model(out, cfg, seed, extras=True):
    torch.manual_seed(seed)
    model = vitref.randomize(vitref.build_torchvision(**tv_args(cfg)), seed)
    write_layouts(out, model, cfg["dim"], cfg, seed + 1, extras=extras)


def distilled_model(out, cfg, seed):
    """DeiT distilled: dist token after the class token, two heads averaged."""
    os.makedirs(out, exist_ok=True)
    vitref.write_fixture_config(out, cfg)
    torch.manual_seed(seed)
    model = vitref.randomize(vitref.build_torchvision(**tv_args(cfg)), seed)
    n = (cfg["image_size"] // cfg["patch"]) ** 2
    g = torch.Generator().manual_seed(seed + 7)
    dist = torch.randn(1, 1, cfg["dim"], generator=g) * 0.1
    pos = torch.randn(1, n + 2, cfg["dim"], generator=g) * 0.1
    head_dist = torch.nn.Linear(cfg["dim"], cfg["classes"])
    with torch.no_grad():
        model.encoder.pos_embedding = torch.nn.Parameter(pos)
    x = torch.randn(2, 3, cfg["image_size"], cfg["image_size"], generator=g)
    with torch.inference_mode():
        t = model._process_input(x)
        t = torch.cat([model.class_token.expand(2, -1, -1), dist.expand(2, -1, -1), t], 1)
        t = model.encoder(t)  # adds pos_embedding, runs the blocks and the final LayerNorm
        logits = (model.heads.head(t[:, 0]) + head_dist(t[:, 1])) / 2
    sd = vitref.tv_to_timm({k: v for k, v in model.state_dict().items()})
    sd["dist_token"] = dist
    sd["head_dist.weight"] = head_dist.weight.detach()
    sd["head_dist.bias"] = head_dist.bias.detach()
    vitref.save_safetensors(f"{out}/timm.safetensors", sd)
    vitref.save_safetensors(f"{out}/ref.safetensors", {"input": x, "logits": logits})


def real_model(out, shared):
    """The shared real ViT-Ti weights (timm names) in the other layouts, with references."""
    path = f"{shared}/models/vit_tiny_patch16_224.safetensors"
    if not os.path.exists(path):
        print(f"make_fixtures: {path} absent, skipping real-weight fixtures")
        return None
    timm_sd = vitref.load_safetensors(path)
    cfg = vitref.FIXTURE_MODELS["real"]
    model = vitref.build_torchvision(**tv_args(cfg))
    model.load_state_dict(vitref.timm_to_tv(timm_sd))
    write_layouts(out, model, 192, cfg, 11, extras=False)
    return model


def photo_list(shared):
    photos = [f"{SKIMAGE}/{n}" for n in ("chelsea.png", "coffee.png", "camera.png", "motorcycle_left.png",
                                         "hubble_deep_field.jpg", "astronaut.png")]
    photos += sorted(glob.glob(f"{shared}/images/imagenet/*.png"))
    return [p for p in photos if os.path.exists(p)]


def photo_predictions(out, model, shared):
    result = {}
    for p in photo_list(shared):
        img = open_rgb(p)
        result[p] = {}
        for preset in PRESETS:
            x = preset_transform(preset)(img).unsqueeze(0)
            with torch.inference_mode():
                prob = model(x).softmax(-1)[0]
            top = prob.topk(5)
            result[p][preset] = {"index": top.indices.tolist(), "probability": top.values.tolist()}
    with open(f"{out}/photos.json", "w") as f:
        json.dump(result, f, indent=1)


def preprocess_refs(out, shared):
    """Normalised tensors from the published pipelines, for photos shrunk about 1-9x."""
    os.makedirs(out, exist_ok=True)
    photos = photo_list(shared)[:8] + sorted(glob.glob(f"{MATE}/nature/*.jpg"))[:8]
    if os.path.exists(f"{MATE}/abstract/Elephants.jpg"):
        photos.append(f"{MATE}/abstract/Elephants.jpg")
    tensors, index = {}, []
    for i, p in enumerate(photos):
        img = open_rgb(p)
        for preset in PRESETS:
            tensors[f"{i}|{preset}"] = preset_transform(preset)(img).contiguous()
        index.append({"id": i, "path": p, "size": list(img.size)})
    vitref.save_safetensors(f"{out}/ref.safetensors", tensors)
    with open(f"{out}/index.json", "w") as f:
        json.dump(index, f, indent=1)


def resize_refs(out):
    """Pillow's resize at 2-8x reductions (and one enlargement), every filter."""
    os.makedirs(out, exist_ok=True)
    sources = [f"{SKIMAGE}/astronaut.png", f"{SKIMAGE}/chelsea.png"]
    if os.path.exists(f"{MATE}/nature/Storm.jpg"):
        sources.append(f"{MATE}/nature/Storm.jpg")
    filters = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
               "lanczos": Image.LANCZOS, "box": Image.BOX, "hamming": Image.HAMMING}
    index = []
    for i, p in enumerate(sources):
        img = open_rgb(p)
        w, h = img.size
        for factor in (2, 3, 4.5, 8, 0.7):
            size = (max(1, int(w / factor)), max(1, int(h / factor * 1.1)))
            for fname, f in filters.items():
                name = f"{i}_{fname}_{size[0]}x{size[1]}.png"
                img.resize(size, f).save(f"{out}/{name}")
                index.append({"source": p, "filter": fname, "width": size[0], "height": size[1], "file": name})
    with open(f"{out}/index.json", "w") as f:
        json.dump(index, f, indent=1)


def image_cases(out):
    """Decoding cases whose expected RGB comes from Pillow."""
    os.makedirs(out, exist_ok=True)
    base = open_rgb(f"{SKIMAGE}/chelsea.png")
    # EXIF orientation 6 (rotate 90 degrees clockwise to display).
    exif = Image.Exif()
    exif[0x0112] = 6
    base.save(f"{out}/exif6.jpg", quality=95, exif=exif.tobytes())
    ImageOps.exif_transpose(Image.open(f"{out}/exif6.jpg")).convert("RGB").save(f"{out}/exif6_expected.png")
    base.convert("P", palette=Image.ADAPTIVE, colors=64).save(f"{out}/palette.png")
    Image.open(f"{out}/palette.png").convert("RGB").save(f"{out}/palette_expected.png")
    rgba = base.copy()
    rgba.putalpha(Image.linear_gradient("L").resize(base.size))
    rgba.save(f"{out}/rgba.png")
    rgba.convert("RGB").save(f"{out}/rgba_expected.png")
    base.convert("L").save(f"{out}/gray.png")
    Image.open(f"{out}/gray.png").convert("RGB").save(f"{out}/gray_expected.png")
    base.save(f"{out}/photo.jpg", quality=90)
    with open(f"{out}/photo.jpg", "rb") as f:
        jpg = f.read()
    with open(f"{out}/truncated.jpg", "wb") as f:
        f.write(jpg[: len(jpg) // 2])
    with open(f"{out}/truncated.png", "wb") as f:
        png = open(f"{SKIMAGE}/chelsea.png", "rb").read()
        f.write(png[: len(png) // 2])
    open(f"{out}/empty.jpg", "wb").close()
    with open(f"{out}/text.jpg", "w") as f:
        f.write("this is not a JPEG, just text with a .jpg name\n")


class _RunsAShellCommand:
    """Unpickled by Python, this runs `touch PATH`: what a malicious checkpoint does."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


class _TinyConvNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2)
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def hostile_models(out):
    """Model files an attacker could hand over: torch.save-style zips whose pickles nest
    1,000,000 and 400,000 empty lists (]]]...aaa.), which a recursive reader or destructor
    overflows on; one
    whose data.pkl is a zip bomb; a real torch.save checkpoint that calls os.system when
    unpickled (it would create PWNED beside it); and a TorchScript module that is no ViT."""
    import zipfile
    os.makedirs(out, exist_ok=True)
    torch.save({"head.weight": torch.ones(10, 4), "payload": _RunsAShellCommand(f"{out}/PWNED")},
               f"{out}/malicious.pth")
    torch.manual_seed(0)
    torch.jit.script(_TinyConvNet().eval()).save(f"{out}/not_vit.pt")
    # A million nested lists is over the reader's value budget; 400,000 is built (and
    # destroyed, without recursion) before the reader finds it is no state dict.
    for name, depth in (("deep_nesting", 1_000_000), ("nested_400k", 400_000)):
        pkl = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
        with zipfile.ZipFile(f"{out}/{name}.pth", "w", zipfile.ZIP_STORED) as z:
            z.writestr(f"{name}/data.pkl", pkl)
            z.writestr(f"{name}/version", "3\n")
    # A data.pkl that deflates 50 MB of opcodes into ~50 KB: a zip bomb.
    with zipfile.ZipFile(f"{out}/zip_bomb.pth", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zip_bomb/data.pkl", b"\x80\x02" + b"N" * 50_000_000 + b".")
        z.writestr("zip_bomb/version", "3\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "../../../shared"))
    args = ap.parse_args()
    stamp = vitref.Stamp(args.out, ("make_fixtures.py", "vitref.py"), args.shared)
    if stamp.fresh:
        print("make_fixtures: up to date")
        return
    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    models = vitref.FIXTURE_MODELS
    random_model(f"{args.out}/small", models["small"], 1)
    random_model(f"{args.out}/p32", models["p32"], 2, extras=False)
    distilled_model(f"{args.out}/distilled", models["distilled"], 3)
    random_model(f"{args.out}/base", models["base"], 4, extras=False)
    model = real_model(f"{args.out}/real", args.shared)
    if model is not None:
        photo_predictions(f"{args.out}/real", model, args.shared)
    preprocess_refs(f"{args.out}/preprocess", args.shared)
    resize_refs(f"{args.out}/resize")
    image_cases(f"{args.out}/images")
    hostile_models(f"{args.out}/hostile")
    stamp.write()
    print(f"make_fixtures: wrote {args.out} ({vitref.library_versions()})")


if __name__ == "__main__":
    main()
