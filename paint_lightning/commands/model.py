"""``paint model``: whether a model's files are in the cache, and fetching them (as ``paint data`` for data).

.. code-block:: bash

    paint model check --model hf-hub:org/name                      # config and weights in the HF cache?
    paint model check --model ViT-B-32 --pretrained openai         # an open_clip zoo tag
    paint model check --model configs/quickstart.yaml              # the model.clip of a config
    paint model download --model hf-hub:org/name --cache_dir /data/hf

``check`` looks in the caches only (nothing reaches the network) and exits 1 when a file is
missing, naming the cache folder and the command that fills it. The cache is ``--cache_dir``, else
the config's ``model.clip.cache_dir``, else ``HF_HUB_CACHE`` / ``HF_HOME/hub``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paint_lightning.commands.failures import UserError, config_phase
from paint_lightning.models.hub_files import ModelFiles, download_model, model_files


def model_main(argv: Sequence[str]) -> None:
    """Runs ``paint model check|download``; exits 1 when a file is still missing."""
    parser = argparse.ArgumentParser(prog="paint model", description="Check or download a model's files.")
    actions = parser.add_subparsers(dest="action", required=True)
    for action, text in (("check", "say whether the model's files are cached"), ("download", "fetch them")):
        sub = actions.add_parser(action, help=text, description=f"{text.capitalize()}.")
        sub.add_argument("--model", required=True, help="hf-hub:org/name, local-dir:path, a zoo name, or a YAML config")
        sub.add_argument("--pretrained", default=None, help="a zoo name's pretrained tag (or a weights file)")
        sub.add_argument("--cache_dir", default=None, help="the Hugging Face cache (default: model.clip.cache_dir)")
    args = parser.parse_args(list(argv))
    with config_phase():
        name, pretrained, cache_dir = model_source(args.model, args.pretrained, args.cache_dir)
        files = (download_model if args.action == "download" else model_files)(name, pretrained, cache_dir)
    print(describe(files))
    if not files.complete:
        sys.exit(1)


Source = tuple[str | None, str | None, str | None]


def model_source(model: str, pretrained: str | None, cache_dir: str | None) -> Source:
    """``(name, pretrained, cache_dir)`` of ``--model``: a name as given, or a config's ``model.clip``.

    Raises:
        UserError: For a config without ``model.clip``.
    """
    path = Path(model).expanduser()
    if path.suffix not in (".yaml", ".yml"):
        return model, pretrained, cache_dir
    import yaml

    if not path.is_file():
        raise UserError(f"--model={model!r}: no such config file.", exit_code=2)
    clip: Any = ((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("model") or {}).get("clip")
    if not isinstance(clip, dict) or not (clip.get("name") or clip.get("pretrained")):
        raise UserError(f"--model={model!r}: the config has no model.clip.name or model.clip.pretrained.", exit_code=2)
    return clip.get("name"), pretrained or clip.get("pretrained"), cache_dir or clip.get("cache_dir")


def describe(files: ModelFiles) -> str:
    """One line per needed file (found where, or missing), and what to do when one is missing."""
    lines = [f"{files.model}: {files.source}"]
    for needed in files.files:
        if needed.found is not None:
            lines.append(f"  [ok]      {needed.what}: {needed.found}")
        else:
            lines.append(f"  [MISSING] {needed.what}: {' or '.join(needed.candidates)} not in {needed.folder}")
    if files.complete:
        lines.append("Every file is there.")
    elif files.fill is not None:
        lines.append(f"Fill the cache {files.files[0].folder} with {files.fill}.")
    else:
        lines.append("Put the files there (nothing can download a local file).")
    return "\n".join(lines)
