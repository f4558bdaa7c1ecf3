"""Files the package ships: its configs (``paint_lightning/configs``) and assets, found from anywhere.

Configs and docs name shipped files relative to the repository root (``configs/quickstart.yaml``,
``paint_lightning/world/assets/world_clip.safetensors``); the repository's ``configs`` is a link to
``paint_lightning/configs``. In a wheel install there is no repository: :func:`shipped_file` finds
such a name inside the installed package, and :func:`config_file` finds a config by its short
name (``quickstart``, ``paper/vit_l14/sun397``), so ``paint fit --config quickstart`` works from
any folder.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
"""The installed ``paint_lightning`` package folder."""

CONFIGS = PACKAGE / "configs"
"""The shipped configs."""


def shipped_file(name: str | Path) -> Path | None:
    """The shipped file a repository-relative ``name`` stands for, or ``None``.

    ``configs/...`` names a shipped config, ``paint_lightning/...`` a file of the package.
    """
    parts = Path(name).parts
    if not parts or Path(name).is_absolute():
        return None
    if parts[0] == "configs":
        candidate = CONFIGS.joinpath(*parts[1:])
    elif parts[0] == PACKAGE.name:
        candidate = PACKAGE.joinpath(*parts[1:])
    else:
        return None
    return candidate if candidate.is_file() else None


def config_file(name: str) -> Path | None:
    """The shipped config ``name`` names: ``quickstart``, ``paper/vit_l14/sun397``, ``configs/...yaml``.

    Returns ``None`` when no shipped config has that name.
    """
    stem = name[len("configs/") :] if name.startswith("configs/") else name
    for candidate in (stem, f"{stem}.yaml"):
        path = CONFIGS / candidate
        if path.is_file() and path.suffix in (".yaml", ".yml") and CONFIGS in path.resolve().parents:
            return path
    return None


def shipped_configs() -> list[str]:
    """The short names of every shipped config (``quickstart``, ``paper/vit_b32/mnist``, ...), sorted.

    Fragments that only other configs include (``.../shared/...``) are listed too: they can be
    given as a later ``--config``.
    """
    return sorted(path.relative_to(CONFIGS).with_suffix("").as_posix() for path in CONFIGS.rglob("*.yaml"))


def resolve_config_args(argv: list[str]) -> list[str]:
    """``argv`` with each ``--config NAME`` that is not a file here replaced by the shipped config's path."""
    out = list(argv)
    for index, arg in enumerate(out):
        if arg == "--config" and index + 1 < len(out):
            out[index + 1] = _resolved(out[index + 1])
        elif arg.startswith("--config="):
            out[index] = "--config=" + _resolved(arg[len("--config=") :])
    return out


def _resolved(value: str) -> str:
    if Path(value).expanduser().exists() or value.lstrip().startswith(("{", "-")):
        return value
    shipped = config_file(value)
    return str(shipped) if shipped is not None else value
