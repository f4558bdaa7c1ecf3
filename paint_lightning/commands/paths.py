"""Output paths checked before any work: a folder that cannot be made fails at once, naming the flag.

A path under a regular file (``--out results.csv/run``), a folder given where a file goes (or the
other way round) or a folder that cannot be written would otherwise end, after the model is built
and every image classified, in a bare ``[Errno 20] Not a directory``.
"""

from __future__ import annotations

import os
from pathlib import Path

from paint_lightning.commands.failures import UserError


def check_output_dir(path: str | os.PathLike[str], flag: str) -> Path:
    """``path`` as a folder that exists or can be made; raises :class:`UserError` naming ``flag`` if not.

    Args:
        path: The output folder (``~`` is expanded). Remote URLs (``s3://...``) are not checked.
        flag: The flag or config field that gave it, e.g. ``--out`` or ``--trainer.default_root_dir``.

    Returns:
        The expanded path (nothing is created).
    """
    where = Path(path).expanduser()
    if "://" in str(path):
        return where
    if where.exists() and not where.is_dir():
        raise UserError(f"{flag}={str(path)!r} is a file, not a folder: give a folder.", exit_code=2)
    _check_parents(where, flag, str(path))
    return where


def check_output_file(path: str | os.PathLike[str], flag: str) -> Path:
    """``path`` as a file that can be written (its folder exists or can be made); else :class:`UserError`.

    Args:
        path: The output file (``~`` is expanded).
        flag: The flag that gave it, e.g. ``--output``.

    Returns:
        The expanded path (nothing is created).
    """
    where = Path(path).expanduser()
    if where.is_dir():
        raise UserError(f"{flag}={str(path)!r} is a folder: give a file name, e.g. {where / 'preds.csv'}.", exit_code=2)
    _check_parents(where, flag, str(path))
    return where


def _check_parents(where: Path, flag: str, given: str) -> None:
    """The nearest existing folder above ``where`` must be a writable folder."""
    for parent in where.absolute().parents:
        if not parent.exists():
            continue
        if not parent.is_dir():
            raise UserError(
                f"{flag}={given!r}: {parent} is a regular file, so no folder can be made under it; give a path "
                "outside it (or move that file away).",
                exit_code=2,
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UserError(
                f"{flag}={given!r}: the folder {parent} cannot be written to; give another path.", exit_code=2
            )
        return
