"""Atomic file output (a crash never leaves a file that looks complete) and a lock between processes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; renames it onto ``path`` only on success.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic on POSIX
    file systems. On any exception the temporary file is removed and ``path`` is left untouched.
    The file ends with the permissions a plain write would give (``0o666`` less the umask),
    whatever the writer did to the temporary file's mode.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # After the write: mkstemp makes 0600, and writers that replace the file themselves
        # (safetensors' save_file does) make 0600 again. Give it what a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Calls ``write(tmp_path)`` and atomically moves the result to ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Writes ``text`` (UTF-8), atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Writes ``data`` as indented JSON, atomically."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def save_safetensors(tensors: dict[str, Any], path: str | os.PathLike[str], metadata: dict[str, str]) -> Path:
    """Writes ``tensors`` to ``path`` with ``safetensors``, atomically and byte for byte reproducibly.

    ``safetensors`` writes its metadata from a hash map whose order changes from process to
    process, so the same tensors would give files with different SHA-256s. The header is rewritten
    with sorted keys (same length: only the order changes) before the file is moved into place.
    """
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
        _sort_safetensors_header(tmp)
    return Path(path)


def _sort_safetensors_header(path: Path) -> None:
    with open(path, "r+b") as handle:
        length = int.from_bytes(handle.read(8), "little")
        raw = handle.read(length)
        header = json.loads(raw)
        header = {k: (dict(sorted(v.items())) if k == "__metadata__" else v) for k, v in sorted(header.items())}
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(text) > length:  # never expected (same keys, same values); keep the original order
            return
        handle.seek(8)
        handle.write(text.ljust(length, b" "))  # safetensors pads its header with spaces too


def sha256_file(path: str | os.PathLike[str], chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def file_lock(lock_path: str | os.PathLike[str]) -> Iterator[None]:
    """An exclusive advisory lock on ``lock_path``, released when the holder exits (even if it crashes).

    Processes (DDP ranks on one node, or nodes sharing a POSIX file system with working ``flock``)
    that build or download the same files take turns; the later ones find the work done.
    """
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, concurrent builds just redo the work
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
