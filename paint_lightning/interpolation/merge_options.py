"""The options of each merge method: one typed dataclass per method, checked explicitly.

A wrong option is refused naming the flag (or field) it came from, the method and the options
the method takes; a value of the wrong type or out of range is refused naming the value.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """A merge method without options (``task_arithmetic``, ``iso_c``, ``tsv``, ``lines``)."""


@dataclasses.dataclass(frozen=True)
class TiesOptions:
    """TIES's options.

    Attributes:
        density: Share of each task vector's entries kept (the largest magnitudes over all its
            tensors together; entries tied with the smallest kept magnitude are kept too).
    """

    density: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 < self.density <= 1.0:
            raise ValueError(f"ties: density={self.density}; give the share of entries kept, in (0, 1], e.g. 0.2")


@dataclasses.dataclass(frozen=True)
class WudiOptions:
    """WUDI-merging's options.

    Attributes:
        steps: 0 (default): the exact minimiser of the paper's objective. ``n > 0``: the authors'
            solver instead, ``n`` Adam steps (learning rate ``lr``) from the sum of the task
            vectors, which stops short of the minimiser (the authors run 300 to 400).
        lr: Adam's learning rate when ``steps > 0`` (the authors' code: 1e-5).
        blocks_only: Merge only the four weight matrices of each transformer block (attention
            ``in_proj_weight`` and ``out_proj.weight``, MLP ``c_fc.weight`` and ``c_proj.weight``)
            and leave every other tensor at the start point, as the authors' vision code does;
            default: every linear 2-D tensor solved and the rest averaged, as FusionBench does.
    """

    steps: int = 0
    lr: float = 1e-5
    blocks_only: bool = False

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"wudi: steps={self.steps}; give 0 (exact minimiser) or a number of Adam steps, e.g. 300")
        if not self.lr > 0.0:
            raise ValueError(f"wudi: lr={self.lr}; give a positive learning rate, e.g. 1e-5")


OPTIONS: dict[str, type] = {
    "task_arithmetic": NoOptions,
    "ties": TiesOptions,
    "iso_c": NoOptions,
    "tsv": NoOptions,
    "wudi": WudiOptions,
    "lines": NoOptions,
}
"""Merge method name -> the dataclass of its options."""

_ACCEPTED: dict[type, tuple[type, ...]] = {float: (int, float), int: (int,), bool: (bool,), str: (str,)}


def option_table(method: str) -> dict[str, tuple[type, Any]]:
    """Option name -> (type, default) of merge method ``method`` (one of :data:`OPTIONS`)."""
    cls = OPTIONS[method]
    hints = typing.get_type_hints(cls)
    return {f.name: (hints[f.name], f.default) for f in dataclasses.fields(cls)}


def describe_options(method: str) -> str:
    """``takes no options`` or ``takes density (float, default 0.2)``."""
    table = option_table(method)
    if not table:
        return "takes no options"
    return "takes " + ", ".join(f"{n} ({t.__name__}, default {d!r})" for n, (t, d) in table.items())


def parse_options(method: str, given: Any, flag: str = "options") -> Any:
    """The options dataclass of ``method`` from a mapping of option name -> value.

    Args:
        method: A merge method (one of :data:`OPTIONS`).
        given: Option name -> value (e.g. the method's entry of ``--merge_options``).
        flag: Where the options came from, for messages (e.g. ``--merge_options``).

    Raises:
        ValueError: For an unknown method, an option the method does not take, a value of the
            wrong type or out of range; the message names ``flag``, the method and its options.
    """
    if method not in OPTIONS:
        raise ValueError(f"merge method {method!r} is unknown; use one of {', '.join(OPTIONS)}.")
    if not isinstance(given, Mapping):
        raise ValueError(
            f"{flag}: the options of merge method {method!r} must be a mapping of name -> value, "
            f"not {given!r}; it {describe_options(method)}."
        )
    table = option_table(method)
    for name, value in given.items():
        if name not in table:
            raise ValueError(
                f"{flag}: {name!r} is not an option of merge method {method!r}, which {describe_options(method)}."
            )
        expected = table[name][0]
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, _ACCEPTED[expected]):
            raise ValueError(
                f"{flag}: {method}.{name}={value!r} is a {type(value).__name__}; give a {expected.__name__} "
                f"(merge method {method!r} {describe_options(method)})."
            )
    try:
        return OPTIONS[method](**{name: table[name][0](value) for name, value in given.items()})
    except ValueError as err:
        raise ValueError(f"{flag}: {err}") from None
