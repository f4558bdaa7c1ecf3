"""Building an open_clip model from its config, choosing the class as open_clip does."""

from __future__ import annotations

import copy
from typing import Any

import open_clip
from torch import nn


def model_from_config(model_cfg: dict[str, Any], field_name: str) -> nn.Module:
    """``open_clip.CLIP``, ``CustomTextCLIP`` or ``CoCa`` built from ``model_cfg``, as ``create_model`` picks.

    A config with ``custom_text`` (or a Hugging Face text model) is a ``CustomTextCLIP``, and with a
    ``multimodal_cfg`` (CoCa's text decoder) a ``CoCa``; any other is a ``CLIP``.

    Raises:
        ValueError: For a config open_clip cannot build, naming ``field_name``.
    """
    cfg = copy.deepcopy(model_cfg)
    custom_text = cfg.pop("custom_text", False) or "hf_model_name" in (cfg.get("text_cfg") or {})
    if "multimodal_cfg" in cfg:
        model_class: type[nn.Module] = open_clip.CoCa
    else:
        model_class = open_clip.CustomTextCLIP if custom_text else open_clip.CLIP
    try:
        return model_class(**cfg)
    except TypeError as err:
        raise ValueError(f"{field_name}.config is not a valid open_clip model config: {err}") from err
