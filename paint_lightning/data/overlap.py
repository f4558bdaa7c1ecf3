"""Splits that share images: a run refuses a task whose test images were trained on or chose alpha.

What makes two images the same is their **identity**, as :meth:`ImageSource.image_ids
<paint_lightning.data.sources.ImageSource.image_ids>` gives it:

* file-backed sources (image folders, CSV files, the registry's file data sets, including the
  list-based ones such as DTD, whose list entries name the files): the file's path, with its
  folder resolved (symlinked split folders are seen through), so a list entry in two list files
  is one file in two splits; a copy of an image under another name is not seen (no image is read);
* sources whose items are generated or read from one array file per split (the offline world,
  :class:`~paint_lightning.data.synthetic.ColourPatchSource`, MNIST, CIFAR...): ``None``, an item is
  its position in its own split, so distinct splits are disjoint by construction (for the world's
  and synthetic sources, ``tests/data/test_overlap.py`` checks that no test image is
  byte-identical to a train image); sources that draw both splits from one collection
  (:class:`~paint_lightning.world.HandwrittenDigits`) give the collection's index.

Which splits must not meet (:func:`split_pairs`): the test split and the split the held-out
images come from, and, for patch tasks, the train split (trained on) and the other two. Whole
splits are compared, so ``paint data check`` and a run agree whatever the held-out seed and size.
The check reads file lists only (no image is decoded): about 0.1 s per 100,000 files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from paint_lightning.data.sources import ImageSource, Split

_SHOWN = 3  # shared images named in a message


def shared_images(first: Iterable[str], second: Iterable[str]) -> list[str]:
    """The identities found in both ``first`` and ``second``, sorted (empty: the splits are disjoint)."""
    return sorted(set(first).intersection(second))


def split_pairs(heldout_from: Split, trained: bool) -> list[tuple[Split, Split]]:
    """The pairs of splits a task must keep apart.

    Args:
        heldout_from: Where the task's held-out images come from (``train`` or ``val``; ``test`` for a
            test-only transfer task, whose held-out images choose nothing: no pair then).
        trained: Whether the run trains on the task's train split (patch tasks).
    """
    if heldout_from == "test":  # a test-only transfer task: its held-out images are a sample of its test split
        return []
    pairs: list[tuple[Split, Split]] = [(heldout_from, "test")]
    if trained and heldout_from != "train":
        pairs += [("train", "test"), ("train", heldout_from)]
    return pairs


@dataclass(frozen=True)
class Overlap:
    """Two splits of a task that share images."""

    first: Split
    second: Split
    shared: list[str]


def find_overlaps(source: ImageSource, heldout_from: Split, role: str) -> list[Overlap]:
    """The pairs of :func:`split_pairs` that share images, for a task of ``role`` (identity: see the module)."""
    ids: dict[Split, list[str] | None] = {}
    overlaps = []
    for first, second in split_pairs(heldout_from, role == "patch"):
        for split in (first, second):
            if split not in ids:
                ids[split] = source.image_ids(split)
        a, b = ids[first], ids[second]
        if a is not None and b is not None:
            shared = shared_images(a, b)
            if shared:
                overlaps.append(Overlap(first, second, shared))
    return overlaps


def describe_overlap(overlap: Overlap, heldout_from: Split, role: str) -> str:
    """What is shared, why it matters and how to fix it (without the task's name)."""
    trained = role == "patch"
    heldout = "the held-out images" + (" that choose alpha" if role != "transfer" else "")
    uses: dict[str, list[str]] = {"train": ["trained on"] if trained else [], "val": [], "test": ["the final report"]}
    if heldout_from == "train":
        uses["train"].append(f"{heldout} are carved from it")
    else:
        uses["val"].append(heldout)
    first, second = overlap.first, overlap.second
    seen = ["trained on"] if trained and first == "train" else []
    seen += ["held out"] if first == heldout_from else []
    count = len(overlap.shared)
    shown = _shown(overlap.shared)
    fix = "remove the shared images from one of the two splits (its folder, label file or list file)"
    if first == "val" and second == "test":
        fix += ", or use heldout_from: train"
    return (
        f"the {first} split ({'; '.join(uses[first])}) and the {second} split ({'; '.join(uses[second])}) share "
        f"{count} image{'s' if count != 1 else ''}{shown}. The {'test' if second == 'test' else 'held-out'} "
        f"accuracy would be measured on images the run also {' or '.join(seen)}. Fix: {fix}."
    )


def check_disjoint(name: str, field: str, source: ImageSource, heldout_from: Split, role: str) -> None:
    """Refuses a task whose splits share images.

    Raises:
        ValueError: Naming ``field``, the task, the splits, how many images they share, a few of
            them and the fix.
    """
    overlaps = find_overlaps(source, heldout_from, role)
    if overlaps:
        reasons = " Also, ".join(describe_overlap(o, heldout_from, role) for o in overlaps)
        raise ValueError(f"{field} (task {name!r}): {reasons}")


def _shown(shared: list[str]) -> str:
    """``' under <folder>: a, b, c (3 of 9 shown)'``: a few shared images, relative to their common folder."""
    head = shared[:_SHOWN]
    base = os.path.commonpath(shared) if all(os.path.isabs(path) for path in shared) else ""
    if base == head[0]:  # one image: its folder
        base = os.path.dirname(base)
    if base and base != os.path.dirname(base):  # not the file system's root
        head = [os.path.relpath(path, base) for path in head]
    more = f" ({len(head)} of {len(shared)} shown)" if len(shared) > len(head) else ""
    return (f" under {base}" if base and head[0] != shared[0] else "") + ": " + ", ".join(head) + more
