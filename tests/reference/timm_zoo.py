"""timm as the oracle for vit-classify's ViT architectures: builds any of timm's ViT
classifiers with random (seeded, every parameter perturbed) weights, saves them the way
timm's hub does (model.safetensors + config.json from timm's own save_config_for_hf) beside
an input batch and timm's logits for it, and lists the architectures with ImageNet-1k
weights in the timm modules vit-classify builds (MODULES: 155 in timm 1.0.28).

timm is read from ../shared/reference (timm 1.0.28, Apache-2.0), run on Debian's
python3-torch; nothing of it is copied into vit-classify. Used by make_zoo_fixtures.py (the
fast subset CTest runs) and scripts/check_timm_zoo.py (the whole zoo)."""
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vitref  # noqa: E402


def import_timm(shared):
    """timm from SHARED/reference, or None (with the reason printed) where it is absent."""
    ref = os.path.join(shared, "reference")
    if not os.path.isdir(os.path.join(ref, "timm")):
        print(f"timm_zoo: no timm at {ref}/timm: skipping the timm comparisons")
        return None
    if ref not in sys.path:
        sys.path.insert(0, ref)
    import timm  # noqa: E402
    return timm


# timm's modules whose ViT classifiers vit-classify builds (scripts/check_timm_zoo.py covers each).
MODULES = ("vision_transformer", "deit", "vision_transformer_hybrid", "cait", "beit", "vision_transformer_relpos", "eva",
           "xcit")


def in1k_architectures(timm, modules=MODULES):
    """{architecture: [tags]} for every classifier in the timm modules (default: MODULES) with
    ImageNet-1k weights (pretrained_cfg.num_classes == 1000), test_vit* aside."""
    from timm.models import get_pretrained_cfg
    out = {}
    for module in modules:
        names = set(timm.list_models(module=module))
        for tag in timm.list_pretrained():
            arch = tag.split(".")[0]
            if arch not in names or arch.startswith("test_vit"):
                continue
            if get_pretrained_cfg(tag).num_classes == 1000:
                out.setdefault(arch, []).append(tag)
    return out


def perturb(model, seed, scale=0.02):
    """Every parameter moves by seeded noise, so that zero- or one-initialised parts (heads,
    LayerNorm gains, layer scale) take part in the logits."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.add_(torch.randn(p.shape, generator=g) * scale)
        # BatchNorm's running statistics (XCiT), which eval uses: means moved, variances scaled
        # by a factor in [0.5, 1.5).
        for name, b in sorted(model.named_buffers()):
            if name.endswith("running_mean"):
                b.add_(torch.randn(b.shape, generator=g) * 10 * scale)
            elif name.endswith("running_var"):
                b.mul_(0.5 + torch.rand(b.shape, generator=g))


def build(timm, tag, seed, **kwargs):
    """timm's model for `tag` (architecture.pretrained_tag) with random weights, perturbed;
    kwargs override the architecture's arguments (depth, embed_dim, img_size, ...)."""
    torch.manual_seed(seed)
    model = timm.create_model(tag, pretrained=False, **kwargs).eval()
    perturb(model, seed + 1)
    if "img_size" in kwargs:  # the config must say the size the model was built for
        s = kwargs["img_size"]
        model.pretrained_cfg = dict(model.pretrained_cfg, input_size=(3, s, s))
    return model


def save_timm_layout(model, out, timm, model_args=None):
    """model.safetensors + config.json as timm's push_to_hub writes them."""
    from timm.models._hub import save_config_for_hf
    os.makedirs(out, exist_ok=True)
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    vitref.save_safetensors(f"{out}/model.safetensors", sd, {"format": "pt"})
    save_config_for_hf(model, Path(out) / "config.json", model_args=model_args)


def input_size(model):
    return model.pretrained_cfg["input_size"][-1]


def eval_inputs(timm, model, photos):
    """The photos (paths) as timm's own eval transform for this model makes them: (B, 3, S, S)."""
    from PIL import Image
    transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=model))
    return torch.stack([transform(Image.open(p).convert("RGB")) for p in photos])


def write_io(out, model, seed, batch=2, size=None, inputs=None):
    """io.safetensors: an input batch (B, 3, S, S), seeded noise unless `inputs` are given, and
    the model's logits for it."""
    size = size or input_size(model)
    g = torch.Generator().manual_seed(seed)
    x = inputs if inputs is not None else torch.randn(batch, 3, size, size, generator=g)
    with torch.inference_mode():
        logits = model(x)
    vitref.save_safetensors(f"{out}/io.safetensors", {"input": x, "logits": logits})
    return logits


def model_args_of(kwargs):
    """The kwargs a reduced model was built with, as config.json's model_args (img_size is
    said by pretrained_cfg.input_size instead)."""
    return {k: v for k, v in kwargs.items() if k != "img_size"} or None
