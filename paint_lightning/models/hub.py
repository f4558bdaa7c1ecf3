"""Models named by where they live: ``hf-hub:org/name`` (a Hugging Face repository), ``local-dir:path``.

open_clip builds such a model from the ``open_clip_config.json`` it finds there and loads the
weights file beside it. When it cannot get that file (not in the cache with ``HF_HUB_OFFLINE=1``,
not on the hub, no network, no weights in the folder) it only logs "Model initialized randomly"
and returns a random model, which would then be fine-tuned, swept and exported as if it were the
pretrained one. :func:`locate` finds the config and the weights the way open_clip looks for them,
before anything is built, and refuses with the model, the folder and the missing file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HF_HUB = "hf-hub:"
LOCAL_DIR = "local-dir:"
CONFIG_FILE = "open_clip_config.json"
# open_clip's default weights of a hub repository, in the order it tries them.
HUB_WEIGHTS = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
# The files open_clip's local-dir: loading picks its weights from.
LOCAL_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth")


@dataclass(frozen=True)
class Located:
    """Where a located model's config and weights are.

    Attributes:
        name: The name as given (``hf-hub:org/name`` or ``local-dir:path``).
        model_cfg: The open_clip model config of its ``open_clip_config.json``.
        folder: The folder holding that config (the cached snapshot for the hub).
        weights: The weights file open_clip will load, or ``None`` when not looked up.
    """

    name: str
    model_cfg: dict[str, Any]
    folder: Path
    weights: Path | None


def is_located(name: str | None) -> bool:
    """Whether ``name`` names a model by its location (``hf-hub:`` or ``local-dir:``)."""
    return name is not None and name.startswith((HF_HUB, LOCAL_DIR))


def locate(name: str, cache_dir: str | None, field_name: str, need_weights: bool) -> Located:
    """Finds the config and (when ``need_weights``) the weights of a located model.

    Args:
        name: ``hf-hub:org/name`` or ``local-dir:path``.
        cache_dir: ``model.clip.cache_dir`` (the hub cache; ``None``: huggingface_hub's default).
        field_name: Config path of the model source (for messages).
        need_weights: Look up the weights file too (not when random weights are asked for or
            another file provides them).

    Raises:
        ValueError: Naming the model, the folder and the missing file, and how to get it.
    """
    if name.startswith(HF_HUB):
        return _locate_on_hub(name, name[len(HF_HUB) :].strip(), cache_dir, field_name, need_weights)
    return _locate_in_dir(name, Path(name[len(LOCAL_DIR) :].strip()).expanduser(), field_name, need_weights)


def hub_cache(cache_dir: str | None) -> Path:
    """The Hugging Face cache folder downloads go to: ``cache_dir``, else ``HF_HUB_CACHE`` / ``HF_HOME/hub``."""
    from huggingface_hub import constants

    return Path(cache_dir or constants.HF_HUB_CACHE).expanduser()


def hub_offline() -> bool:
    """Whether huggingface_hub is in offline mode (``HF_HUB_OFFLINE=1``)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _locate_on_hub(name: str, repo_id: str, cache_dir: str | None, field_name: str, need_weights: bool) -> Located:
    repo_folder = hub_cache(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    config, reason = _hub_file(repo_id, CONFIG_FILE, cache_dir)
    if config is None:
        raise ValueError(
            f"{field_name}.name={name!r}: {CONFIG_FILE} is {_not_got(repo_folder, reason)}. "
            f"{_hub_fix(repo_id, field_name)}"
        )
    model_cfg = _read_config(name, config, field_name)
    weights = None
    if need_weights:
        reasons = []
        for filename in HUB_WEIGHTS:
            weights, reason = _hub_file(repo_id, filename, cache_dir)
            if weights is not None:
                break
            reasons.append(reason)
        else:
            raise ValueError(
                f"{field_name}.name={name!r}: its weights ({' or '.join(HUB_WEIGHTS)}) are "
                f"{_not_got(repo_folder, reasons[-1], 'them')}; open_clip would build the model with random weights. "
                f"{_hub_fix(repo_id, field_name)} Set {field_name}.random_init: true to start from random weights "
                "on purpose."
            )
    return Located(name, model_cfg, config.parent, weights)


def _locate_in_dir(name: str, folder: Path, field_name: str, need_weights: bool) -> Located:
    config = folder / CONFIG_FILE
    if not config.is_file():
        raise ValueError(
            f"{field_name}.name={name!r}: {config} not found. A local-dir: model is a folder holding "
            f"{CONFIG_FILE} and its weights (as `paint export --out <folder>` writes them)."
        )
    model_cfg = _read_config(name, config, field_name)
    weights = None
    if need_weights:
        found = local_weights(folder)
        if found is None:
            raise ValueError(
                f"{field_name}.name={name!r}: {folder} holds {CONFIG_FILE} but no weights file "
                f"({', '.join('*' + s for s in LOCAL_WEIGHT_SUFFIXES)}, e.g. open_clip_model.safetensors); "
                f"open_clip would build the model with random weights. Put the weights there, give them with "
                f"{field_name}.pretrained: <file>, or set {field_name}.random_init: true to start from random "
                "weights on purpose."
            )
        weights = Path(found)
    return Located(name, model_cfg, folder, weights)


def local_weights(folder: Path) -> str | None:
    """The weights file open_clip's ``local-dir:`` loading picks in ``folder``, or ``None``."""
    from open_clip import factory

    find = getattr(factory, "_find_checkpoint_in_dir", None)  # open_clip 3.x's own choice
    if find is not None:
        return find(folder)
    files = sorted(path for path in folder.iterdir() if path.suffix in LOCAL_WEIGHT_SUFFIXES)
    return str(files[0]) if files else None


def _hub_file(repo_id: str, filename: str, cache_dir: str | None) -> tuple[Path | None, str]:
    """The cached (or downloaded) file, as open_clip gets it; else ``None`` and why."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename, cache_dir=cache_dir)), ""
    except Exception as err:  # not cached while offline, not on the hub, no network, bad repo id...
        lines = str(err).strip().splitlines()
        return None, f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _not_got(repo_folder: Path, reason: str, it: str = "it") -> str:
    if hub_offline():
        return f"not in the Hugging Face cache {repo_folder}, and HF_HUB_OFFLINE=1 forbids downloading {it}"
    return f"neither in the Hugging Face cache {repo_folder} nor downloadable ({reason})"


def _hub_fix(repo_id: str, field_name: str) -> str:
    return (
        f"Download the repository with `paint model download --model hf-hub:{repo_id}` or `hf download {repo_id}` "
        "(or run once with network and without "
        f"HF_HUB_OFFLINE=1), or point {field_name}.cache_dir or HF_HUB_CACHE / HF_HOME at the cache that holds it."
    )


def _read_config(name: str, config: Path, field_name: str) -> dict[str, Any]:
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{field_name}.name={name!r}: cannot read {config} ({err}).") from err
    if not isinstance(data, dict) or not isinstance(data.get("model_cfg"), dict):
        raise ValueError(f"{field_name}.name={name!r}: {config} has no 'model_cfg' (an open_clip model config).")
    return dict(data["model_cfg"])
