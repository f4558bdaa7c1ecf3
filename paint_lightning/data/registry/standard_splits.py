"""Fixed splits for data sets that ship none: seeded per-class splits and community split files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Share of each class in each split of a seeded split (the proportions VTAB and torchgeo use for
# EuroSAT and RESISC45).
SEEDED_FRACTIONS: dict[str, float] = {"train": 0.6, "val": 0.2, "test": 0.2}


def seeded_split(labels: Sequence[int], seed: int, fractions: dict[str, float] | None = None) -> dict[str, list[int]]:
    """Splits item indices per class, by a seeded permutation of each class.

    Each class contributes ``round(fraction * size)`` items to every split but the last, which
    takes the rest, so the splits are disjoint, cover every item and keep the class balance. The
    result depends only on ``labels`` (in item order), ``seed`` and ``fractions``.

    Returns:
        Split name -> sorted item indices.
    """
    fractions = dict(SEEDED_FRACTIONS if fractions is None else fractions)
    names = list(fractions)
    out: dict[str, list[int]] = {name: [] for name in names}
    labels_array = np.asarray(labels)
    for label in sorted(set(labels_array.tolist())):
        members = np.flatnonzero(labels_array == label)
        order = members[np.random.default_rng([seed, label]).permutation(len(members))]
        start = 0
        for i, name in enumerate(names):
            stop = len(order) if i == len(names) - 1 else start + round(fractions[name] * len(order))
            out[name].extend(order[start:stop].tolist())
            start = stop
    return {name: sorted(indices) for name, indices in out.items()}


def read_coop_split(path: Path, split: str) -> list[str]:
    """Relative image paths of ``split`` in a CoOp split file (``split_zhou_<Dataset>.json``).

    Those files (from the CoOp repository, KaiyangZhou/CoOp, used by many CLIP adaptation works)
    map ``train``, ``val`` and ``test`` to lists of ``[relative path, label, class name]``. Only the
    paths are read: labels come from the data set's own class order.
    """
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"split_file={str(path)!r}: cannot read it as a CoOp split file ({err}).") from err
    coop = {"train": "train", "val": "val", "test": "test"}[split]
    if not isinstance(data, dict) or coop not in data:
        raise ValueError(
            f"split_file={str(path)!r}: no {coop!r} list; expected CoOp's {{'train', 'val', 'test'}} file."
        )
    return [str(entry[0]) for entry in data[coop]]
