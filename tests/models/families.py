"""Tiny twins of open_clip's real model configs, one per model family, built without the network.

Each entry of :data:`FAMILIES` is the JSON of one open_clip config (``open_clip/model_configs``)
shrunk to a few layers, a 32 px image and a small width, keeping what makes the family what it
is: the tower types (open_clip ViT, ModifiedResNet, timm ViT with MAP pooling, timm EVA02, timm
ConvNeXt, CoCa's text decoder), the text tower (custom text, causal mask or not, pooling), the
tokenizer type (CLIP BPE or a Hugging Face tokenizer) and the logit bias.

timm builds its towers by name only, so the tiny timm towers are registered here under their own
names (``paint_tiny_*``): the real timm model function with smaller arguments. They are
registered in timm's global registry, so plain open_clip builds them in this process as well.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import timm
from timm.models import register_model

SMALL_VIT = {"img_size": 32, "patch_size": 8, "embed_dim": 32, "depth": 2, "num_heads": 2}


@register_model
def paint_tiny_siglip_vit(pretrained: bool = False, **kwargs: Any) -> Any:
    """timm's ``vit_base_patch16_siglip_224`` (no class token, MAP pooling), two blocks of width 32."""
    return timm.create_model("vit_base_patch16_siglip_224", pretrained=False, **SMALL_VIT, **kwargs)


@register_model
def paint_tiny_eva02_clip(pretrained: bool = False, **kwargs: Any) -> Any:
    """timm's ``eva02_base_patch16_clip_224`` (rotary embeddings, SwiGLU), two blocks of width 32."""
    return timm.create_model(
        "eva02_base_patch16_clip_224", pretrained=False, ref_feat_shape=(4, 4), **SMALL_VIT, **kwargs
    )


@register_model
def paint_tiny_convnext(pretrained: bool = False, **kwargs: Any) -> Any:
    """timm's ``convnext_base`` with one block of a few channels per stage."""
    return timm.create_model("convnext_base", pretrained=False, depths=[1, 1, 1, 1], dims=[8, 16, 24, 32], **kwargs)


TINY_TEXT = {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}
HF_TOKENIZER = "timm/ViT-B-16-SigLIP"  # the name the real SigLIP config gives; a fake copy in the test's HF cache
HF_VOCAB = 64

_SIGLIP = {
    "embed_dim": 32,
    "init_logit_bias": -10,
    "custom_text": True,
    "vision_cfg": {
        "image_size": 32,
        "timm_model_name": "paint_tiny_siglip_vit",
        "timm_model_pretrained": False,
        "timm_pool": "map",
        "timm_proj": "none",
    },
    "text_cfg": {
        "context_length": 16,
        "vocab_size": HF_VOCAB,
        "hf_tokenizer_name": HF_TOKENIZER,
        "tokenizer_kwargs": {"clean": "canonicalize"},
        "width": 32,
        "heads": 2,
        "layers": 1,
        "no_causal_mask": True,
        "proj_bias": True,
        "pool_type": "last",
        "norm_kwargs": {"eps": 1e-6},
    },
}
_SIGLIP2 = copy.deepcopy(_SIGLIP)
_SIGLIP2["text_cfg"]["act_kwargs"] = {"approximate": "tanh"}

FAMILIES: dict[str, dict[str, Any]] = {
    "vit": {
        "pooling": "ln_post.",  # tensors of the pooling / final norm: the head group
        "stands_for": "ViT-B-32 (same for ViT-B-16, ViT-L-14, ViT-H-14, ...-quickgelu)",
        "config": {
            "embed_dim": 32,
            "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
            "text_cfg": TINY_TEXT,
        },
        "groups": ["embed", "block.0", "block.1", "head"],
    },
    "resnet": {
        "pooling": "attnpool.",  # tensors of the pooling / final norm: the head group
        "stands_for": "RN50 (same for RN101, RN50x4, ...)",
        "config": {
            "embed_dim": 32,
            "vision_cfg": {"image_size": 32, "layers": [1, 1, 1, 1], "width": 8, "head_width": 16, "patch_size": None},
            "text_cfg": TINY_TEXT,
        },
        "groups": ["embed", "stage.1", "stage.2", "stage.3", "stage.4", "head"],
    },
    "convnext": {
        "pooling": "trunk.head.",  # tensors of the pooling / final norm: the head group
        "stands_for": "convnext_base_w (same for convnext_base, convnext_large_d, ...)",
        "config": {
            "embed_dim": 32,
            "vision_cfg": {
                "timm_model_name": "paint_tiny_convnext",
                "timm_model_pretrained": False,
                "timm_pool": "",
                "timm_proj": "linear",
                "timm_drop": 0.0,
                "timm_drop_path": 0.1,
                "image_size": 32,
            },
            "text_cfg": TINY_TEXT,
        },
        "groups": ["embed", "stage.0", "stage.1", "stage.2", "stage.3", "head"],
    },
    "eva": {
        "pooling": "trunk.norm.",  # tensors of the pooling / final norm: the head group
        "stands_for": "EVA02-B-16 (same for EVA02-L-14, EVA02-E-14, ...)",
        "config": {
            "embed_dim": 32,
            "vision_cfg": {
                "image_size": 32,
                "timm_model_name": "paint_tiny_eva02_clip",
                "timm_model_pretrained": False,
                "timm_pool": "token",
                "timm_proj": None,
            },
            "text_cfg": TINY_TEXT,
            "custom_text": True,
        },
        "groups": ["embed", "block.0", "block.1", "head"],
    },
    "coca": {
        "pooling": "attn_pool.",  # tensors of the pooling / final norm: the head group
        "stands_for": "coca_ViT-B-32 (same for coca_ViT-L-14)",
        "config": {
            "embed_dim": 32,
            "vision_cfg": {
                "image_size": 32,
                "layers": 2,
                "width": 32,
                "patch_size": 8,
                "head_width": 16,
                "attentional_pool": True,
                "attn_pooler_heads": 2,
                "output_tokens": True,
            },
            "text_cfg": {**TINY_TEXT, "context_length": 15, "embed_cls": True, "output_tokens": True},
            "multimodal_cfg": {
                "context_length": 15,
                "vocab_size": 49408,
                "width": 32,
                "heads": 2,
                "layers": 1,
                "attn_pooler_heads": 2,
            },
            "custom_text": True,
        },
        "groups": ["embed", "block.0", "block.1", "head"],
    },
    "siglip": {
        "pooling": "trunk.attn_pool.",  # tensors of the pooling / final norm: the head group
        "stands_for": "ViT-B-16-SigLIP (same for the other ViT-*-SigLIP configs)",
        "config": _SIGLIP,
        "groups": ["embed", "block.0", "block.1", "head"],
    },
    "siglip2": {
        "pooling": "trunk.attn_pool.",  # tensors of the pooling / final norm: the head group
        "stands_for": "ViT-B-16-SigLIP2 (same for the other ViT-*-SigLIP2 configs)",
        "config": _SIGLIP2,
        "groups": ["embed", "block.0", "block.1", "head"],
    },
}


def family_config(family: str) -> dict[str, Any]:
    """A copy of ``family``'s tiny open_clip config."""
    return copy.deepcopy(FAMILIES[family]["config"])


def uses_hf_tokenizer(family: str) -> bool:
    """Whether ``family``'s config names a Hugging Face tokenizer."""
    return "hf_tokenizer_name" in FAMILIES[family]["config"]["text_cfg"]


def write_fake_hf_tokenizer(cache: Path, repo: str = HF_TOKENIZER) -> Path:
    """Writes a tiny word-level tokenizer as ``repo`` into the Hugging Face cache ``cache``.

    The layout is the hub cache's (``models--org--name/snapshots/<rev>/`` and ``refs/main``), so
    ``transformers.AutoTokenizer.from_pretrained(repo, cache_dir=cache)`` finds it offline.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    words = ["<pad>", "</s>", "<unk>", "a", "photo", "of", "the", "."]
    words += [f"c{i}" for i in range(HF_VOCAB - len(words))]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    revision = "0" * 40
    folder = cache / f"models--{repo.replace('/', '--')}"
    snapshot = folder / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(snapshot / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "pad_token": "<pad>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "model_max_length": 64,
    }
    (snapshot / "tokenizer_config.json").write_text(json.dumps(config))
    (snapshot / "config.json").write_text("{}")  # transformers 5's AutoTokenizer reads the model config first
    special = {key: config[key] for key in ("pad_token", "eos_token", "unk_token")}
    (snapshot / "special_tokens_map.json").write_text(json.dumps(special))
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(revision)
    return snapshot
