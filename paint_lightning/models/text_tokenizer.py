"""The tokenizer a CLIP model's text tower was trained with, from its name or its config.

Most open_clip configs use OpenAI's byte-pair ``SimpleTokenizer``; SigLIP, SigLIP2 and other
configs name a Hugging Face tokenizer in ``text_cfg.hf_tokenizer_name`` (with
``text_cfg.tokenizer_kwargs``, e.g. ``clean: canonicalize``), which open_clip loads with
``transformers`` (the ``hf`` extra: ``pip install 'paint-lightning[hf]'``) from the Hugging Face
cache. A zoo, ``hf-hub:`` or ``local-dir:`` name goes through ``open_clip.get_tokenizer``; an
inline config (or a file that records its config) is read here the same way, so a SigLIP config
never gets the CLIP tokenizer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import open_clip
import torch
from open_clip.tokenizer import HFTokenizer

Tokenizer = Callable[[list[str]], torch.Tensor]


def build_tokenizer(
    name: str | None, model_cfg: dict[str, Any], cache_dir: str | None, field_name: str = "model.clip"
) -> Tokenizer:
    """The tokenizer of the model named ``name``, or of ``model_cfg`` when ``name`` is ``None``.

    Args:
        name: An open_clip model name (zoo, ``hf-hub:`` or ``local-dir:``), or ``None``.
        model_cfg: The model's open_clip config (read when ``name`` is ``None``).
        cache_dir: Where Hugging Face tokenizer files are cached (``model.clip.cache_dir``).
        field_name: Config path of the model source, for messages.

    Raises:
        ValueError: When the config names a Hugging Face tokenizer and ``transformers`` is missing,
            or the tokenizer's files cannot be found (offline, not in the cache).
    """
    text_cfg = model_cfg.get("text_cfg", {}) or {}
    hf_name = text_cfg.get("hf_tokenizer_name")
    try:
        if name is not None:
            return open_clip.get_tokenizer(name, cache_dir=cache_dir)
        context = text_cfg.get("context_length", 77)
        kwargs = dict(text_cfg.get("tokenizer_kwargs", {}) or {})
        if hf_name:
            return HFTokenizer(
                hf_name,
                context_length=context,
                cache_dir=cache_dir,
                tokenizer_mode=text_cfg.get("tokenizer_mode"),
                **kwargs,
            )
        return open_clip.SimpleTokenizer(context_length=context, **kwargs)
    except ImportError as err:
        raise ValueError(
            f"{field_name}: the model's text tower uses the Hugging Face tokenizer {hf_name!r}, which needs "
            f"`transformers` ({err}). Install it: pip install 'paint-lightning[hf]'."
        ) from err
    except OSError as err:
        if not hf_name:
            raise
        raise ValueError(
            f"{field_name}: the Hugging Face tokenizer {hf_name!r} (text_cfg.hf_tokenizer_name) was not found "
            f"in the cache ({cache_dir or 'HF_HUB_CACHE / HF_HOME/hub'}) and could not be downloaded: {err}. "
            f"Fetch it while online (`hf download {hf_name}`), or set {field_name}.cache_dir to the cache "
            f"that holds it."
        ) from err
