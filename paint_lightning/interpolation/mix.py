"""What to combine: coefficients of end points, scalar or per parameter group.

A :class:`Mix` describes one point of ``theta = theta_0 + sum_i c_i (theta_i - theta_0)``: one
coefficient ``c_i`` per end point ``theta_i``, each either a scalar (the whole tower moves by the
same amount, PAINT's alpha) or a mapping from parameter groups to values (finer control, e.g. one
value per transformer block). Groups come from :func:`parameter_group`, which names every tensor
of an open_clip image tower ``embed``, ``block.<i>`` (transformer blocks), ``stage.<i>`` (ResNet
and ConvNeXt stages) or ``head`` (final norm, projection, attention pooling).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

Coefficient: TypeAlias = float | Mapping[str, float]
"""A scalar, or values per parameter group (``"*"`` gives the value of groups not named)."""

DEFAULT_GROUP = "*"

DECIMALS = 6
"""Decimal places coefficients are kept to, so that ``0.1 + 0.2`` and ``0.3`` are one alpha."""

# Stages before blocks: a timm ConvNeXt's ``stages.2.blocks.0.`` is stage 2, not block 0.
_BLOCKS = (
    (re.compile(r"(?:^|\.)resblocks\.(\d+)\."), "block"),  # open_clip transformers
    (re.compile(r"(?:^|\.)stages\.(\d+)\."), "stage"),  # timm ConvNeXt and friends
    (re.compile(r"(?:^|\.)layers\.(\d+)\."), "stage"),  # timm Swin
    (re.compile(r"(?:^|\.)layer(\d+)\."), "stage"),  # open_clip ModifiedResNet
    (re.compile(r"(?:^|\.)blocks\.(\d+)\."), "block"),  # timm ViTs and EVA
)
# After the blocks: final norms, projections and pooling (open_clip's attention pooling of ResNet
# and CoCa, timm's MAP pooling of SigLIP).
_HEAD = re.compile(
    r"^(proj|ln_post\..*|attn_pool(_contrastive)?\..*|attnpool\..*|head\..*|"
    r"trunk\.(norm|fc_norm|head|attn_pool)\..*|text_pool\..*|image_proj.*)$"
)


def parameter_group(name: str) -> str:
    """The group of an image-tower tensor, from its name inside the tower.

    ``block.<i>`` for the i-th transformer block, ``stage.<i>`` for a convolutional stage,
    ``head`` for what follows the blocks (final norm, projection, attention pooling) and
    ``embed`` for everything before them (patch or stem convolution, class and position
    embeddings, pre-norm).
    """
    for pattern, kind in _BLOCKS:
        match = pattern.search(name)
        if match:
            return f"{kind}.{int(match.group(1))}"
    return "head" if _HEAD.match(name) else "embed"


def group_order(groups: Iterable[str]) -> list[str]:
    """Groups in the order data flows through a tower: embed, blocks/stages by index, head."""

    def key(group: str) -> tuple[int, int, str]:
        if group == "embed":
            return (0, 0, group)
        if group == "head":
            return (2, 0, group)
        kind, _, index = group.partition(".")
        return (1, int(index) if index.isdigit() else 0, kind)

    return sorted(set(groups), key=key)


@dataclass(frozen=True)
class Mix:
    """One combination: a coefficient per end point (hashable, usable as a dictionary key).

    Build it with :meth:`of` (``Mix.of(0.4)``, ``Mix.of(0.3, 0.5)``,
    ``Mix.of({"embed": 0.2, "*": 0.5})``). ``terms[i]`` is a float, or a sorted tuple of
    ``(group, value)`` pairs.
    """

    terms: tuple[float | tuple[tuple[str, float], ...], ...]

    @classmethod
    def of(cls, *coefficients: Coefficient) -> Mix:
        """The mix with these coefficients, one per end point.

        Raises:
            ValueError: For no coefficients, a non-finite value or an empty mapping.
        """
        if not coefficients:
            raise ValueError("a mix needs one coefficient per end point, got none")
        terms: list[float | tuple[tuple[str, float], ...]] = []
        for index, coefficient in enumerate(coefficients):
            if isinstance(coefficient, Mapping):
                if not coefficient:
                    raise ValueError(f"coefficient {index} is an empty mapping; give at least one group")
                items = tuple(sorted((str(group), _finite(value, index)) for group, value in coefficient.items()))
                terms.append(items)
            else:
                terms.append(_finite(coefficient, index))
        return cls(tuple(terms))

    @property
    def num_ends(self) -> int:
        """How many end points the mix combines."""
        return len(self.terms)

    @property
    def is_scalar(self) -> bool:
        """One end point and one value for the whole tower (PAINT's alpha)."""
        return len(self.terms) == 1 and not isinstance(self.terms[0], tuple)

    @property
    def alpha(self) -> float:
        """The scalar of a one-end, whole-tower mix.

        Raises:
            ValueError: If the mix is not scalar.
        """
        if not self.is_scalar:
            raise ValueError(f"mix {self.label()} is not a single scalar alpha")
        return float(self.terms[0])  # type: ignore[arg-type]

    def coefficient(self, end: int, group: str) -> float:
        """The coefficient of end point ``end`` for tensors of ``group``.

        Raises:
            KeyError: If the term is per-group, names neither ``group`` nor ``"*"``.
        """
        term = self.terms[end]
        if not isinstance(term, tuple):
            return term
        values = dict(term)
        if group in values:
            return values[group]
        if DEFAULT_GROUP in values:
            return values[DEFAULT_GROUP]
        raise KeyError(group)

    def check_groups(self, groups: Iterable[str], field_name: str = "coefficients") -> None:
        """Checks that every per-group term covers ``groups`` and names no other group.

        Raises:
            ValueError: Naming the unknown or missing groups and the groups that exist.
        """
        known = group_order(groups)
        for index, term in enumerate(self.terms):
            if not isinstance(term, tuple):
                continue
            named = {group for group, _ in term}
            unknown = sorted(named - set(known) - {DEFAULT_GROUP})
            missing = [] if DEFAULT_GROUP in named else [g for g in known if g not in named]
            if unknown or missing:
                raise ValueError(
                    f"{field_name}[{index}]: "
                    + (f"unknown parameter groups {unknown}; " if unknown else "")
                    + (f"no value for groups {missing} (add them or a '*' default); " if missing else "")
                    + f"the tower's groups are {known}."
                )

    def per_tensor(self, groups: Sequence[str]) -> list[tuple[float, ...]]:
        """Coefficient tuple (one per end point) of each tensor, given the tensors' groups."""
        return [tuple(self.coefficient(end, group) for end in range(self.num_ends)) for group in groups]

    def label(self) -> str:
        """Short text for logs and reports, e.g. ``0.4``, ``0.3,0.5`` or ``{embed:0.2,*:0.5}``."""
        parts = []
        for term in self.terms:
            if isinstance(term, tuple):
                parts.append("{" + ",".join(f"{g}:{v:g}" for g, v in term) + "}")
            else:
                parts.append(f"{term:g}")
        return ",".join(parts)

    def to_json(self) -> float | list[float | dict[str, float]]:
        """Plain data: the alpha of a scalar mix, else a list of floats or group mappings."""
        if self.is_scalar:
            return self.alpha
        return [dict(term) if isinstance(term, tuple) else term for term in self.terms]

    @classmethod
    def from_json(cls, data: float | Sequence[float | Mapping[str, float]]) -> Mix:
        """Inverse of :meth:`to_json`."""
        if isinstance(data, (int, float)):
            return cls.of(float(data))
        return cls.of(*data)

    @classmethod
    def parse(cls, value: Any) -> Mix:
        """A mix from JSON text or data: ``0.4``, ``[0.3, 0.5]``, ``{"embed": 0.2, "*": 0.5}``.

        A number is PAINT's alpha, a list gives one coefficient per end point, a mapping gives
        values per parameter group (``"*"``: the groups not named) of the one end point.

        Raises:
            ValueError: For text that is not JSON, or data of none of those shapes (saying which
                shapes are accepted).
        """
        data = json.loads(value) if isinstance(value, str) else value
        if isinstance(data, (int, float)):
            return cls.of(float(data))
        if isinstance(data, Mapping):
            return cls.of(dict(data))
        if isinstance(data, list) and data:
            return cls.of(*data)
        raise ValueError(
            f'mix {value!r}: give a number (0.4), a list ([0.3, 0.5]) or groups ({{"embed": 0.2, "*": 0.5}})'
        )


def rounded(value: float) -> float:
    """``value`` as a float rounded to :data:`DECIMALS` places: how coefficients are stored and compared.

    Grids, searches and plots round with it, so equal coefficients written differently (``0.3``,
    ``0.1 + 0.2``) are one key.
    """
    return round(float(value), DECIMALS)


def _finite(value: object, index: int) -> float:
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError(f"coefficient {index} is {value!r}; coefficients must be finite numbers")
    return rounded(number)


ZERO_SHOT = Mix.of(0.0)
"""The start point (alpha = 0): the zero-shot model, or the model a run started from."""

FINE_TUNED = Mix.of(1.0)
"""The end point (alpha = 1): the live (fine-tuned, or weight-averaged) weights."""
