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

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from paint_lightning.io import atomic_path

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


class HeadCache:
    """A directory of heads keyed by the text tower's fingerprint, class names and templates.

    Args:
        root: Cache directory; ``None`` disables caching.
    """

    def __init__(self, root: str | os.PathLike[str] | None) -> None:
        self.root = Path(root).expanduser() if root is not None else None

    @staticmethod
    def key(fingerprint: str, tokenizer_id: str, classnames: Sequence[str], templates: Sequence[str]) -> str:
        """Cache key of one head."""
        payload = json.dumps([fingerprint, tokenizer_id, list(classnames), list(templates)])
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
