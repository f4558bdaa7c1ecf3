"""The identity of an image file: its absolute path with its folder resolved (links followed)."""

from __future__ import annotations

import os
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
