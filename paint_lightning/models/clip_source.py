"""Building an open_clip CLIP model and its transforms from a config-friendly description."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import open_clip
import torch
from open_clip.transform import PreprocessCfg, image_transform_v2
from torch import nn

from paint_lightning.io.clip_weights import CheckpointError, load_clip_state_dict, stored_model_cfg
from paint_lightning.io.config_model import model_from_config
from paint_lightning.io.shipped import shipped_file
from paint_lightning.models.hub import Located, is_located, locate
from paint_lightning.models.named import build_named, describe_origin
from paint_lightning.models.text_tokenizer import build_tokenizer
from paint_lightning.models.zoo import check_tag, resolve_quick_gelu, tag_quick_gelu, zoo_config

log = logging.getLogger(__name__)

_CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")


@dataclass
class CLIPSource:
    """Where the CLIP model comes from.

    Give one of:

    * ``name`` + ``pretrained`` tag: an open_clip zoo model, e.g. ``ViT-B-32`` + ``openai``
      (downloads weights on first use; the activation the tag was trained with is used);
    * ``name`` + ``pretrained`` path: a zoo architecture with weights from a local file (set
      ``quick_gelu`` when the file does not record its config and the architecture's tags
      disagree on the activation, e.g. OpenAI weights of ViT-B-32 downloaded elsewhere);
    * ``name`` ``hf-hub:org/name`` or ``local-dir:path``: the config and weights found there (in
      the Hugging Face cache, downloaded unless ``HF_HUB_OFFLINE=1``); weights that cannot be
      found are an error, never a random model;
    * ``config`` (+ optional ``pretrained`` path): an open_clip model config given inline, e.g.
      ``{embed_dim: 32, vision_cfg: {...}, text_cfg: {...}}``;
    * ``pretrained`` path alone, when the file records its config (the project's compact
      checkpoints and exported patched models do).

    Random weights are built only when asked for: an inline ``config`` without ``pretrained``, or
    ``random_init: true`` (for a zoo name, ``hf-hub:`` or ``local-dir:`` model without its weights).

    Attributes:
        name: open_clip model name (``open_clip.list_models()``).
        pretrained: A pretrained tag of ``name`` or a path to a local checkpoint file.
        config: Inline open_clip model config (``open_clip.CLIP`` keyword arguments).
        quick_gelu: Build the model with QuickGELU (``true``, as OpenAI's CLIPs were trained) or
            GELU (``false``); ``null`` decides from the tag, the file or the config.
        recipe: Pretraining recipe (a ``paint pretrain`` YAML) that the ``paint`` command runs to
            build ``pretrained`` when that local file is missing.
        cache_dir: Where open_clip caches downloaded weights.
        image_mean: Override of the normalisation mean.
        image_std: Override of the normalisation standard deviation.
        random_init: ``true`` builds ``name``'s architecture with random weights on purpose;
            unset (``null``, as ``false``), a zoo name without ``pretrained`` and a located model
            without its weights are errors.
    """

    name: str | None = None
    pretrained: str | None = None
    config: dict[str, Any] | None = None
    quick_gelu: bool | None = None
    recipe: str | None = None
    cache_dir: str | None = None
    image_mean: list[float] | None = None
    image_std: list[float] | None = None
    random_init: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for hyperparameters and metadata)."""
        return asdict(self)


class BuiltCLIP(NamedTuple):
    """An open_clip model with everything needed to use it."""

    model: nn.Module
    preprocess_train: Callable[[Any], torch.Tensor]
    preprocess_eval: Callable[[Any], torch.Tensor]
    tokenizer: Callable[[list[str]], torch.Tensor]
    model_cfg: dict[str, Any]
    preprocess_cfg: dict[str, Any]
    origin: str = ""  # the model and where its weights came from, for the build line


def build_clip(source: CLIPSource | dict[str, Any], field_name: str = "model.clip") -> BuiltCLIP:
    """Builds the model described by ``source``, validating it first.

    The returned ``model_cfg`` is the config the model was built with (including ``quick_gelu``
    where QuickGELU is used), so ``open_clip.CLIP(**model_cfg)`` rebuilds the same architecture.

    Args:
        source: The description (a :class:`CLIPSource` or its dict form).
        field_name: Config path of ``source``, used in error messages.

    Raises:
        ValueError: With the config field, the value and a fix, for any bad description.
    """
    if isinstance(source, dict):
        source = CLIPSource(**source)
    located: Located | None = None
    if source.name is not None and not is_located(source.name):
        model_cfg = zoo_config(source.name, field_name)
    checkpoint = _resolve_checkpoint(source, field_name)
    if source.name is not None and is_located(source.name):
        need_weights = checkpoint is None and not source.random_init
        located = locate(source.name, source.cache_dir, field_name, need_weights)
        model_cfg = copy.deepcopy(located.model_cfg)
    # Read (and so validate) local weights before spending time on building the architecture.
    state = _read_weights(checkpoint, field_name) if checkpoint is not None else None
    stored = stored_model_cfg(checkpoint) if checkpoint is not None else None
    stored_quick = (str(checkpoint), bool(stored.get("quick_gelu", False))) if stored is not None else None
    train_tf = eval_tf = None
    if source.name is not None:
        tag = source.pretrained if checkpoint is None else None
        if tag is not None:
            check_tag(source.name, tag, field_name)
        quick = resolve_quick_gelu(
            field_name,
            source.quick_gelu,
            bool(model_cfg.get("quick_gelu", False)),
            tag=(tag, tag_quick_gelu(source.name, tag)) if tag is not None else None,
            stored=stored_quick,
            ambiguous_name=source.name if checkpoint is not None and stored is None else None,
        )
        _record_quick_gelu(model_cfg, quick)
        model, train_tf, eval_tf = build_named(source, tag, quick, located, field_name)
        tokenizer = build_tokenizer(source.name, model_cfg, source.cache_dir, field_name)
    else:
        model_cfg = copy.deepcopy(source.config) if source.config is not None else stored
        if model_cfg is None:
            raise ValueError(
                f"{field_name}: nothing says which model to build. Set `{field_name}.name` "
                f"(an open_clip model such as ViT-B-32), `{field_name}.config` (an inline "
                f"open_clip model config) or `{field_name}.pretrained` to a checkpoint that records its config."
            )
        quick = resolve_quick_gelu(
            field_name,
            source.quick_gelu,
            bool(model_cfg.get("quick_gelu", False)),
            stored=stored_quick if source.config is None else None,
        )
        _record_quick_gelu(model_cfg, quick)
        model = model_from_config(model_cfg, field_name)
        tokenizer = build_tokenizer(None, model_cfg, source.cache_dir, field_name)
    if state is not None:
        _load_weights(model, state, str(checkpoint), field_name)
    preprocess_cfg = _preprocess_cfg(model, source)
    if train_tf is None:
        train_tf = image_transform_v2(PreprocessCfg(**preprocess_cfg), True)
        eval_tf = image_transform_v2(PreprocessCfg(**preprocess_cfg), False)
    model.eval()
    weights = checkpoint or (located.weights if located is not None else None)
    origin = describe_origin(source, weights)
    return BuiltCLIP(model, train_tf, eval_tf, tokenizer, copy.deepcopy(model_cfg), preprocess_cfg, origin)


def _record_quick_gelu(model_cfg: dict[str, Any], quick: bool) -> None:
    # Written when QuickGELU is used (or the config named it), so exports rebuild the same model;
    # GELU configs stay as they were (GELU is open_clip's default).
    if quick or "quick_gelu" in model_cfg:
        model_cfg["quick_gelu"] = quick


def config_fingerprint(model_cfg: dict[str, Any]) -> str:
    """Short stable hash of a model config."""
    return hashlib.sha256(json.dumps(model_cfg, sort_keys=True).encode()).hexdigest()[:16]


def checkpoint_path(pretrained: str) -> Path:
    """The local file ``pretrained`` names.

    As given, or for a relative name missing here, the file the package ships under that name
    (:func:`~paint_lightning.io.shipped.shipped_file`: from any folder, in wheel installs too).
    """
    path = Path(pretrained).expanduser()
    if path.is_absolute() or path.is_file():
        return path
    shipped = shipped_file(path)
    if shipped is not None:
        log.info("Using %s for %s (not found relative to the working directory).", shipped, path)
        return shipped
    return path


def looks_like_path(value: str) -> bool:
    """Whether a ``pretrained`` value names a file rather than a zoo tag."""
    return "/" in value or "\\" in value or value.endswith(_CHECKPOINT_SUFFIXES)


def _resolve_checkpoint(source: CLIPSource, field_name: str) -> Path | None:
    """Returns the local checkpoint path in ``pretrained``, or None for a zoo tag / no weights.

    Refuses ``name`` with ``config``, a zoo name without weights (open_clip would build it randomly)
    unless ``random_init`` asks for that, ``random_init`` with ``pretrained``, and a tag for a
    located name.
    """
    pretrained = source.pretrained
    if source.name is not None and source.config is not None:
        raise ValueError(
            f"{field_name}.name={source.name!r} and {field_name}.config both say which model to build; "
            f"keep one (set the other to null)."
        )
    if pretrained is not None and source.random_init:
        raise ValueError(
            f"{field_name}.random_init=true contradicts {field_name}.pretrained={pretrained!r}: "
            f"remove {field_name}.pretrained for random weights, or {field_name}.random_init to load them."
        )
    if pretrained is None:
        if source.name is None and source.config is None:
            raise ValueError(
                f"{field_name}: empty model source. Set `{field_name}.name` and "
                f"`{field_name}.pretrained`, or `{field_name}.config`."
            )
        if source.name is not None and not is_located(source.name) and not source.random_init:
            tags = open_clip.list_pretrained_tags_by_model(source.name)
            listing = f" ({', '.join(tags[:6])}{', ...' if len(tags) > 6 else ''})" if tags else ""
            raise ValueError(
                f"{field_name}.name={source.name!r} without {field_name}.pretrained: open_clip would build it "
                f"with random weights. Set {field_name}.pretrained to a pretrained tag{listing} or a weights "
                f"file, or {field_name}.random_init: true to start from random weights on purpose."
            )
        return None
    if is_located(source.name) and not looks_like_path(pretrained):
        raise ValueError(
            f"{field_name}.pretrained={pretrained!r}: {field_name}.name={source.name!r} brings its own weights "
            f"(open_clip ignores pretrained tags for it). Remove {field_name}.pretrained, or give a weights file."
        )
    if source.name is not None and not looks_like_path(pretrained):
        check_tag(source.name, pretrained, field_name)
        return None
    path = checkpoint_path(pretrained)
    if not path.is_file():
        built_by = (
            f" `paint fit` builds it from {field_name}.recipe={source.recipe!r} by itself; in Python, run "
            f"`paint pretrain --config {source.recipe} --export.path {pretrained}` first."
            if source.recipe
            else f" Give an existing file, an open_clip pretrained tag together with `{field_name}.name`, or a "
            f"`{field_name}.recipe` that builds the file."
        )
        raise ValueError(f"{field_name}.pretrained={pretrained!r}: checkpoint file not found.{built_by}")
    return path


def _read_weights(checkpoint: Path, field_name: str) -> dict[str, torch.Tensor]:
    try:
        return load_clip_state_dict(checkpoint)
    except CheckpointError as err:
        raise ValueError(f"{field_name}.pretrained={str(checkpoint)!r}: {err}") from err


def _load_weights(model: nn.Module, state: dict[str, torch.Tensor], checkpoint: str, field_name: str) -> None:
    if "logit_scale" in state and state["logit_scale"].ndim != model.logit_scale.ndim:
        state["logit_scale"] = state["logit_scale"].reshape(model.logit_scale.shape)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(
        f"{key} {tuple(state[key].shape)} != {tuple(expected[key].shape)}"
        for key in set(state) & set(expected)
        if state[key].shape != expected[key].shape
    )
    if missing or unexpected or wrong_shape:
        raise ValueError(
            f"{field_name}.pretrained={checkpoint!r} is a checkpoint for another "
            f"architecture: missing keys {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected keys {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}, "
            f"shape mismatches {wrong_shape[:5]}. Check `{field_name}.name`/`config`."
        )
    model.load_state_dict(state, strict=True)


def _preprocess_cfg(model: nn.Module, source: CLIPSource) -> dict[str, Any]:
    cfg = asdict(PreprocessCfg())
    cfg.update(open_clip.get_model_preprocess_cfg(model) or {})
    cfg["size"] = getattr(model.visual, "image_size", cfg["size"])
    if source.image_mean is not None:
        cfg["mean"] = tuple(source.image_mean)
    if source.image_std is not None:
        cfg["std"] = tuple(source.image_std)
    return cfg
