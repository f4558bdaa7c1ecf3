"""The one exception type for a user's mistake, importable from every layer.

:mod:`paint_lightning.commands.failures` turns it into one ``error:`` line and its exit status.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake of the user, with the message to show.

    Args:
        message: What is wrong and how to fix it.
        exit_code: 2 for the configuration or arguments, 1 otherwise.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
