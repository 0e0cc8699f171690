"""Reference helpers for vit-classify's tests: safetensors I/O and the three checkpoint
layouts (timm, torchvision, Hugging Face), written independently of the C++ loader.
The reference model is always torchvision's own VisionTransformer."""
import json
import struct
from functools import partial

import numpy as np
import torch
from torch import nn
from torchvision.models.vision_transformer import VisionTransformer

_DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
       torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}
_NP = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def save_safetensors(path, tensors, metadata=None, align=True):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": _DT[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    if align:
        h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[8 + n + b:8 + n + e]
        if info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.int16).copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype=_NP[info["dtype"]]).copy())
        out[name] = t.reshape(info["shape"])
    return out


def build_torchvision(image_size, patch, depth, heads, dim, mlp, classes):
    return VisionTransformer(image_size, patch, depth, heads, dim, mlp, num_classes=classes,
                             norm_layer=partial(nn.LayerNorm, eps=1e-6)).eval()


def randomize(model, seed):
    """Every parameter non-trivial: torchvision zero-initialises the head, class token and
    attention biases, which would hide bugs in a parity test."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g) * 0.02
            if "ln" in name and name.endswith("weight"):
                p.copy_(1 + 5 * noise)
            elif name.startswith("heads.head.weight"):
                p.copy_(noise * 5)
            else:
                p.add_(noise * (5 if p.dim() == 1 or "token" in name else 1))
    return model


# torchvision <-> timm names: whole-model parts, then parts of one encoder block.
_TOP = [("class_token", "cls_token"), ("encoder.pos_embedding", "pos_embed"),
        ("conv_proj.", "patch_embed.proj."), ("encoder.ln.", "norm."), ("heads.head.", "head.")]
_BLOCK_PREFIX = ("encoder.layers.encoder_layer_", "blocks.")
_BLOCK = [("ln_1", "norm1"), ("ln_2", "norm2"), ("self_attention.in_proj_weight", "attn.qkv.weight"),
          ("self_attention.in_proj_bias", "attn.qkv.bias"), ("self_attention.out_proj", "attn.proj"),
          ("mlp.0", "mlp.fc1"), ("mlp.3", "mlp.fc2")]


def _rename(k, src, dst):
    for pair in _TOP:
        if k == pair[src] or (pair[src].endswith(".") and k.startswith(pair[src])):
            return pair[dst] + k[len(pair[src]):]
    if k.startswith(_BLOCK_PREFIX[src]):
        i, sub = k[len(_BLOCK_PREFIX[src]):].split(".", 1)
        for pair in _BLOCK:
            if sub.startswith(pair[src]):
                return f"{_BLOCK_PREFIX[dst]}{i}.{pair[dst]}{sub[len(pair[src]):]}"
    raise KeyError(k)


def tv_to_timm(sd):
    return {_rename(k, 0, 1): v for k, v in sd.items()}


def timm_to_tv(sd):
    return {_rename(k, 1, 0): v for k, v in sd.items()}


def tv_to_hf(sd, dim):
    out = {}
    for k, v in sd.items():
        if k == "class_token":
            out["vit.embeddings.cls_token"] = v
        elif k == "encoder.pos_embedding":
            out["vit.embeddings.position_embeddings"] = v
        elif k.startswith("conv_proj."):
            out["vit.embeddings.patch_embeddings.projection." + k.split(".")[-1]] = v
        elif k.startswith("encoder.ln."):
            out["vit.layernorm." + k.split(".")[-1]] = v
        elif k.startswith("heads.head."):
            out["classifier." + k.split(".")[-1]] = v
        else:
            rest = k[len("encoder.layers.encoder_layer_"):]
            i, sub = rest.split(".", 1)
            p = f"vit.encoder.layer.{i}."
            kind = sub.split(".")[-1] if "." in sub else sub
            if sub.startswith("self_attention.in_proj_"):
                kind = "weight" if sub.endswith("weight") else "bias"
                q, kk, vv = v.split(dim, 0)
                out[p + "attention.attention.query." + kind] = q
                out[p + "attention.attention.key." + kind] = kk
                out[p + "attention.attention.value." + kind] = vv
            elif sub.startswith("self_attention.out_proj."):
                out[p + "attention.output.dense." + kind] = v
            elif sub.startswith("ln_1."):
                out[p + "layernorm_before." + kind] = v
            elif sub.startswith("ln_2."):
                out[p + "layernorm_after." + kind] = v
            elif sub.startswith("mlp.0."):
                out[p + "intermediate.dense." + kind] = v
            elif sub.startswith("mlp.3."):
                out[p + "output.dense." + kind] = v
            else:
                raise KeyError(k)
    return out


def hf_config(dim, depth, heads, mlp, image_size, patch, classes, eps=1e-6):
    return {"architectures": ["ViTForImageClassification"], "model_type": "vit", "hidden_size": dim,
            "num_hidden_layers": depth, "num_attention_heads": heads, "intermediate_size": mlp,
            "hidden_act": "gelu", "layer_norm_eps": eps, "image_size": image_size, "patch_size": patch,
            "num_channels": 3, "qkv_bias": True,
            "id2label": {str(i): f"LABEL_{i}" for i in range(classes)},
            "label2id": {f"LABEL_{i}": i for i in range(classes)}}


# The fixture models: the one table both fixture scripts build from. Each fixture folder gets
# a config.json written from it (fixture_config), which the loader reads for the head count
# and the C++ tests read for the sizes they expect.
SMALL = dict(dim=48, depth=2, heads=3, mlp=96, image_size=32, patch=8, classes=10)
FIXTURE_MODELS = {
    "small": SMALL,
    "p32": dict(dim=64, depth=2, heads=4, mlp=128, image_size=96, patch=32, classes=7),
    "distilled": dict(SMALL, classes=5),
    "base": dict(dim=768, depth=12, heads=12, mlp=3072, image_size=224, patch=16, classes=1000),
    "real": dict(dim=192, depth=12, heads=3, mlp=768, image_size=224, patch=16, classes=1000),
}


def fixture_config(cfg):
    """config.json for a fixture folder: num_heads (what the loader reads) and the sizes."""
    return {"num_heads": cfg["heads"], "hidden_size": cfg["dim"], "depth": cfg["depth"], "mlp_dim": cfg["mlp"],
            "image_size": cfg["image_size"], "patch_size": cfg["patch"], "num_classes": cfg["classes"]}


def write_fixture_config(folder, cfg):
    with open(f"{folder}/config.json", "w") as f:
        json.dump(fixture_config(cfg), f, indent=1)


def library_versions():
    """The versions that decide the reference numbers, for the fixtures' stamps."""
    import PIL
    import torchvision
    return f"torch {torch.__version__}, torchvision {torchvision.__version__}, Pillow {PIL.__version__}, numpy {np.__version__}"


class Stamp:
    """OUT/.stamp: a digest of the scripts that write a fixture folder, the shared folder and
    the library versions, so the folder is rewritten only when one of them changed."""

    def __init__(self, out, scripts, shared):
        import hashlib
        import os
        here = os.path.dirname(os.path.abspath(__file__))
        h = hashlib.sha256()
        for f in scripts:
            h.update(open(os.path.join(here, f), "rb").read())
        h.update(os.path.abspath(shared).encode())
        h.update(library_versions().encode())
        self.path, self.digest = os.path.join(out, ".stamp"), h.hexdigest()
        self.fresh = os.path.exists(self.path) and open(self.path).read() == self.digest

    def write(self):
        with open(self.path, "w") as f:
            f.write(self.digest)
