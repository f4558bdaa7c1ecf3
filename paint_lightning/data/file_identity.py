"""The identity of an image file: its absolute path with its folder resolved (links followed)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable


def file_identities(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Absolute paths with their folders resolved (each folder once: fast on large splits)."""
    prefixes: dict[str, str] = {}  # folder as written -> resolved folder with a trailing separator
    out = []
    for path in map(os.fspath, paths):
        folder, _, name = path.rpartition(os.sep)
        prefix = prefixes.get(folder)
        if prefix is None:
            real = os.path.realpath(folder or (os.sep if path.startswith(os.sep) else "."))
            prefix = prefixes[folder] = real.rstrip(os.sep) + os.sep
        out.append(prefix + name)
    return out


def resolved_files(paths: Iterable[str]) -> list[tuple[str, bool]]:
    """``(os.path.realpath(path), whether it is a file)`` for each path: one ``lstat`` per file.

    The same answers as ``Path(path).resolve()`` and ``Path(path).is_file()``, with each folder
    resolved once (fast on large label files); a file that is itself a link is resolved in full.
    """
    folders: dict[str, str] = {}
    out = []
    for path in paths:
        folder, name = os.path.split(path)
        if name in ("", ".", "..") or not folder:
            real = os.path.realpath(path)
            out.append((real, os.path.isfile(real)))
            continue
        real_folder = folders.get(folder)
        if real_folder is None:
            real_folder = folders[folder] = os.path.realpath(folder)
        candidate = os.path.join(real_folder, name)
        try:
            mode = os.lstat(candidate).st_mode
        except OSError:
            out.append((candidate, False))
            continue
        if stat.S_ISLNK(mode):
            real = os.path.realpath(candidate)
            out.append((real, os.path.isfile(real)))
        else:
            out.append((candidate, stat.S_ISREG(mode)))
    return out
