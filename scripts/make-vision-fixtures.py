#!/usr/bin/env python3
"""Build the Hugging Face vision fixtures of tests/hf_vit.rs (issue 24), run once by a
developer; the output is committed so CI needs no Python ML stack.

Needs torch, transformers and safetensors. Writes, under tests/fixtures/ (or argv[1]):
  hf-vit/        a random-weight ViTModel (pooler included), save_pretrained, f16 weights
  hf-clip/       a random-weight CLIPModel (vision tower, visual projection and a small
                 text tower, as openai/clip-vit-* checkpoints hold), save_pretrained, f16
  hf-clip-vision/ the same vision tower saved as a CLIPVisionModel
  hf-vision-reference.safetensors  fixed inputs and the models' outputs (f32):
    vit.pixels [2,3,32,32], vit.last_hidden_state [2,17,48], vit.pooler_output [2,48]
    vit48.pixels [1,3,48,48], vit48.last_hidden_state [1,37,48]
        (interpolate_pos_encoding=True: the position table bicubically resized 4x4 -> 6x6)
    clip.pixels [2,3,32,32], clip.last_hidden_state [2,17,32], clip.pooler_output [2,32],
    clip.post_layernorm_hidden [2,17,32] (post_layernorm applied to every token: what the
        engine's video.ln_final returns; its row 0 is pooler_output)

Every parameter is redrawn at random (layer-norm gains near 1, not HF's 1/0 init) so that no
term of the forward is trivially the identity; weights are rounded to f16 before the f32
forward, so the saved f16 files hold exactly the weights the references were computed with.
"""

import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import (
    CLIPConfig,
    CLIPModel,
    CLIPVisionModel,
    ViTConfig,
    ViTModel,
)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=g)
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * r)
            elif name.endswith("bias"):
                p.copy_(0.1 * r)
            elif "logit_scale" in name:
                p.fill_(2.6592)
            else:
                p.copy_(0.2 * r)
            # Round to f16 so the saved f16 file is exactly what the forward ran.
            p.copy_(p.half().float())


def save_f16(model, folder):
    model.half().save_pretrained(folder, safe_serialization=True)
    model.float()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "fixtures")
    torch.manual_seed(0)
    ref = {}

    vit_cfg = ViTConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
                        intermediate_size=192, image_size=32, patch_size=8, num_channels=3,
                        hidden_act="gelu", layer_norm_eps=1e-12, qkv_bias=True)
    vit = ViTModel(vit_cfg, add_pooling_layer=True).eval()
    randomize(vit, 1)
    g = torch.Generator().manual_seed(2)
    px = torch.randn(2, 3, 32, 32, generator=g)
    px48 = torch.randn(1, 3, 48, 48, generator=g)
    with torch.no_grad():
        o = vit(pixel_values=px)
        o48 = vit(pixel_values=px48, interpolate_pos_encoding=True)
    ref.update({"vit.pixels": px, "vit.last_hidden_state": o.last_hidden_state,
                "vit.pooler_output": o.pooler_output, "vit48.pixels": px48,
                "vit48.last_hidden_state": o48.last_hidden_state})
    save_f16(vit, os.path.join(out, "hf-vit"))

    clip_cfg = CLIPConfig(
        vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, image_size=32, patch_size=8,
                           num_channels=3, hidden_act="quick_gelu", layer_norm_eps=1e-5),
        text_config=dict(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=32,
                         max_position_embeddings=8, bos_token_id=0, eos_token_id=1,
                         pad_token_id=1),
        projection_dim=16)
    clip = CLIPModel(clip_cfg).eval()
    randomize(clip, 3)
    pxc = torch.randn(2, 3, 32, 32, generator=g)
    with torch.no_grad():
        vision = clip.vision_model
        oc = vision(pixel_values=pxc)
        post = vision.post_layernorm(oc.last_hidden_state)
    ref.update({"clip.pixels": pxc, "clip.last_hidden_state": oc.last_hidden_state,
                "clip.pooler_output": oc.pooler_output, "clip.post_layernorm_hidden": post})
    tower = CLIPVisionModel(clip_cfg.vision_config).eval()
    # transformers 5 puts the tower's modules at the top level; 4.x under vision_model.
    target = tower.vision_model if hasattr(tower, "vision_model") else tower
    target.load_state_dict(clip.vision_model.state_dict())
    with torch.no_grad():
        again = tower(pixel_values=pxc).last_hidden_state
    assert torch.equal(again, oc.last_hidden_state), "CLIPVisionModel differs from CLIPModel"
    save_f16(clip, os.path.join(out, "hf-clip"))
    save_f16(tower, os.path.join(out, "hf-clip-vision"))

    save_file({k: v.contiguous().float() for k, v in ref.items()},
              os.path.join(out, "hf-vision-reference.safetensors"),
              metadata={"generator": "scripts/make-vision-fixtures.py",
                        "torch": torch.__version__,
                        "transformers": __import__("transformers").__version__})
    print(json.dumps({k: list(v.shape) for k, v in ref.items()}))


if __name__ == "__main__":
    main()
