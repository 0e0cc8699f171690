#!/usr/bin/python3
"""Writes the references for `vit-classify explain`: every block's attention weights, attention
rollout and the position-embedding similarity, computed with PyTorch from torchvision's own
VisionTransformer (the fixtures make_fixtures.py wrote: OUT/{small,p32,real}/tv.pth and the
first image of their ref.safetensors 'input').

    /usr/bin/python3 tests/reference/make_explain_fixtures.py OUT_DIR

Writes OUT/<name>/explain.safetensors with
  input        (3, S, S)       the image
  attention    (L, H, T, T)    softmax(q k^T / sqrt(hd)) of each block
  logits       (classes)
  rollout_<fusion>_<ratio>  (g, g)   fusion in mean|max|min, ratio in 0.000|0.900
  position_similarity       (N, N)   cosine similarity of the patch rows of pos_embedding
Regenerated only when this script, vitref.py, the models or the library versions changed (OUT/<name>/.explain_stamp)."""
import hashlib
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vitref  # noqa: E402

FUSIONS = ("mean", "max", "min")
RATIOS = (0.0, 0.9)


def attention_weights(model, x):
    """(L, H, T, T) attention of each encoder block. torchvision calls its MultiheadAttention
    with need_weights=False, so the weights are recomputed from in_proj on the LayerNorm'd
    tokens, and the block's own output is checked against them."""
    n = x.shape[0]
    t = model._process_input(x)
    t = torch.cat([model.class_token.expand(n, -1, -1), t], 1)
    t = t + model.encoder.pos_embedding
    out = []
    for layer in model.encoder.layers:
        mha = layer.self_attention
        d, heads = mha.embed_dim, mha.num_heads
        hd = d // heads
        h = layer.ln_1(t)
        qkv = h @ mha.in_proj_weight.T + mha.in_proj_bias  # (B, T, 3D)
        q, k, v = (z.reshape(n, -1, heads, hd).transpose(1, 2) for z in qkv.split(d, -1))  # (B, H, T, hd)
        attn = (q @ k.transpose(-2, -1) / hd ** 0.5).softmax(-1)  # (B, H, T, T)
        mine = (attn @ v).transpose(1, 2).reshape(n, -1, d) @ mha.out_proj.weight.T + mha.out_proj.bias
        theirs, _ = mha(h, h, h, need_weights=False)
        assert torch.allclose(mine, theirs, atol=1e-5), (mine - theirs).abs().max()
        out.append(attn)
        t = layer(t)
    return torch.stack(out, 0)  # (L, B, H, T, T)


def rollout(attentions, discard_ratio, head_fusion, prefix=1):
    """Attention rollout as jacobgil/vit-explain's vit_rollout.py: fuse heads, zero the lowest
    discard_ratio of the fused (T, T) entries except entry 0 (class token to itself), average
    with the identity, renormalise, multiply layer by layer; the class token's row over the
    patches, divided by its maximum. One deliberate difference: each row is divided by its own
    sum (keepdim), as the paper says; vit_rollout.py's `a / a.sum(dim=-1)` broadcasts over
    columns, which agrees only when rows already sum to one (mean fusion, no discard)."""
    result = torch.eye(attentions[0].size(-1), dtype=torch.float64)
    for attention in attentions:  # (1, H, T, T)
        if head_fusion == "mean":
            fused = attention.mean(axis=1)
        elif head_fusion == "max":
            fused = attention.max(axis=1)[0]
        else:
            fused = attention.min(axis=1)[0]
        fused = fused.clone()
        flat = fused.view(fused.size(0), -1)
        _, indices = flat.topk(int(flat.size(-1) * discard_ratio), -1, False)
        indices = indices[indices != 0]
        flat[0, indices] = 0
        eye = torch.eye(fused.size(-1))
        a = (fused + eye) / 2
        a = a / a.sum(dim=-1, keepdim=True)
        result = a[0].double() @ result
    mask = result[0, prefix:]
    g = int(round(mask.numel() ** 0.5))
    mask = mask.reshape(g, g)
    return (mask / mask.max()).float()


def position_similarity(pos, prefix=1):
    p = pos[0, prefix:]  # (N, D)
    return F.cosine_similarity(p[:, None, :], p[None, :, :], dim=-1)  # (N, N)


def one(out_dir, name):
    d = f"{out_dir}/{name}"
    cfg = vitref.FIXTURE_MODELS[name]
    if not os.path.exists(f"{d}/tv.pth"):
        print(f"make_explain_fixtures: {d}/tv.pth absent, skipping")
        return
    h = hashlib.sha256(open(__file__, "rb").read())
    h.update(open(f"{d}/tv.pth", "rb").read())
    h.update(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "vitref.py"), "rb").read())
    h.update(vitref.library_versions().encode())
    stamp = f"{d}/.explain_stamp"
    if os.path.exists(stamp) and open(stamp).read() == h.hexdigest():
        return
    model = vitref.build_torchvision(cfg["image_size"], cfg["patch"], cfg["depth"], cfg["heads"], cfg["dim"], cfg["mlp"],
                                     cfg["classes"])
    model.load_state_dict(torch.load(f"{d}/tv.pth"))
    x = vitref.load_safetensors(f"{d}/ref.safetensors")["input"][:1]
    with torch.inference_mode():
        attn = attention_weights(model, x)[:, 0]  # (L, H, T, T)
        logits = model(x)[0]
        ref = {"input": x[0], "attention": attn, "logits": logits,
               "position_similarity": position_similarity(model.encoder.pos_embedding)}
        layers = [a[None] for a in attn]  # each (1, H, T, T)
        for fusion in FUSIONS:
            for ratio in RATIOS:
                ref[f"rollout_{fusion}_{ratio:.3f}"] = rollout(layers, ratio, fusion)
    vitref.save_safetensors(f"{d}/explain.safetensors", ref)
    with open(stamp, "w") as f:
        f.write(h.hexdigest())
    print(f"make_explain_fixtures: wrote {d}/explain.safetensors")


def main():
    out = sys.argv[1]
    torch.set_num_threads(2)
    for name in ("small", "p32", "real"):
        one(out, name)


if __name__ == "__main__":
    main()
