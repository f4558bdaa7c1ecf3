"""The class-split protocol: train on some classes of a task, evaluate on classes never trained on.

PAINT's counting experiment (Ilharco et al., 2022, section 7) fine-tunes on images of some counts
and asks whether the patched model also counts the others: between the seen counts
(interpolation) and beyond them (extrapolation). :class:`ClassSubsetSource` keeps the images of
some classes of any source, in every split, with the labels and the class names of the whole task,
so the head still chooses among every class. Two tasks over one source make the protocol:

.. code-block:: yaml

    data:
      patch:      # trained on
        - name: counts_seen
          source:
            class_path: paint_lightning.data.classsplit.ClassSubsetSource
            init_args: {source: {class_path: paint_lightning.world.WorldCounts}, classes: [one, two, four]}
      transfer:   # never trained on, evaluated at every alpha
        - name: counts_unseen
          source:
            class_path: paint_lightning.data.classsplit.ClassSubsetSource
            init_args: {source: {class_path: paint_lightning.world.WorldCounts}, classes: [three]}

The two tasks share no image: their classes differ.
"""

from __future__ import annotations

from typing import Any

from torch.utils.data import Dataset, Subset

from paint_lightning.data.sources import ImageSource, Split, Transform, WrappedSource, fingerprint_json


def inline_description(source: ImageSource) -> str:
    """``Name(key=value, ...)`` of a source's :meth:`~ImageSource.describe`, on one line, without braces."""
    described = dict(source.describe())
    name = described.pop("source", type(source).__name__)
    return f"{name}(" + ", ".join(f"{key}={value}" for key, value in described.items()) + ")"


class ClassSubsetSource(WrappedSource):
    """The images of ``classes`` of ``source`` (every split), labels and class names unchanged.

    Args:
        source: The whole task.
        classes: The classes to keep, as class names or label indices.

    Raises:
        ValueError: For an empty list, or a class the source does not have (naming the valid ones).
    """

    def __init__(self, source: ImageSource, classes: list[str | int]) -> None:
        if not isinstance(source, ImageSource):
            raise TypeError(f"source must be an ImageSource, got {type(source).__name__}")
        names = list(source.classnames)
        if not classes:
            raise ValueError(f"classes is empty: give the classes to keep, among {names}.")
        kept: list[int] = []
        for item in classes:
            if isinstance(item, int) and not isinstance(item, bool):
                if not 0 <= item < len(names):
                    raise ValueError(f"classes: label {item} is out of range; the source has {len(names)} classes.")
                kept.append(item)
            elif item in names:
                kept.append(names.index(item))
            else:
                raise ValueError(f"classes: {item!r} is not a class of the source; its classes are {names}.")
        if len(set(kept)) != len(kept):
            raise ValueError(f"classes {classes} names a class twice.")
        self.source = source
        self.classes = sorted(kept)
        self._indices: dict[str, list[int]] = {}

    @property
    def kept_classnames(self) -> list[str]:
        """The names of the classes kept."""
        names = self.classnames
        return [names[i] for i in self.classes]

    def indices(self, split: Split) -> list[int]:
        """Positions in the wrapped split of the images kept.

        Read from the source's :meth:`~paint_lightning.data.sources.ImageSource.labels` where it
        has them, else from its items (which decodes every image once).

        Raises:
            ValueError: When no image of ``split`` belongs to the classes kept.
        """
        if split not in self._indices:
            labels = self.source.labels(split)
            if labels is None:
                data = self.source.dataset(split, None)
                labels = [int(data[i][1]) for i in range(len(data))]  # type: ignore[arg-type]
            keep = set(self.classes)
            self._indices[split] = [i for i, label in enumerate(labels) if int(label) in keep]
            if not self._indices[split]:
                raise ValueError(
                    f"the {split} split of {type(self.source).__name__} has no image of the classes "
                    f"{self.kept_classnames}."
                )
        return self._indices[split]

    def labels(self, split: Split) -> list[int] | None:
        """The labels of the images kept."""
        labels = self.source.labels(split)
        if labels is None:
            return None
        return [int(labels[i]) for i in self.indices(split)]

    def image_ids(self, split: Split) -> list[str] | None:
        """The identities of the images kept (see :meth:`ImageSource.image_ids`)."""
        ids = self.source.image_ids(split)
        return None if ids is None else [ids[i] for i in self.indices(split)]

    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """The wrapped split, restricted to the classes kept."""
        return Subset(self.source.dataset(split, transform), self.indices(split))

    def describe(self) -> dict[str, Any]:
        """The wrapped source and the classes kept."""
        inner = inline_description(self.source)
        return {"source": type(self).__name__, "subset_of": inner, "classes": self.kept_classnames}

    def fingerprint(self, split: Split) -> str:
        """Changes with the wrapped split's fingerprint and with the classes kept."""
        return fingerprint_json({"describe": self.describe(), "inner": self.source.fingerprint(split)})
