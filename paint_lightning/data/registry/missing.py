"""Errors of the registry's data sets: files missing, files failing the MD5 check, downloads failing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from paint_lightning.errors import UserError


class DataNotFoundError(ValueError):
    """A registry data set's files are missing or incomplete; the message says what to fetch.

    Attributes:
        what: The problem alone (the message adds the expected layout and how to get the files).
    """

    def __init__(self, message: str, what: str = "") -> None:
        super().__init__(message)
        self.what = what or message


class ChecksumError(DataNotFoundError):
    """Files are there but fail torchvision's MD5 check (a damaged or partial download, or other files)."""


class DownloadError(DataNotFoundError, UserError):
    """``download: true`` could not fetch the files (no network...); the message says how to place them by hand.

    Not a mistake in the configuration: commands exit with status 1.
    """

    def __init__(self, message: str, what: str = "") -> None:
        super().__init__(message, what)
        self.exit_code = 1


def checksum_problem(failed: Sequence[tuple[str, str]], folder: Path) -> str:
    """What is wrong with ``(file, expected MD5)`` files in ``folder`` that fail the check, and what to do."""
    one = len(failed) == 1
    names = ", ".join(f"{name} (MD5 should be {md5})" for name, md5 in failed)
    return (
        f"{names} in {folder} {'is' if one else 'are'} present but fail{'s' if one else ''} torchvision's MD5 "
        "check: an interrupted or damaged download, or other files under these names. Delete "
        f"{'it' if one else 'them'} and download again (`paint data download --config ...`, or download: true), or "
        "put the official files there by hand"
    )


def download_problem(err: BaseException) -> str:
    """That the download failed, from which URL (when torchvision's code says) and why."""
    url = _url_tried(err)
    reason = " ".join(str(err).split()) or "no message"
    reason = reason if len(reason) <= 400 else reason[:397] + "..."
    return f"the download failed{f' from {url}' if url else ''} ({type(err).__name__}: {reason})"


def _url_tried(err: BaseException) -> str | None:
    """The ``url`` that torchvision's download code was fetching when ``err`` was raised (innermost frame)."""
    url = None
    traceback = err.__traceback__
    while traceback is not None:
        value = traceback.tb_frame.f_locals.get("url")
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            url = value
        traceback = traceback.tb_next
    return url
