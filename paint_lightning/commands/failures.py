"""A user's mistake ends with one actionable line and exit status 1 or 2; a bug shows its traceback.

:func:`guarded` runs a command. When it fails:

* a **user error** (a bad config value, a missing file, a damaged checkpoint...) prints
  ``error: <message>`` and exits with status 2 when the mistake is in the configuration or the
  arguments (found while they are parsed and the objects they describe are built, see
  :func:`config_phase`), else 1. The message is the project's own (it names the field, the value
  and the fix), dug out of the exceptions that Lightning and jsonargparse wrap around it;
* anything else is a **bug**: the traceback is printed, followed by a request to report it.

``PAINT_TRACEBACK=1`` in the environment, or ``--traceback`` anywhere on the command line, shows
the traceback of user errors too (for bug reports).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from paint_lightning.errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parents[1]
TRACEBACK_FLAG = "--traceback"
TRACEBACK_ENV = "PAINT_TRACEBACK"

# Raised on purpose by the project (with a message for the user) when raised from its own code.
_DELIBERATE = (ValueError, TypeError, RuntimeError, FloatingPointError, OSError)
# A user's mistake wherever they come from (their paths, their Lightning flags, their GPU's memory).
# Where Lightning checks the Trainer's flags as it is built.
_TRAINER_SETUP = ("lightning", "pytorch", "trainer", "connectors")
_ALWAYS_USER = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, argparse.ArgumentError)


_NON_FINITE = re.compile(
    r"Parser key \"([^\"]+)\":\s*Expected a <class 'float'>\. Got value: ([+-]?\.?(?:nan|inf|infinity))\s*$",
    re.IGNORECASE | re.MULTILINE,
)
# What a float field needs beyond being finite, for the one-line answer to `--model.lr nan`.
_FINITE_HINTS = {"model.lr": "a finite positive number, e.g. 1e-5"}


@contextlib.contextmanager
def config_phase() -> Iterator[None]:
    """Errors raised inside are mistakes in the configuration or the arguments (exit status 2)."""
    try:
        yield
    except Exception as err:
        err.__dict__.setdefault("paint_exit_code", 2)
        raise


def wants_traceback(argv: list[str]) -> bool:
    """Whether tracebacks are asked for (``--traceback`` or ``PAINT_TRACEBACK=1``); removes the flag."""
    asked = TRACEBACK_FLAG in argv
    while TRACEBACK_FLAG in argv:
        argv.remove(TRACEBACK_FLAG)
    return asked or os.environ.get(TRACEBACK_ENV, "").lower() not in ("", "0", "false", "no")


def guarded(run: Callable[[], None], show_traceback: bool, command: str = "paint") -> None:
    """Runs ``run``; turns a user error into one line and an exit status, shows a bug's traceback."""
    try:
        run()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`paint data check ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except Exception as err:
        message = user_message(err)
        if message is not None and not show_traceback:
            print(f"error: {message}", file=sys.stderr)
            sys.exit(exit_code(err))
        traceback.print_exception(err)
        if message is None:
            print(
                f"\nThis is a bug in paint-lightning or a library it uses, not a mistake of yours: please report it "
                f"to the project's issue tracker with the command ({command}) and the traceback above.",
                file=sys.stderr,
            )
        sys.exit(exit_code(err) if message is not None else 1)


def exit_code(err: BaseException) -> int:
    """2 for mistakes in the configuration or arguments, else 1."""
    for link in chain(err):
        if isinstance(link, UserError):
            return link.exit_code
        if isinstance(link, argparse.ArgumentError):
            return 2
    return int(err.__dict__.get("paint_exit_code", 1))


def user_message(err: BaseException) -> str | None:
    """The message for the user if ``err`` is a user's mistake, else ``None`` (a bug)."""
    links = chain(err)
    for link in links:  # a message the run attached (callbacks/lost_process.py: another process stopped)
        if isinstance(link.__dict__.get("paint_message"), str):
            return link.__dict__["paint_message"]
    for link in links:  # outermost first: the project's own message carries the most context
        if isinstance(link, UserError) or (isinstance(link, _DELIBERATE) and raised_by_project(link)):
            return clean(str(link))
    for link in links:
        if isinstance(link, _ALWAYS_USER) or _is_user_library_error(link):
            return clean(str(link))
    return None


def chain(err: BaseException) -> list[BaseException]:
    """``err`` and the exceptions it was raised from or while handling, outermost first."""
    out: list[BaseException] = []
    link: BaseException | None = err
    while link is not None and link not in out:
        out.append(link)
        link = link.__cause__ or link.__context__
    return out


def _raised_in(err: BaseException, folder: tuple[str, ...]) -> bool:
    """Whether a ``raise`` statement in a file under ``folder`` (path parts) raised ``err``."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return False
    parts = Path(frames[-1].filename).parts
    inside = any(parts[i : i + len(folder)] == folder for i in range(len(parts)))
    return inside and (frames[-1].line or "").lstrip().startswith("raise")


def raised_by_project(err: BaseException) -> bool:
    """Whether a ``raise`` statement of this package raised ``err`` (not a failing operation in it).

    A ``ValueError`` from ``list.index`` in the project's code is a bug; one the project raises
    with a message for the user is not.
    """
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return False
    last = frames[-1]
    path = Path(last.filename).resolve()
    return PACKAGE_DIR in path.parents and (last.line or "").lstrip().startswith("raise")


def clean(message: str) -> str:
    """The useful part of a message: jsonargparse's list of Union errors reduced to the real one."""
    message = message.strip()
    non_finite = _NON_FINITE.search(message)
    if non_finite:  # jsonargparse reads `nan` and `inf` as text, and only says it expected a float
        key, value = non_finite.groups()
        return f"{key}={value}: must be {_FINITE_HINTS.get(key, 'a finite number')} (nan and inf are not accepted)."
    if "Union subtypes" in message and "Errors:" in message:
        errors = [
            line.strip()[2:] for line in message.split("Errors:", 1)[1].splitlines() if line.strip().startswith("- ")
        ]
        useful = [e for e in errors if not e.startswith("Expected a <class 'NoneType'>")]
        if useful:
            first = message.splitlines()[0].strip()
            where = first if first.startswith("Parser key") else ""
            given = [line.strip() for line in message.splitlines() if line.strip().startswith("Given value:")]
            if useful[0].startswith("Expected") and given:  # a type mismatch: say what was given
                return " ".join([where, useful[0] + ";", given[0].replace("Given value", "got")]).strip()
            return useful[0]
    return message


def _is_user_library_error(err: BaseException) -> bool:
    name = type(err).__name__
    if name == "MisconfigurationException":  # Lightning: the user's trainer flags
        return True
    if isinstance(err, ValueError) and err.__dict__.get("paint_exit_code") == 2 and _raised_in(err, _TRAINER_SETUP):
        return True  # Lightning refusing a trainer flag while the Trainer is built (e.g. an unknown accelerator)
    if isinstance(err, ValueError) and "validate against any of the Union subtypes" in str(err):
        return True  # jsonargparse (older releases): a config value no type accepts, the reasons as text
    return name == "OutOfMemoryError"  # torch: the user's batch size
