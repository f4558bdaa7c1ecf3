"""open_clip's model zoo: names, pretrained tags, and which activation their weights need.

OpenAI's CLIPs (and a few others) were trained with QuickGELU (``x * sigmoid(1.702 x)``); most
open_clip configs build GELU. open_clip 3.x only *warns* when a tag's activation differs from the
model config it builds, and says nothing at all for a local file, so ``ViT-B-32`` + ``openai``
would run OpenAI's weights through the wrong activation: zero-shot, fine-tuning and export all
silently off. :func:`resolve_quick_gelu` decides the activation from the tag, the file, the model
name or the user's explicit ``quick_gelu``, and refuses when nothing can tell.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

import open_clip
from open_clip.pretrained import get_pretrained_cfg


def zoo_config(name: str, field_name: str) -> dict[str, Any]:
    """The open_clip model config of ``name`` (a copy).

    Raises:
        ValueError: For a name open_clip does not know, with close matches.
    """
    config = open_clip.get_model_config(name)
    if config is None:
        close = difflib.get_close_matches(name, open_clip.list_models(), n=5, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"{field_name}.name={name!r} is not an open_clip model.{hint} "
            "`python -c 'import open_clip; print(open_clip.list_models())'` lists them."
        )
    return copy.deepcopy(config)


def check_tag(name: str, tag: str, field_name: str) -> dict[str, Any]:
    """The pretrained config of ``name`` + ``tag``.

    Raises:
        ValueError: For a tag that ``name`` does not have, listing its tags.
    """
    tags = open_clip.list_pretrained_tags_by_model(name)
    if tag not in tags:
        close = difflib.get_close_matches(tag, tags, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        listing = ", ".join(tags) if tags else "none"
        raise ValueError(
            f"{field_name}.pretrained={tag!r} is not a pretrained tag of {name} and not a file "
            f"path.{hint} Tags of {name}: {listing}."
        )
    return dict(get_pretrained_cfg(name, tag))


def tag_quick_gelu(name: str, tag: str) -> bool:
    """Whether ``name``'s weights from pretrained tag ``tag`` were trained with QuickGELU.

    open_clip's pretrained table says so with ``quick_gelu: true`` (OpenAI, MetaCLIP, DFN, YFCC15M,
    CC12M, LAION-400M ViT-B-32, ...); a tag that does not say it takes the model config's value
    (``-quickgelu`` names; ``roberta-ViT-B-32``, whose config has QuickGELU and whose tag is silent).
    """
    value = get_pretrained_cfg(name, tag).get("quick_gelu")
    if value is None:
        value = (open_clip.get_model_config(name) or {}).get("quick_gelu", False)
    return bool(value)


def quick_gelu_tags(name: str) -> tuple[list[str], list[str]]:
    """The pretrained tags of ``name`` trained with QuickGELU, and those trained with GELU."""
    quick, plain = [], []
    for tag in open_clip.list_pretrained_tags_by_model(name):
        (quick if tag_quick_gelu(name, tag) else plain).append(tag)
    return quick, plain


def resolve_quick_gelu(
    field_name: str,
    explicit: bool | None,
    config_value: bool,
    tag: tuple[str, bool] | None = None,
    stored: tuple[str, bool] | None = None,
    ambiguous_name: str | None = None,
) -> bool:
    """Decides whether the model must use QuickGELU.

    Args:
        field_name: Config path of the model source (for messages).
        explicit: The user's ``quick_gelu`` setting, or ``None``.
        config_value: What the model config (zoo name or inline config) says.
        tag: ``(tag, its quick_gelu)`` when weights come from a pretrained tag.
        stored: ``(file, its quick_gelu)`` when weights come from a file that records its config.
        ambiguous_name: A zoo name whose weights come from a file that does not say how it was
            trained; checked against the name's tags.

    Returns:
        The activation the weights need: the tag's or the file's when known (an explicit
        contrary setting is an error), else the explicit setting, else the config's.

    Raises:
        ValueError: When the explicit setting contradicts the tag or the file, or when a local
            file of a zoo architecture whose tags disagree on the activation does not say which
            one it needs and ``quick_gelu`` is not set.
    """
    known = tag or stored
    if known is not None:
        origin, value = known
        what = f"pretrained tag {origin!r}" if tag else f"the checkpoint {origin}, which records its config,"
        if explicit is not None and explicit != value:
            raise ValueError(
                f"{field_name}.quick_gelu={explicit} contradicts {what} (trained with "
                f"{'QuickGELU' if value else 'GELU'}); remove {field_name}.quick_gelu."
            )
        return value
    if explicit is not None:
        return explicit
    if ambiguous_name is not None and not config_value:
        quick, plain = quick_gelu_tags(ambiguous_name)
        if quick:
            raise ValueError(
                f"{field_name}.quick_gelu is not set and {field_name}.pretrained is a local file of "
                f"{ambiguous_name} that does not record which activation its weights were trained with. "
                f"{ambiguous_name} weights from tags {', '.join(quick)} (OpenAI's among them) need QuickGELU; "
                f"{'tags ' + ', '.join(plain) + ' need' if plain else 'others need'} GELU. Set "
                f"{field_name}.quick_gelu: true for weights of the first kind (e.g. OpenAI's), false otherwise "
                "(a wrong activation gives silently wrong accuracies)."
            )
    return config_value
