#!/usr/bin/python3
"""Fixtures for the architecture tests (CTest group `zoo`), with timm as the oracle:

  OUT/models/NAME/   one small timm model per ViT feature (random weights, reduced depth and
                     width), saved as timm's hub saves it, with an input batch and timm's
                     logits (io.safetensors) and what it exercises (feature.txt);
  OUT/hf/NAME/       the Hugging Face layouts of the same ideas (DeiT with and without the
                     teacher head, Dinov2 with its 518-px position embeddings run at 224, and
                     its SwiGLU variant), the reference computed from timm's modules;
  OUT/resized/NAME/  models run at another --image-size than they were saved for, the
                     reference being timm (and torchvision) loading the same weights at that
                     size, position embeddings resampled by their own code;
  OUT/pcfg/NN/       every distinct pretrained_cfg among the 71 ImageNet-1k ViT architectures
                     (and the border crop mode), with timm's eval transform of real photos.

    /usr/bin/python3 tests/reference/make_zoo_fixtures.py OUT_DIR --shared ../shared

Writes nothing but a note when ../shared/reference/timm is absent (the tests then skip)."""
import argparse
import glob
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timm_zoo  # noqa: E402
import vitref  # noqa: E402

# name, timm tag, overrides, what it exercises
SUBSET = [
    ("vit_tiny", "vit_tiny_patch16_224.augreg_in21k_ft_in1k", dict(depth=2, img_size=64),
     "the paper's ViT: class token, token pooling"),
    ("deit_distilled", "deit_tiny_distilled_patch16_224.fb_in1k", dict(depth=2, img_size=64),
     "distillation token and head"),
    ("deit3", "deit3_small_patch16_224.fb_in1k", dict(depth=2, embed_dim=96, num_heads=3, img_size=64),
     "layer scale; position embeddings without the class token (no_embed_class)"),
    ("clip", "vit_base_patch32_clip_224.laion2b_ft_in1k", dict(depth=2, embed_dim=96, num_heads=3, img_size=96),
     "norm_pre, no patch-embedding bias, LayerNorm eps 1e-5 (from the architecture name)"),
    ("clip_quickgelu", "vit_base_patch32_clip_quickgelu_224.openai",
     dict(depth=2, embed_dim=96, num_heads=3, img_size=96, num_classes=1000),
     "QuickGELU (from the architecture name)"),
    ("reg4_gap", "vit_medium_patch16_reg4_gap_256.sbb_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "4 register tokens, no class token, average pooling with fc_norm, layer scale"),
    ("gap_no_fc_norm", "vit_medium_patch16_gap_256.sw_in12k_ft_in1k",
     dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "average pooling after the final norm (fc_norm=False), no qkv bias"),
    ("siglip_map", "vit_so400m_patch14_siglip_378.webli_ft_in1k", dict(depth=2, embed_dim=64, num_heads=4, img_size=56),
     "attention pooling with a latent query (global_pool='map'), patch 14"),
    ("rpn", "vit_base_patch16_rpn_224.sw_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "post-norm blocks (ResPostBlock, from the architecture name), no class token"),
    ("beit3", "beit3_base_patch16_224.in22k_ft_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "LayerNorm inside attention and MLP (scale norms), class token with average pooling, eps 1e-5"),
    ("flexivit", "flexivit_small.1200ep_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "class token without a position embedding"),
    ("pwee", "vit_pwee_patch16_reg1_gap_256.sbb_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "parallel blocks (ParallelScalingBlock), 1 register token"),
    ("pwee_no_bias", "vit_pwee_patch16_reg1_gap_256.sbb_in1k",
     dict(depth=2, embed_dim=64, num_heads=2, img_size=64, qkv_bias=False, qk_norm=True),
     "parallel blocks without in_proj bias (mlp_bias), with q/k norm"),
    ("qk_norm", "vit_tiny_patch16_224.augreg_in21k_ft_in1k", dict(depth=2, qk_norm=True, img_size=64),
     "q/k LayerNorm per head"),
    ("diff_attention", "vit_dwee_patch16_reg1_gap_256.sbb_in1k", dict(depth=3, embed_dim=64, num_heads=2, img_size=64),
     "differential attention (DiffAttention) in pre-norm blocks, lambda_init by block index"),
    ("diff_parallel", "vit_dpwee_patch16_reg1_gap_256.sbb_in1k",
     dict(depth=3, embed_dim=64, num_heads=2, img_size=64, qk_norm=True),
     "differential attention in parallel blocks with one out_proj (DiffParallelScalingBlock), q/k norm"),
    ("so150m2", "vit_so150m2_patch16_reg1_gap_256.sbb_e200_in12k_ft_in1k",
     dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "1 register token, no qkv bias, MLP ratio 2.6"),
    ("hybrid_stem", "vit_tiny_r_s16_p8_224.augreg_in21k_ft_in1k", dict(depth=2, img_size=64),
     "hybrid: a ResNet stem alone (weight-standardised SAME conv, GroupNorm, SAME max pool), 8x8 projection"),
    ("hybrid_r26", "vit_small_r26_s32_224.augreg_in21k_ft_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "hybrid: ResNet-26 stages (bottlenecks, strided 3x3, projected shortcuts) before a 1x1 projection"),
    ("cait", "cait_xxs24_224.fb_dist_in1k", dict(depth=2, depth_token_only=2, embed_dim=64, num_heads=4, img_size=64),
     "CaiT: talking-heads attention (4 heads, told by proj_l alone), layer scale (gamma_1/gamma_2), position "
     "embeddings on the patches only, the class token joining in class-attention blocks after the blocks"),
    ("cait_avg", "cait_xxs24_224.fb_dist_in1k",
     dict(depth=2, depth_token_only=1, embed_dim=64, num_heads=2, img_size=64, global_pool="avg", qkv_bias=False),
     "CaiT with average pooling over the patches after the class attention, no q/k/v bias"),
    ("beit", "beit_base_patch16_224.in22k_ft_in22k_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "BEiT: relative position table per block (3 class-token rows), q/v bias without key bias, layer scale "
     "gamma_1/gamma_2, no pos_embed, mean pooling with fc_norm"),
    ("beitv2", "beitv2_base_patch16_224.in1k_ft_in1k", dict(depth=2, embed_dim=64, num_heads=4, img_size=80),
     "BEiT v2: relative position tables, layer scale 1e-5, ImageNet mean/std, 4 heads (from the table)"),
    ("relpos_gap", "vit_relpos_medium_patch16_224.sw_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "RelPosMlp per block (log-spaced relative coordinates), no class token, average pooling with fc_norm"),
    ("relpos_cls", "vit_relpos_medium_patch16_cls_224.sw_in1k",
     dict(depth=2, embed_dim=64, num_heads=2, img_size=64, rel_pos_dim=32),
     "RelPosMlp with a class token (its bias rows and columns zero), token pooling, MLP width 32"),
    ("relpos_clsgap", "vit_relpos_base_patch16_clsgap_224.sw_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "RelPosMlp, class token with average pooling and fc_norm"),
    ("relpos_rpn", "vit_relpos_medium_patch16_rpn_224.sw_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "RelPosMlp in post-norm blocks (ResPostRelPosBlock, from the architecture name)"),
    ("srelpos", "vit_srelpos_small_patch16_224.sw_in1k",
     dict(depth=2, embed_dim=64, num_heads=2, img_size=64, rel_pos_dim=64),
     "one RelPosMlp shared by all blocks (shared_rel_pos), average pooling after the final norm"),
    # timm eva.py: rotary position embeddings (RotaryEmbeddingCat / RotaryEmbeddingMixed), EVA blocks
    ("eva02", "eva02_tiny_patch14_336.mim_in22k_ft_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=70),
     "EVA-02: rope cat scaled to ref_feat_shape 16, q_bias/v_bias beside a bias-free qkv, packed SwiGLU, avg pool"),
    ("eva02_split", "eva02_base_patch14_448.mim_in22k_ft_in22k_in1k",
     dict(depth=2, embed_dim=64, num_heads=2, img_size=70),
     "EVA-02 B/L: q_proj/k_proj/v_proj, SwiGLU with fc1_g/fc1_x and its norm (scale_mlp)"),
    ("eva_giant", "eva_giant_patch14_224.clip_ft_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=56),
     "EVA giant: absolute position embeddings only, q_bias/v_bias, GELU MLP"),
    ("rope_axial", "vit_small_patch16_rope_224.naver_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=80),
     "ROPE-ViT axial: rope cat (temperature 100, 'xy'), no pos_embed, layer scale gamma_1/gamma_2, class token"),
    ("rope_ape", "vit_small_patch16_rope_ape_224.naver_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "ROPE-ViT axial + absolute position embeddings for the patches only"),
    ("rope_mixed", "vit_small_patch16_rope_mixed_224.naver_in1k",
     dict(depth=2, embed_dim=64, num_heads=2, img_size=80),
     "ROPE-ViT mixed: learned frequencies per block and head (rope.freqs)"),
    ("rope_mixed_ape", "vit_small_patch16_rope_mixed_ape_224.naver_in1k",
     dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "ROPE-ViT mixed + absolute position embeddings"),
    ("rope_reg_gap", "vit_betwixt_patch16_rope_reg4_gap_256.sbb_in1k",
     dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "timm SBB rope: 4 register tokens (not rotated), rope cat with ref_feat_shape 16, avg pool"),
    ("xcit_p16", "xcit_tiny_12_p16_224.fb_in1k", dict(depth=2, embed_dim=64, num_heads=4, img_size=64),
     "XCiT: 4-stage conv + batch-norm patch embedding, Fourier positions, XCA blocks with local patch "
     "interaction, 2 class-attention blocks norming every token (tokens_norm, from the architecture name)"),
    ("xcit_p8_nano", "xcit_nano_12_p8_224.fb_in1k", dict(depth=2, embed_dim=64, num_heads=2, img_size=64),
     "XCiT patch 8 (3 conv stages), class-attention blocks norming the class token only (nano: no tokens_norm)"),
]

# name, saved model (subset name), run size, what it exercises
RESIZED = [
    ("vit_tiny_96", "vit_tiny", 96, "class token: resampled with the prefix row kept"),
    ("deit3_48", "deit3", 48, "no_embed_class: only patch rows resampled, downscaled (antialias)"),
    ("reg4_gap_96", "reg4_gap", 96, "registers + no class token"),
    ("hybrid_stem_96", "hybrid_stem", 96, "hybrid: the stem's feature map at another size, a 3x3 grid"),
    ("cait_96", "cait", 96, "CaiT: the patches' position embeddings resampled, no class row"),
    ("beit_112", "beit", 112, "BEiT tables resampled (resize_rel_pos_table: geometric-progression grid, linear)"),
    ("beit_48", "beit", 48, "BEiT tables downscaled"),
    ("relpos_cls_96", "relpos_cls", 96, "RelPosMlp computed for the larger grid"),
    ("eva02_98", "eva02", 98, "EVA-02: rope table recomputed for a 7x7 grid, positions scaled to the 16 of ref"),
    ("rope_mixed_ape_96", "rope_mixed_ape", 96, "rope mixed grid recomputed, patch-only pos_embed resampled"),
    ("rope_axial_48", "rope_axial", 48, "rope cat without ref_feat_shape at a smaller grid"),
    ("xcit_p16_96", "xcit_p16", 96, "XCiT: the Fourier position encoding computed for the 6x6 grid"),
]


def dual_lambda_model(timm, out, seed):
    """DiffAttention with dual_lambda=True (lambda_a, lambda_b scalars), which no registered
    architecture passes: a vit_dwee whose attention modules are rebuilt that way."""
    from timm.layers.diff_attention import DiffAttention
    model = timm_zoo.build(timm, "vit_dwee_patch16_reg1_gap_256.sbb_in1k", seed, depth=2, embed_dim=64, num_heads=2,
                           img_size=64)
    for i, blk in enumerate(model.blocks):
        old = blk.attn
        blk.attn = DiffAttention(64, num_heads=2, qkv_bias=old.qkv.bias is not None, depth=i, dual_lambda=True)
        blk.attn.load_state_dict({k: v for k, v in old.state_dict().items() if not k.startswith("lambda")},
                                 strict=False)
        with torch.no_grad():
            blk.attn.lambda_a.fill_(0.3 + 0.1 * i)
            blk.attn.lambda_b.fill_(-0.2)
    model.eval()
    d = f"{out}/models/diff_dual_lambda"
    timm_zoo.save_timm_layout(model, d, timm, {"depth": 2, "embed_dim": 64, "num_heads": 2})
    timm_zoo.write_io(d, model, seed=seed + 1)
    with open(f"{d}/feature.txt", "w") as f:
        f.write("vit_dwee_patch16_reg1_gap_256 with DiffAttention(dual_lambda=True): lambda_a, lambda_b\n")


def subset_models(timm, out):
    built = {}
    for i, (name, tag, kw, feature) in enumerate(SUBSET):
        model = timm_zoo.build(timm, tag, seed=100 + i, **kw)
        d = f"{out}/models/{name}"
        timm_zoo.save_timm_layout(model, d, timm, timm_zoo.model_args_of(kw))
        timm_zoo.write_io(d, model, seed=200 + i)
        with open(f"{d}/feature.txt", "w") as f:
            f.write(f"{tag} {json.dumps(kw)}: {feature}\n")
        built[name] = (tag, kw, model)
    return built


def resized_models(timm, out, built):
    from timm.layers import resample_abs_pos_embed
    from timm.models import beit, eva, vision_transformer, xcit
    filters = {"beit": beit, "eva": eva, "xcit": xcit}  # each module's own loading filter; the rest (hybrids
    for i, (name, source, size, feature) in enumerate(RESIZED):  # too) load through vision_transformer's
        tag, kw, model = built[source]
        d = f"{out}/resized/{name}"
        timm_zoo.save_timm_layout(model, d, timm, timm_zoo.model_args_of(kw))
        at_size = timm.create_model(tag, pretrained=False, **dict(kw, img_size=size)).eval()
        if tag.startswith("cait_"):  # cait.py's filter leaves pos_embed as it is: timm's resampler, no prefix rows
            g = at_size.patch_embed.grid_size
            sd = dict(model.state_dict(), pos_embed=resample_abs_pos_embed(model.pos_embed, g, num_prefix_tokens=0))
        elif "relpos" in tag:  # RelPosMlp is computed for any grid: the weights as they are
            sd = model.state_dict()
        else:
            module = type(model).__module__.rsplit(".", 1)[-1]
            sd = filters.get(module, vision_transformer).checkpoint_filter_fn(model.state_dict(), at_size)
        at_size.load_state_dict(sd)
        timm_zoo.write_io(d, at_size, seed=300 + i, size=size)
        with open(f"{d}/feature.txt", "w") as f:
            f.write(f"{size}\n{tag} saved at {timm_zoo.input_size(model)}, run at {size}: {feature}\n")
    # torchvision: interpolate_embeddings (bicubic, align_corners=True)
    from torchvision.models.vision_transformer import interpolate_embeddings
    small = vitref.build_torchvision(64, 16, 2, 3, 192, 384, 1000)  # width 192: 3 heads, as for ViT-Ti
    vitref.randomize(small, 7)
    d = f"{out}/resized/torchvision_96"
    os.makedirs(d, exist_ok=True)
    torch.save(small.state_dict(), f"{d}/model.pth")
    big = vitref.build_torchvision(96, 16, 2, 3, 192, 384, 1000)
    big.load_state_dict(interpolate_embeddings(96, 16, small.state_dict()))
    timm_zoo.write_io(d, big, seed=310, size=96)
    with open(f"{d}/feature.txt", "w") as f:
        f.write("96\ntorchvision ViT saved at 64, run at 96: interpolate_embeddings\n")


def timm_to_hf(sd, prefix, dinov2):
    """timm names -> Hugging Face ViT/DeiT/Dinov2 names (q, k, v split out of qkv)."""
    out = {}
    for k, v in sd.items():
        p = k.split(".")
        if k == "cls_token":
            out[f"{prefix}embeddings.cls_token"] = v
        elif k == "dist_token":
            out[f"{prefix}embeddings.distillation_token"] = v
        elif k == "pos_embed":
            out[f"{prefix}embeddings.position_embeddings"] = v
        elif k.startswith("patch_embed.proj."):
            out[f"{prefix}embeddings.patch_embeddings.projection.{p[-1]}"] = v
        elif k.startswith("norm."):
            out[f"{prefix}layernorm.{p[-1]}"] = v
        elif p[0] == "blocks":
            layer = f"{prefix}encoder.layer.{p[1]}."
            rest = ".".join(p[2:])
            if rest.startswith("attn.qkv."):
                for part, t in zip(("query", "key", "value"), v.chunk(3, 0)):
                    out[f"{layer}attention.attention.{part}.{p[-1]}"] = t
                continue
            names = {"attn.proj": "attention.output.dense"}
            if dinov2:
                names.update({"ls1.gamma": "layer_scale1.lambda1", "ls2.gamma": "layer_scale2.lambda1",
                              "norm1": "norm1", "norm2": "norm2", "mlp.fc1": "mlp.weights_in" if dinov2 == "swiglu"
                              else "mlp.fc1", "mlp.fc2": "mlp.weights_out" if dinov2 == "swiglu" else "mlp.fc2"})
            else:
                names.update({"norm1": "layernorm_before", "norm2": "layernorm_after", "mlp.fc1": "intermediate.dense",
                              "mlp.fc2": "output.dense"})
            key = rest if rest.endswith("gamma") else rest.rsplit(".", 1)[0]
            new = names[key] if rest.endswith("gamma") else f"{names[key]}.{p[-1]}"
            out[layer + new] = v
    return out


def hf_dinov2(timm, out, name, seed, swiglu):
    """Dinov2ForImageClassification: weights from a 518-px timm Dinov2, run at 224 (HF always
    interpolates: bicubic, align_corners=False, no antialias), head on [cls, mean(patches)]."""
    import torch.nn.functional as F
    kw = dict(depth=2, embed_dim=64, num_heads=2, img_size=518, num_classes=0)
    if swiglu:
        kw.update(mlp_layer=timm.layers.SwiGLUPacked, act_layer=torch.nn.SiLU, mlp_ratio=4)
    m518 = timm_zoo.build(timm, "vit_small_patch14_dinov2.lvd142m", seed, **kw)
    m224 = timm.create_model("vit_small_patch14_dinov2.lvd142m", pretrained=False, **dict(kw, img_size=224)).eval()
    sd = dict(m518.state_dict())
    pos = sd["pos_embed"]
    grid = pos[:, 1:].reshape(1, 37, 37, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(16, 16), mode="bicubic", align_corners=False)
    m224.load_state_dict(dict(sd, pos_embed=torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, 256, -1)], 1)))
    g = torch.Generator().manual_seed(seed + 2)
    head = torch.nn.Linear(128, 1000)
    with torch.no_grad():
        head.weight.copy_(torch.randn(1000, 128, generator=g) * 0.05)
        head.bias.copy_(torch.randn(1000, generator=g) * 0.05)
    d = f"{out}/hf/{name}"
    os.makedirs(d, exist_ok=True)
    hf = timm_to_hf(sd, "dinov2.", "swiglu" if swiglu else True)
    hf["dinov2.embeddings.mask_token"] = torch.zeros(1, 64)
    hf["classifier.weight"], hf["classifier.bias"] = head.weight.detach(), head.bias.detach()
    vitref.save_safetensors(f"{d}/model.safetensors", hf, {"format": "pt"})
    with open(f"{d}/config.json", "w") as f:
        json.dump({"architectures": ["Dinov2ForImageClassification"], "model_type": "dinov2", "hidden_size": 64,
                   "num_attention_heads": 2, "num_hidden_layers": 2, "layer_norm_eps": 1e-6, "hidden_act": "gelu",
                   "image_size": 518, "patch_size": 14, "use_swiglu_ffn": swiglu}, f, indent=1)
    with open(f"{d}/preprocessor_config.json", "w") as f:
        json.dump({"do_resize": True, "size": {"shortest_edge": 256}, "resample": 3, "do_center_crop": True,
                   "crop_size": {"height": 224, "width": 224}, "do_rescale": True, "rescale_factor": 1 / 255,
                   "do_normalize": True, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}, f)
    x = torch.randn(2, 3, 224, 224, generator=g)
    with torch.inference_mode():
        feats = m224.forward_features(x)
        logits = head(torch.cat([feats[:, 0], feats[:, 1:].mean(1)], 1))
    vitref.save_safetensors(f"{d}/io.safetensors", {"input": x, "logits": logits})
    with open(f"{d}/feature.txt", "w") as f:
        f.write("Dinov2ForImageClassification" + (" with SwiGLU" if swiglu else "") +
                ": layer scale, 518-px position embeddings run at 224, head on [class token, mean of patches]\n")


def hf_dinov2_registers(timm, out, seed):
    """Dinov2WithRegistersForImageClassification: the class token's position row added before the
    4 registers are inserted after it (they have none); 518-px position embeddings run at 224
    (bicubic with antialias, as its interpolate_pos_encoding); head on [cls, mean(patches)]."""
    import torch.nn.functional as F
    kw = dict(depth=2, embed_dim=64, num_heads=2, img_size=518, num_classes=0)
    m518 = timm_zoo.build(timm, "vit_small_patch14_reg4_dinov2.lvd142m", seed, **kw)
    m224 = timm.create_model("vit_small_patch14_reg4_dinov2.lvd142m", pretrained=False,
                             **dict(kw, img_size=224)).eval()
    sd = dict(m518.state_dict())
    g = torch.Generator().manual_seed(seed + 2)
    cls_pos = torch.randn(1, 1, 64, generator=g) * 0.05
    hf_cls = sd["cls_token"] - cls_pos
    grid = sd["pos_embed"].reshape(1, 37, 37, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(16, 16), mode="bicubic", align_corners=False, antialias=True)
    # the reference's class token as the model computes it: (cls - row) + row
    m224.load_state_dict(dict(sd, cls_token=hf_cls + cls_pos, pos_embed=grid.permute(0, 2, 3, 1).reshape(1, 256, -1)))
    head = torch.nn.Linear(128, 1000)
    with torch.no_grad():
        head.weight.copy_(torch.randn(1000, 128, generator=g) * 0.05)
        head.bias.copy_(torch.randn(1000, generator=g) * 0.05)
    d = f"{out}/hf/dinov2_registers"
    os.makedirs(d, exist_ok=True)
    p = "dinov2_with_registers."
    hf = timm_to_hf(sd, p, True)
    hf.update({f"{p}embeddings.cls_token": hf_cls, f"{p}embeddings.register_tokens": sd["reg_token"],
               f"{p}embeddings.position_embeddings": torch.cat([cls_pos, sd["pos_embed"]], 1),
               f"{p}embeddings.mask_token": torch.zeros(1, 64),
               "classifier.weight": head.weight.detach(), "classifier.bias": head.bias.detach()})
    vitref.save_safetensors(f"{d}/model.safetensors", hf, {"format": "pt"})
    with open(f"{d}/config.json", "w") as f:
        json.dump({"architectures": ["Dinov2WithRegistersForImageClassification"], "model_type": "dinov2_with_registers",
                   "hidden_size": 64, "num_attention_heads": 2, "num_hidden_layers": 2, "layer_norm_eps": 1e-6,
                   "hidden_act": "gelu", "image_size": 518, "patch_size": 14, "num_register_tokens": 4}, f, indent=1)
    with open(f"{d}/preprocessor_config.json", "w") as f:
        json.dump({"do_resize": True, "size": {"shortest_edge": 256}, "resample": 3, "do_center_crop": True,
                   "crop_size": {"height": 224, "width": 224}, "do_rescale": True, "rescale_factor": 1 / 255,
                   "do_normalize": True, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}, f)
    x = torch.randn(2, 3, 224, 224, generator=g)
    with torch.inference_mode():
        feats = m224.forward_features(x)  # [cls, 4 registers, patches]
        logits = head(torch.cat([feats[:, 0], feats[:, 5:].mean(1)], 1))
    vitref.save_safetensors(f"{d}/io.safetensors", {"input": x, "logits": logits})
    with open(f"{d}/feature.txt", "w") as f:
        f.write("Dinov2WithRegistersForImageClassification: 4 registers without position embeddings, 518-px "
                "position embeddings run at 224 (antialiased), head on [class token, mean of patches]\n")


def hf_deit(timm, out, seed):
    """DeiTForImageClassificationWithTeacher (both heads averaged) and DeiTForImageClassification
    (distillation token present, classifier on the class token only)."""
    model = timm_zoo.build(timm, "deit_tiny_distilled_patch16_224.fb_in1k", seed, depth=2, img_size=64)
    sd = model.state_dict()
    g = torch.Generator().manual_seed(seed + 5)
    x = torch.randn(2, 3, 64, 64, generator=g)
    cfg = {"architectures": ["DeiTForImageClassificationWithTeacher"], "model_type": "deit", "hidden_size": 192,
           "num_attention_heads": 3, "num_hidden_layers": 2, "layer_norm_eps": 1e-6, "hidden_act": "gelu",
           "image_size": 64, "patch_size": 16}
    for name, teacher in (("deit_with_teacher", True), ("deit_cls_only", False)):
        d = f"{out}/hf/{name}"
        os.makedirs(d, exist_ok=True)
        hf = timm_to_hf(sd, "deit.", False)
        if teacher:
            hf.update({"cls_classifier.weight": sd["head.weight"], "cls_classifier.bias": sd["head.bias"],
                       "distillation_classifier.weight": sd["head_dist.weight"],
                       "distillation_classifier.bias": sd["head_dist.bias"]})
        else:
            hf.update({"classifier.weight": sd["head.weight"], "classifier.bias": sd["head.bias"]})
        vitref.save_safetensors(f"{d}/model.safetensors", hf, {"format": "pt"})
        with open(f"{d}/config.json", "w") as f:
            json.dump(dict(cfg, architectures=["DeiTForImageClassification" + ("WithTeacher" if teacher else "")]), f)
        with torch.inference_mode():
            if teacher:
                logits = model(x)
            else:
                logits = model.head(model.forward_features(x)[:, 0])
        vitref.save_safetensors(f"{d}/io.safetensors", {"input": x, "logits": logits})
        with open(f"{d}/feature.txt", "w") as f:
            f.write(("DeiTForImageClassificationWithTeacher: both heads averaged\n" if teacher else
                     "DeiTForImageClassification: distillation token, classifier on the class token only\n"))


def timm_beit_to_hf(sd):
    """timm Beit names -> Hugging Face BeitForImageClassification's (query/key/value apart, the
    key without bias, lambda_1/2, the relative position index buffer older files carry)."""
    out = {}
    names = {"norm1": "layernorm_before", "norm2": "layernorm_after", "attn.proj": "attention.output.dense",
             "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"}
    for k, v in sd.items():
        p = k.split(".")
        if k == "cls_token":
            out["beit.embeddings.cls_token"] = v
        elif k.startswith("patch_embed.proj."):
            out[f"beit.embeddings.patch_embeddings.projection.{p[-1]}"] = v
        elif k.startswith("fc_norm."):
            out[f"beit.pooler.layernorm.{p[-1]}"] = v
        elif k.startswith("head."):
            out[f"classifier.{p[-1]}"] = v
        elif p[0] == "blocks":
            layer, rest = f"beit.encoder.layer.{p[1]}.", ".".join(p[2:])
            att = layer + "attention.attention."
            if rest == "attn.qkv.weight":
                for part, t in zip(("query", "key", "value"), v.chunk(3, 0)):
                    out[f"{att}{part}.weight"] = t
            elif rest in ("attn.q_bias", "attn.v_bias"):
                out[f"{att}{'query' if rest == 'attn.q_bias' else 'value'}.bias"] = v
            elif rest == "attn.relative_position_bias_table":
                out[f"{att}relative_position_bias.relative_position_bias_table"] = v
            elif rest in ("gamma_1", "gamma_2"):
                out[layer + "lambda_" + rest[-1]] = v
            else:
                out[layer + names[rest.rsplit(".", 1)[0]] + "." + p[-1]] = v
    return out


def hf_beit(timm, out, seed):
    """BeitForImageClassification (microsoft/beit-*): the reference is timm's Beit with the
    same weights and LayerNorm eps 1e-12 (transformers' BeitConfig default)."""
    from functools import partial
    kw = dict(depth=2, embed_dim=64, num_heads=2, img_size=64,
              norm_layer=partial(timm.layers.LayerNorm, eps=1e-12))
    model = timm_zoo.build(timm, "beit_base_patch16_224.in22k_ft_in22k_in1k", seed, **kw)
    sd = {k: v for k, v in model.state_dict().items() if "relative_position_index" not in k}
    hf = timm_beit_to_hf(sd)
    for i, blk in enumerate(model.blocks):  # int64 buffers as older transformers saved them
        hf[f"beit.encoder.layer.{i}.attention.attention.relative_position_bias.relative_position_index"] = \
            blk.attn.relative_position_index.clone()
    d = f"{out}/hf/beit"
    os.makedirs(d, exist_ok=True)
    vitref.save_safetensors(f"{d}/model.safetensors", hf, {"format": "pt"})
    with open(f"{d}/config.json", "w") as f:
        json.dump({"architectures": ["BeitForImageClassification"], "model_type": "beit", "hidden_size": 64,
                   "num_attention_heads": 2, "num_hidden_layers": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
                   "image_size": 64, "patch_size": 16, "use_mean_pooling": True, "use_relative_position_bias": True,
                   "use_absolute_position_embeddings": False, "layer_scale_init_value": 0.1}, f, indent=1)
    timm_zoo.write_io(d, model, seed=seed + 1)
    with open(f"{d}/feature.txt", "w") as f:
        f.write("BeitForImageClassification: relative position tables, query/value biases without key bias, "
                "lambda_1/2, pooler layernorm (mean pooling), eps 1e-12, int64 index buffers dropped\n")


def photos(shared):
    """Real photos of many sizes and aspect ratios: the shared ImageNet photos, then
    scikit-image's."""
    found = sorted(glob.glob(f"{shared}/images/imagenet/*.png") + glob.glob(f"{shared}/images/imagenet/*.JPEG"))
    sk = "/usr/lib/python3/dist-packages/skimage/data"
    found += [f"{sk}/{n}" for n in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png")
              if os.path.exists(f"{sk}/{n}")]
    return found[:7] + found[-5:] if len(found) > 12 else found


def pretrained_cfgs(timm):
    """Every distinct eval preprocessing among the 71 architectures' ImageNet-1k tags, plus
    the border crop mode (which none of them uses) at two crop_pct values."""
    from timm.models import get_pretrained_cfg
    seen = {}
    for arch, tags in sorted(timm_zoo.in1k_architectures(timm).items()):
        for tag in tags:
            c = get_pretrained_cfg(tag).to_dict()
            key = json.dumps([c.get(k) for k in ("input_size", "crop_pct", "crop_mode", "interpolation", "mean",
                                                 "std")])
            seen.setdefault(key, dict(c, tag=tag))
    cfgs = list(seen.values())
    base = dict(cfgs[0])
    cfgs.append(dict(base, crop_mode="border", crop_pct=0.9, tag="border-0.9"))
    cfgs.append(dict(base, crop_mode="border", crop_pct=1.0, interpolation="bilinear", tag="border-1.0-bilinear"))
    return cfgs


def preprocess_refs(timm, out, shared):
    from PIL import Image
    from timm.data import create_transform, resolve_data_config
    files = photos(shared)
    for i, c in enumerate(pretrained_cfgs(timm)):
        d = f"{out}/pcfg/{i:02d}"
        os.makedirs(d, exist_ok=True)
        cfg = {k: c.get(k) for k in ("input_size", "crop_pct", "crop_mode", "interpolation", "mean", "std")
               if c.get(k) is not None}
        with open(f"{d}/config.json", "w") as f:
            json.dump({"architecture": "vit_base_patch16_224", "num_classes": 1000, "pretrained_cfg": cfg}, f)
        data = resolve_data_config({}, pretrained_cfg=cfg)
        raw = create_transform(**data, is_training=False, normalize=False)
        norm = create_transform(**data, is_training=False)
        refs = {}
        for j, path in enumerate(files):
            img = Image.open(path).convert("RGB")
            refs[f"u8_{j}"] = raw(img)
            if j == 0:
                refs["normalized_0"] = norm(img)
        vitref.save_safetensors(f"{d}/ref.safetensors", refs)
        with open(f"{d}/photos.txt", "w") as f:
            f.write("\n".join(files) + "\n")
        with open(f"{d}/tag.txt", "w") as f:
            f.write(f"{c['tag']} {json.dumps(cfg)}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "../../../shared"))
    args = ap.parse_args()
    stamp = vitref.Stamp(args.out, ("make_zoo_fixtures.py", "timm_zoo.py", "vitref.py"), args.shared)
    if stamp.fresh:
        print("make_zoo_fixtures: up to date")
        return
    timm = timm_zoo.import_timm(args.shared)
    if timm is None:
        return
    torch.set_num_threads(2)
    built = subset_models(timm, args.out)
    dual_lambda_model(timm, args.out, 500)
    resized_models(timm, args.out, built)
    hf_deit(timm, args.out, 400)
    hf_dinov2(timm, args.out, "dinov2", 410, swiglu=False)
    hf_dinov2(timm, args.out, "dinov2_swiglu", 420, swiglu=True)
    hf_dinov2_registers(timm, args.out, 430)
    hf_beit(timm, args.out, 430)
    preprocess_refs(timm, args.out, args.shared)
    stamp.write()
    print(f"make_zoo_fixtures: wrote {args.out}")


if __name__ == "__main__":
    main()
