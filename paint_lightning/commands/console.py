"""A quiet, clear console for the ``paint`` command.

Inside :func:`quiet_console`:

* Lightning's own informational lines (accelerator lists, cloud-product tips, "Seed set to",
  "Loading `train_dataloader`...", "`Trainer.fit` stopped") are dropped; its warnings and the
  project's own lines (one per sweep, the final table, where the model went) are kept;
* warnings print as one line, ``Warning: <message>``, without the source file and line;
* a third-party deprecation that users cannot act on is silenced, named on its own;
* log lines and warnings are written above the progress bar, never into it.

``PAINT_VERBOSE=1`` keeps everything (and the source of warnings).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

VERBOSE_ENV = "PAINT_VERBOSE"
# Loggers Lightning prints through.
LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning", "pytorch_lightning", "lightning_fabric")
# Third-party warnings a user cannot act on: (message regex, why).
SILENCED = (
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", "Lightning's own use of a torch API; fixed upstream"),
    (
        r"The dirpath has changed from",
        "paint validate/test read a checkpoint into a new version folder; nothing to reload",
    ),
)


def verbose() -> bool:
    """Whether ``PAINT_VERBOSE`` asks for everything."""
    return os.environ.get(VERBOSE_ENV, "").lower() not in ("", "0", "false", "no")


class _LightningChatter(logging.Filter):
    """Drops informational records logged from Lightning's own files (not from the project's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not _is_lightning_file(record.pathname)


class _AboveBars(logging.Handler):
    """Writes records with ``tqdm.write`` so they appear above an active progress bar."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_line(self.format(record), self.stream)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def write_line(text: str, stream: TextIO | None = None) -> None:
    """Prints ``text`` above any active progress bar."""
    from tqdm import tqdm

    tqdm.write(text, file=stream or sys.stderr)


@contextlib.contextmanager
def quiet_console() -> Iterator[None]:
    """Applies the rules of the module docstring while the block runs, then restores everything."""
    loud = verbose()
    saved: list[tuple[logging.Logger, list[logging.Handler], bool]] = []
    with warnings.catch_warnings():
        if not loud:
            for pattern, _why in SILENCED:
                warnings.filterwarnings("ignore", message=pattern)
        warnings.showwarning = _show_warning(loud)
        for name in LIGHTNING_LOGGERS:
            logger = logging.getLogger(name)
            saved.append((logger, list(logger.handlers), logger.propagate))
            if not logger.handlers:
                continue
            level = min(h.level for h in logger.handlers)
            handler = _AboveBars(sys.stderr)
            handler.setLevel(level)
            if not loud:
                handler.addFilter(_LightningChatter())
            logger.handlers = [handler]
        try:
            yield
        finally:
            for logger, handlers, propagate in saved:
                logger.handlers = handlers
                logger.propagate = propagate


def _show_warning(loud: bool) -> Any:
    def show(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None):
        text = str(message).strip()
        if loud:
            text += f" ({category.__name__} at {filename}:{lineno})"
        write_line(f"Warning: {text}", file or sys.stderr)

    return show


def _is_lightning_file(path: str) -> bool:
    parts = Path(path).parts
    return any(part in ("lightning", "lightning_fabric", "pytorch_lightning") for part in parts)
