"""Other layouts of one open_clip CLIP model's weights, for make_clip_fixtures.py: Hugging Face's
CLIPModel folder (transformers' published names and config) and OpenAI's TorchScript archive.
transformers is not needed: its names, config keys and CLIPImageProcessor's arithmetic are
written out here."""
import json
import os

import numpy as np
import torch

import vitref


def _block(prefix_in, prefix_out, sd, out, layers):
    """One tower's resblocks (open_clip: fused in_proj (3W, W)) as transformers' encoder layers
    (q, k, v apart: rows [0:W], [W:2W], [2W:3W] of in_proj, the order nn.MultiheadAttention uses)."""
    for i in range(layers):
        a, b = f"{prefix_in}transformer.resblocks.{i}.", f"{prefix_out}encoder.layers.{i}."
        for part in ("weight", "bias"):
            q, k, v = sd[f"{a}attn.in_proj_{part}"].chunk(3, dim=0)
            out[f"{b}self_attn.q_proj.{part}"], out[f"{b}self_attn.k_proj.{part}"] = q, k
            out[f"{b}self_attn.v_proj.{part}"] = v
            out[f"{b}self_attn.out_proj.{part}"] = sd[f"{a}attn.out_proj.{part}"]
            out[f"{b}layer_norm1.{part}"] = sd[f"{a}ln_1.{part}"]
            out[f"{b}layer_norm2.{part}"] = sd[f"{a}ln_2.{part}"]
            out[f"{b}mlp.fc1.{part}"] = sd[f"{a}mlp.c_fc.{part}"]
            out[f"{b}mlp.fc2.{part}"] = sd[f"{a}mlp.c_proj.{part}"]


def hf_state_dict(sd, vision_layers, text_layers):
    """open_clip's state dict -> transformers' CLIPModel names. The projections become nn.Linear
    weights (out, in): visual.proj (D, E) and text_projection (W, E) transposed."""
    out = {}
    v, t = "vision_model.", "text_model."
    out[v + "embeddings.patch_embedding.weight"] = sd["visual.conv1.weight"]
    out[v + "embeddings.class_embedding"] = sd["visual.class_embedding"]
    pos = sd["visual.positional_embedding"]
    out[v + "embeddings.position_embedding.weight"] = pos
    out[v + "embeddings.position_ids"] = torch.arange(pos.shape[0], dtype=torch.int64).unsqueeze(0)
    for part in ("weight", "bias"):
        out[f"{v}pre_layrnorm.{part}"] = sd[f"visual.ln_pre.{part}"]  # sic: transformers' name
        out[f"{v}post_layernorm.{part}"] = sd[f"visual.ln_post.{part}"]
        out[f"{t}final_layer_norm.{part}"] = sd[f"ln_final.{part}"]
    _block("visual.", v, sd, out, vision_layers)
    out["visual_projection.weight"] = sd["visual.proj"].T
    out[t + "embeddings.token_embedding.weight"] = sd["token_embedding.weight"]
    tpos = sd["positional_embedding"]
    out[t + "embeddings.position_embedding.weight"] = tpos
    out[t + "embeddings.position_ids"] = torch.arange(tpos.shape[0], dtype=torch.int64).unsqueeze(0)
    _block("", t, sd, out, text_layers)
    out["text_projection.weight"] = sd["text_projection"].T
    out["logit_scale"] = sd["logit_scale"]
    return {k: x.contiguous() for k, x in out.items()}


def hf_config(model_cfg):
    """transformers' CLIPConfig for open_clip's model_cfg (the keys CLIPConfig.to_dict writes that
    describe the towers; the rest keep transformers' defaults)."""
    vc, tc = model_cfg["vision_cfg"], model_cfg["text_cfg"]
    act = "quick_gelu" if model_cfg.get("quick_gelu") else "gelu"
    vw, tw = vc["width"], tc["width"]
    vision = {"hidden_size": vw, "intermediate_size": int(vw * vc.get("mlp_ratio", 4.0)),
              "num_attention_heads": vw // vc.get("head_width", 64), "num_hidden_layers": vc["layers"],
              "image_size": vc["image_size"], "patch_size": vc["patch_size"], "num_channels": 3,
              "hidden_act": act, "layer_norm_eps": 1e-5, "projection_dim": model_cfg["embed_dim"],
              "model_type": "clip_vision_model"}
    text = {"hidden_size": tw, "intermediate_size": int(tw * tc.get("mlp_ratio", 4.0)),
            "num_attention_heads": tc["heads"], "num_hidden_layers": tc["layers"],
            "max_position_embeddings": tc["context_length"], "vocab_size": tc["vocab_size"],
            "hidden_act": act, "layer_norm_eps": 1e-5, "projection_dim": model_cfg["embed_dim"],
            "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 1, "model_type": "clip_text_model"}
    return {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": model_cfg["embed_dim"],
            "logit_scale_init_value": 2.6592, "initializer_factor": 1.0, "torch_dtype": "float32",
            "transformers_version": "4.44.2", "text_config": text, "vision_config": vision}


def hf_preprocessor_config(side, mean, std):
    """CLIPFeatureExtractor's preprocessor_config.json as openai/clip-vit-* repositories hold it."""
    return {"crop_size": side, "do_center_crop": True, "do_normalize": True, "do_resize": True,
            "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": list(mean), "image_std": list(std),
            "resample": 3, "size": side}


def hf_preprocess(path, side, mean, std):
    """transformers' CLIPImageProcessor on one photo: RGB, shorter side to `side` by PIL bicubic
    (the longer int(side * long / short)), center crop at offsets floored ((h - side) // 2, where
    torchvision rounds half to even), x / 255 and (x - mean) / std in float32. -> [1, 3, side, side]"""
    from PIL import Image
    img = Image.open(path).convert("RGB")
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(side * long / short)
    size = (side, new_long) if w <= h else (new_long, side)
    img = img.resize(size, resample=Image.BICUBIC, reducing_gap=None)
    x = np.asarray(img)  # [H, W, 3] uint8
    top, left = (x.shape[0] - side) // 2, (x.shape[1] - side) // 2
    x = x[top:top + side, left:left + side]
    x = (x.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))).unsqueeze(0)


def write_hf(folder, sd, model_cfg, mean, std, tokenizer_writer):
    """Hugging Face's CLIPModel folder for open_clip's state dict `sd`; tokenizer_writer(folder)
    writes vocab.json and merges.txt."""
    os.makedirs(folder, exist_ok=True)
    hf = hf_state_dict(sd, model_cfg["vision_cfg"]["layers"], model_cfg["text_cfg"]["layers"])
    vitref.save_safetensors(os.path.join(folder, "model.safetensors"), hf, {"format": "pt"})
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump(hf_config(model_cfg), f, indent=2)
    with open(os.path.join(folder, "preprocessor_config.json"), "w", encoding="utf-8") as f:
        json.dump(hf_preprocessor_config(model_cfg["vision_cfg"]["image_size"], mean, std), f, indent=2)
    tokenizer_writer(folder)


def write_jit(folder, model, sd):
    """OpenAI's original release: a TorchScript archive of the whole model (open_clip's CLIP,
    scripted, as open_clip's create_model(jit=True) does) with the size buffers OpenAI's files
    carry (input_resolution, context_length, vocab_size). Checks that the archive's tensors are
    `sd`'s, bit for bit."""
    os.makedirs(folder, exist_ok=True)
    sizes = {"input_resolution": model.visual.image_size[0], "context_length": model.context_length,
             "vocab_size": model.vocab_size}
    for key, value in sizes.items():  # open_clip's int attributes become OpenAI's scalar tensors
        if hasattr(model, key):
            delattr(model, key)
        model.register_buffer(key, torch.tensor(value))
    path = os.path.join(folder, "model.pt")
    torch.jit.save(torch.jit.script(model.eval()), path)
    loaded = torch.jit.load(path).state_dict()
    for name, t in sd.items():
        if not torch.equal(loaded[name], t):
            raise SystemExit(f"make_clip_fixtures: {path}: tensor {name} differs from the source model's")
