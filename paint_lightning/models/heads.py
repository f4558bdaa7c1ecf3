"""Zero-shot classification heads built from class names and prompt templates.

For each class: fill every template with the class name, encode with the text tower, normalise
each embedding, average, normalise again, and scale by the model's logit scale. The head is then
a ``(num_classes, embed_dim)`` matrix; logits are ``normalise(image_features) @ head.T``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from paint_lightning.io.files import atomic_path

log = logging.getLogger(__name__)

Tokenizer = Callable[[list[str]], torch.Tensor]


@torch.no_grad()
def build_zero_shot_head(
    model: nn.Module,
    tokenizer: Tokenizer,
    classnames: Sequence[str],
    templates: Sequence[str],
    device: torch.device | str | None = None,
    batch_size: int = 256,
) -> torch.Tensor:
    """Builds a zero-shot head with the model's text tower (``model.encode_text``).

    Args:
        model: An open_clip CLIP model.
        tokenizer: Its tokenizer.
        classnames: One name per label.
        templates: Prompt templates with one ``{}`` each.
        device: Where to run the text tower (defaults to where the model is).
        batch_size: Prompts encoded per forward pass.

    Returns:
        A float32 ``(len(classnames), embed_dim)`` tensor on the CPU, already scaled by
        ``exp(logit_scale)``.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    prompts = [template.format(name) for name in classnames for template in templates]
    embeddings = []
    for start in range(0, len(prompts), batch_size):
        tokens = tokenizer(prompts[start : start + batch_size]).to(device)
        embeddings.append(F.normalize(model.encode_text(tokens).float(), dim=-1))
    per_prompt = torch.cat(embeddings).view(len(classnames), len(templates), -1)
    head = F.normalize(per_prompt.mean(dim=1), dim=-1)
    return (head * model.logit_scale.exp().float()).cpu()


def text_tower_fingerprint(model: nn.Module) -> str:
    """SHA-256 of every weight outside the image tower: the identity of the text side.

    Two models with the same text weights (and logit scale) produce the same heads, whatever
    their image towers, so this is the right cache key for heads.
    """
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        if key.startswith("visual."):
            continue
        digest.update(key.encode())
        digest.update(str(value.dtype).encode())
        digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def tokenizer_identity(tokenizer: Tokenizer) -> dict[str, Any]:
    """What identifies a tokenizer's output: type, context length, vocabulary (and HF name)."""
    inner = getattr(tokenizer, "tokenizer", None)
    return {
        "type": f"{type(tokenizer).__module__}.{type(tokenizer).__qualname__}",
        "context_length": getattr(tokenizer, "context_length", None),
        "name": getattr(inner, "name_or_path", None),
        "vocab_size": getattr(inner, "vocab_size", None) or len(getattr(tokenizer, "encoder", {}) or {}) or None,
    }


class HeadCache:
    """A directory of zero-shot heads, keyed by everything that changes the text features.

    The key covers the text side's weights (every tensor outside the image tower, the logit
    scale included), the model config (activation, text tower shape...), the tokenizer, and the
    class names and templates. Two models that differ in any of these never share a head.

    Args:
        root: Cache directory; ``None`` disables caching.
    """

    def __init__(self, root: str | os.PathLike[str] | None) -> None:
        self.root = Path(root).expanduser() if root is not None else None

    @staticmethod
    def key(
        text_fingerprint: str,
        model_cfg: dict[str, Any],
        tokenizer_id: dict[str, Any],
        classnames: Sequence[str],
        templates: Sequence[str],
    ) -> str:
        """Cache key of one head."""
        payload = json.dumps(
            [text_fingerprint, model_cfg, tokenizer_id, list(classnames), list(templates)], sort_keys=True, default=str
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def get_or_build(self, key: str, build: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Returns the cached head for ``key`` or builds, stores and returns it."""
        if self.root is None:
            return build()
        path = self.root / f"{key}.safetensors"
        if path.is_file():
            try:
                return load_file(str(path))["head"]
            except Exception as err:  # a damaged cache entry is rebuilt, never trusted
                log.warning("Ignoring unreadable head cache entry %s (%s); rebuilding it.", path, err)
        head = build()
        try:
            with atomic_path(path) as tmp:
                save_file({"head": head.contiguous()}, str(tmp))
        except OSError as err:
            log.warning("Could not write head cache entry %s (%s); continuing without it.", path, err)
        return head


def zero_shot_heads(
    model: nn.Module,
    tokenizer: Tokenizer,
    model_cfg: dict[str, Any],
    specs: Sequence[Any],
    cache: HeadCache,
    device: torch.device | str | None = None,
) -> dict[str, torch.Tensor]:
    """Heads of ``specs`` (objects with ``name``, ``classnames``, ``templates``), cached.

    The text tower runs on ``device`` (then goes back where it was) in eval mode.

    Returns:
        Task name -> float32 head on the CPU, scaled by the model's logit scale.
    """
    if not specs:
        return {}
    fingerprint = text_tower_fingerprint(model)
    tokenizer_id = tokenizer_identity(tokenizer)
    home = next(model.parameters()).device
    target = torch.device(device) if device is not None else home
    heads = {}
    was_training = model.training
    try:
        for spec in specs:
            key = HeadCache.key(fingerprint, model_cfg, tokenizer_id, spec.classnames, spec.templates)

            def build(spec: Any = spec) -> torch.Tensor:
                model.to(target).eval()
                return build_zero_shot_head(model, tokenizer, spec.classnames, spec.templates, target)

            heads[spec.name] = cache.get_or_build(key, build)
    finally:
        model.to(home).train(was_training)
    return heads
