"""Building a model named by ``model.clip.name``: a zoo name (+ tag), ``hf-hub:`` or ``local-dir:``.

open_clip falls back to random weights, with a logged warning only, whenever it cannot get the
weights it looked for. Here a tag's weights must load (``require_pretrained``) and a located
model's weights were found by :func:`~paint_lightning.models.hub.locate` first; random weights
are built only for a source that asks for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import open_clip
from torch import nn

from paint_lightning.models.hub import LOCAL_DIR, Located, hub_cache, is_located


class NamedSource(Protocol):
    """What building a named model reads of a :class:`~paint_lightning.models.clip_source.CLIPSource`."""

    name: str | None
    config: Any
    pretrained: Any
    random_init: bool | None
    cache_dir: str | None
    image_mean: Any
    image_std: Any


def build_named(
    source: NamedSource, tag: str | None, quick: bool, located: Located | None, field_name: str
) -> tuple[nn.Module, Any, Any]:
    """Builds the model of a zoo or located ``source.name``; never with random weights unless asked for.

    Args:
        source: The model source.
        tag: The pretrained tag whose weights to load, if any.
        quick: Whether to build QuickGELU.
        located: Where a located name's config and weights are (see :func:`~paint_lightning.models.hub.locate`).
        field_name: Config path of ``source`` (for messages).

    Returns:
        The model, and for a tag open_clip's train and eval transforms (else ``None``, ``None``).

    Raises:
        ValueError: When open_clip cannot load a tag's weights.
    """
    assert source.name is not None
    if tag is not None:
        try:
            return open_clip.create_model_and_transforms(
                source.name,
                pretrained=tag,
                force_quick_gelu=quick,
                cache_dir=source.cache_dir,
                image_mean=source.image_mean,
                image_std=source.image_std,
                require_pretrained=True,
            )
        except RuntimeError as err:  # the download failed (open_clip raises it so), or nothing was loaded
            raise ValueError(
                f"{field_name}: open_clip could not load the weights of {source.name} pretrained tag {tag!r} "
                f"({str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}). They are "
                f"downloaded on first use into {field_name}.cache_dir or the Hugging Face cache "
                f"({hub_cache(source.cache_dir)}); with HF_HUB_OFFLINE=1 they must already be there."
            ) from err
    if located is not None and located.weights is not None:
        # The file locate() found is the one open_clip loads; it refuses to build without it.
        model = open_clip.create_model(
            source.name, cache_dir=source.cache_dir, pretrained_text=False, quick_gelu=quick, require_pretrained=True
        )
    elif located is not None:  # weights from model.clip.pretrained (loaded later) or random on purpose
        folder = f"{LOCAL_DIR}{located.folder}"  # the config found; nothing downloaded
        model = open_clip.create_model(folder, load_weights=False, pretrained_text=False, quick_gelu=quick)
    else:  # a zoo architecture whose weights come from model.clip.pretrained, or random on purpose
        model = open_clip.create_model(source.name, pretrained=None, pretrained_text=False, quick_gelu=quick)
    return model, None, None


def describe_origin(source: NamedSource, weights: str | Path | None) -> str:
    """The model and where its weights come from, as the build line says it."""
    if source.name is None and source.config is None:
        return str(source.pretrained)  # a file that records its config: model and weights
    what = source.name or "an inline open_clip config"
    if weights is not None:
        return f"{what} (weights from {weights})"
    if source.name is not None and source.pretrained and not is_located(source.name):
        return f"{what} (weights: pretrained tag {source.pretrained})"
    return f"{what} (random weights{', random_init: true' if source.random_init else ''})"
