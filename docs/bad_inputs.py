"""Writes docs/bad-inputs.md: every bad input the tests try, with the message it gets.

Run from the repository root: ``python docs/bad_inputs.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_bad_inputs import CASES  # noqa: E402

HEADER = """# Bad inputs and the errors they give

Each row is a case from `tests/test_bad_inputs.py`, run for real; the message is what the user
sees. Errors name the config field, the value and the fix, and are raised before expensive work
(data sets are checked when the DataModule is built, which the `paint` CLI does before it builds
the model). Outputs are written to a temporary name and renamed, so no case leaves a half-written
file. Regenerate with `python docs/bad_inputs.py`.

| input tried | error | message |
|---|---|---|
"""


def main() -> None:
    """Runs every case and writes the table."""
    rows = []
    for what, trigger, _, _ in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                trigger(Path(tmp))
                message, kind = "(no error)", "-"
            except Exception as err:  # the point is to show whatever is raised
                message, kind = str(err), type(err).__name__
        message = message.replace("|", "\\|").replace("\n", " ").replace(tmp, "<tmp>")
        rows.append(f"| {what} | {kind} | {message} |")
    (ROOT / "docs" / "bad-inputs.md").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
