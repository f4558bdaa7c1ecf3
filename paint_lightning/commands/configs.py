"""``paint configs``: the configs shipped with the package, by name, from any folder.

.. code-block:: bash

    paint configs list                         # every shipped config, with its first comment line
    paint configs show paper/vit_b32/sun397    # print it (the path it lives at on stderr)
    paint configs copy quickstart my_configs/  # copy it and the fragments it includes, to edit

Every command takes a shipped config by name too: ``paint fit --config quickstart``,
``paint data check --config paper/vit_l14/sun397`` (a file of that name in the working directory
wins). The fragments a config includes (``trainer: ../shared/trainer.yaml``) resolve relative to
the config, so copies keep working when copied with them, as ``copy`` does.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from paint_lightning.errors import UserError
from paint_lightning.io.shipped import CONFIGS, config_file, shipped_configs


def configs_main(argv: Sequence[str]) -> None:
    """Runs ``paint configs list|show|copy``."""
    parser = argparse.ArgumentParser(prog="paint configs", description="The configs shipped with paint-lightning.")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="list the shipped configs")
    show = actions.add_parser("show", help="print a shipped config")
    show.add_argument("name", help="e.g. quickstart or paper/vit_b32/sun397")
    copy = actions.add_parser("copy", help="copy a shipped config and the fragments it includes")
    copy.add_argument("name", help="e.g. quickstart or paper/vit_b32/sun397")
    copy.add_argument("dest", nargs="?", default="configs", help="folder to copy into (default: ./configs)")
    copy.add_argument("--force", action="store_true", help="overwrite files that differ")
    args = parser.parse_args(list(argv))
    if args.action == "list":
        print(listing())
    elif args.action == "show":
        path = _named(args.name)
        print(f"# {path}", file=sys.stderr)
        print(path.read_text(encoding="utf-8"), end="")
    else:
        written = copy_config(args.name, Path(args.dest), force=args.force)
        print("\n".join(f"wrote {path}" for path in written))
        print(f"run it with: paint fit --config {written[0]}")


def listing() -> str:
    """One line per shipped config: its name and the first line of its leading comment."""
    names = shipped_configs()
    if not names:
        raise UserError(f"No configs were found in {CONFIGS}: the installation is incomplete; reinstall it.")
    width = max(len(name) for name in names) + 2
    return "\n".join(f"{name:<{width}}{_summary(CONFIGS / f'{name}.yaml')}".rstrip() for name in names)


def copy_config(name: str, dest: Path, force: bool = False) -> list[Path]:
    """Copies shipped config ``name`` and every shipped fragment it includes into ``dest``, keeping their layout.

    Args:
        name: A shipped config's name (``paint configs list``).
        dest: The folder that plays the role of ``configs/``.
        force: Overwrite files in ``dest`` that differ from the shipped ones.

    Returns:
        The files written (or already there, identical), the config itself first.

    Raises:
        UserError: For an unknown name, or a file in ``dest`` that differs (without ``force``).
    """
    files = [_named(name), *sorted(_fragments(_named(name)))]
    targets = [dest / path.relative_to(CONFIGS) for path in files]
    clashes = [t for s, t in zip(files, targets, strict=True) if t.exists() and t.read_bytes() != s.read_bytes()]
    if clashes and not force:
        raise UserError(
            f"paint configs copy: {', '.join(map(str, clashes))} already exist(s) and differ(s) from the shipped "
            "config; choose another folder, or add --force to overwrite."
        )
    for source, target in zip(files, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return targets


def _named(name: str) -> Path:
    path = config_file(name)
    if path is None:
        raise UserError(f"No shipped config is called {name!r}; `paint configs list` lists them (e.g. quickstart).")
    return path


def _fragments(config: Path, seen: set[Path] | None = None) -> set[Path]:
    """Shipped YAML files ``config`` includes by a relative path, and theirs."""
    seen = set() if seen is None else seen
    for value in _strings(yaml.safe_load(config.read_text(encoding="utf-8"))):
        if value.endswith((".yaml", ".yml")) and not Path(value).is_absolute():
            target = (config.parent / value).resolve()
            if target.is_file() and CONFIGS in target.parents and target not in seen:
                seen.add(target)
                _fragments(target, seen)
    return seen


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def _summary(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            return ""
    return ""
