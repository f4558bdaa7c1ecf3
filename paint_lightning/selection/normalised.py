"""Normalised accuracy: a patched model's accuracy as a percentage of a reference model's.

The merging literature (task arithmetic, TIES, ...) reports each task's accuracy divided by the
accuracy of the model fine-tuned on that task. For a patch task that reference is the fine-tuned
model; a support or transfer task was never fine-tuned on, so its reference is the model the run
started from (zero-shot, or the start point of a later sequential step): there the normalised
accuracy is the share of that accuracy kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def reference_of(role: str) -> str:
    """The row key a task of ``role`` is normalised by: ``fine_tuned`` for patch tasks, else ``zero_shot``."""
    return "fine_tuned" if role == "patch" else "zero_shot"


def normalised(accuracy: float | None, reference: float | None) -> float | None:
    """``100 * accuracy / reference`` (%), or ``None`` when either is missing or the reference is 0."""
    if accuracy is None or reference is None or reference <= 0:
        return None
    return 100.0 * accuracy / reference


def normalised_row(row: Mapping[str, Any], key: str = "patched") -> float | None:
    """The normalised accuracy of ``row[key]`` in a test row (``role``, ``zero_shot``, ``fine_tuned``, ...)."""
    return normalised(row.get(key), row.get(reference_of(row["role"])))
