"""A run's report on disk: ``paint_report.json`` beside its logs and its patched model.

The content (the latest sweep, alpha* per sweep, the test result) is made by
:func:`paint_lightning.engine.record.run_report`; this module only names, writes and reads the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paint_lightning.io.files import write_json

REPORT = "paint_report.json"


def write_report(directory: str | os.PathLike[str], content: Mapping[str, Any]) -> Path:
    """Writes ``content`` to ``directory/paint_report.json`` atomically; returns the path."""
    return write_json(Path(directory) / REPORT, dict(content))


def read_report(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The report in ``directory``.

    Raises:
        FileNotFoundError: When the directory has no ``paint_report.json``.
    """
    return json.loads((Path(directory) / REPORT).read_text(encoding="utf-8"))
