"""ImageNet's distribution shifts (WiSE-FT's protocol): test-only data sets scored on their own class subsets.

ImageNet-V2, ImageNet-R, ImageNet-A and ImageNet-Sketch hold images of ImageNet classes (all 1,000,
or a subset of 200) and no training split. Each is a registry data set with only a ``test`` split,
usable as a ``transfer`` task (never trained on, never choosing alpha; see
:func:`paint_lightning.data.tasks.resolve_task`). Its zero-shot head has one row per class *of the
data set*: open_clip's ImageNet class names and templates restricted to its subset, labels in
ImageNet's order, so ImageNet-R and ImageNet-A are scored 200-way as in their papers and WiSE-FT.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

from paint_lightning.data.registry import prompts
from paint_lightning.data.registry.base import RegistrySource
from paint_lightning.data.registry.imagenet_wnids import IMAGENET_A_INDICES, IMAGENET_R_INDICES, IMAGENET_WNIDS
from paint_lightning.data.registry.split_index import SplitIndex, sorted_files
from paint_lightning.data.sources import Split

_SHOWN = 5  # folder names shown in a message


class ImageNetSubset(RegistrySource):
    """A test-only data set of ImageNet classes: one folder per class, named by the subclass's ``folder_names``.

    Subclasses set ``imagenet_indices`` (the ImageNet labels of their classes, ascending: the head's
    label order) and, where the folders are not WordNet ids, :meth:`folder_names`.
    """

    official_splits: ClassVar[tuple[Split, ...]] = ("test",)
    imagenet_indices: ClassVar[tuple[int, ...]] = tuple(range(1000))
    images_subfolder: ClassVar[str] = ""  # the class folders lie in <folder>/<images_subfolder>
    extra_folders_allowed: ClassVar[bool] = False  # class folders outside the subset are skipped, not refused

    @property
    def classnames(self) -> list[str]:
        """open_clip's ImageNet class names of this data set's classes, in label order."""
        names = prompts.load("imagenet").classnames
        return [names[i] for i in self.imagenet_indices]

    @property
    def templates(self) -> list[str]:
        """open_clip's 80 ImageNet templates (CLIP's)."""
        return list(prompts.load("imagenet").templates)

    def folder_names(self) -> list[str]:
        """The class folder of each label, in label order (WordNet ids here)."""
        return [IMAGENET_WNIDS[i] for i in self.imagenet_indices]

    @property
    def images_dir(self) -> Path:
        """The folder holding the class folders."""
        return self.data_dir / self.images_subfolder if self.images_subfolder else self.data_dir

    def _index(self, split: Split) -> SplitIndex:
        folder = self.images_dir
        if not folder.is_dir():
            raise self.missing(f"{folder} not found")
        expected = {name: label for label, name in enumerate(self.folder_names())}
        found = {p.name for p in folder.iterdir() if p.is_dir()}
        lacking = sorted(set(expected) - found, key=list(expected).index)
        extra = [] if self.extra_folders_allowed else sorted(found - set(expected))
        if lacking or extra:
            wrong = [f"{len(lacking)} of the {len(expected)} expected are missing {lacking[:_SHOWN]}"] * bool(lacking)
            wrong += [f"{len(extra)} are not classes of this data set {extra[:_SHOWN]}"] * bool(extra)
            raise self.missing(
                f"{folder} has {len(found)} class folders; {' and '.join(wrong)}: the copy is incomplete or in another "
                "layout (accuracy on part of the classes, or with wrong labels, would not be the data set's)"
            )
        try:
            pairs = make_dataset(str(folder), expected, extensions=IMG_EXTENSIONS)
        except FileNotFoundError as err:  # a class folder without images
            raise self.missing(f"{folder}: {err}") from err
        files, labels = sorted_files(pairs)
        return SplitIndex(labels, files, self.data_dir)


class ImageNetV2(ImageNetSubset):
    """ImageNet-V2 (matched frequency): 10,000 test images, 10 per ImageNet class, in folders ``0`` to ``999``."""

    key = "imagenet_v2"
    folder = "imagenetv2-matched-frequency-format-val"
    duplicate_classnames = True  # all 1,000 ImageNet names, CLIP's two repeated pairs included
    layout_text = """
0/<hash>.jpeg ... 999/<hash>.jpeg   (1,000 folders named by ImageNet label, 0 to 999; 10 images each)
"""
    obtain_text = """Manual: download imagenetv2-matched-frequency.tar.gz from https://huggingface.co/datasets/vaishaal/ImageNetV2
(linked from https://github.com/modestyachts/ImageNetV2) and extract it in the root: it makes the folder above."""

    def folder_names(self) -> list[str]:
        """Folders are the ImageNet labels as numbers, ``0`` to ``999``."""
        return [str(i) for i in self.imagenet_indices]


class ImageNetSketch(ImageNetSubset):
    """ImageNet-Sketch: 50,889 black-and-white sketches, about 50 per ImageNet class, in WordNet-id folders."""

    key = "imagenet_sketch"
    folder = "sketch"
    duplicate_classnames = True  # all 1,000 ImageNet names, CLIP's two repeated pairs included
    layout_text = """
n01440764/n01440764_1.JPEG ...   (1,000 WordNet-id folders, as ImageNet's)
"""
    obtain_text = """Manual: download ImageNet-Sketch.zip (https://github.com/HaohanWang/ImageNet-Sketch, or
https://huggingface.co/datasets/imagenet_sketch) and extract it in the root: it makes sketch/<wnid>/."""


class ImageNetR(ImageNetSubset):
    """ImageNet-R(endition): 30,000 art, cartoon, sculpture... images of 200 ImageNet classes, scored 200-way."""

    key = "imagenet_r"
    folder = "imagenet-r"
    imagenet_indices = IMAGENET_R_INDICES
    layout_text = """
n01443537/<image>.jpg ...   (200 WordNet-id folders: ImageNet-R's 200 classes)
"""
    obtain_text = """Manual: download imagenet-r.tar from https://github.com/hendrycks/imagenet-r
(https://people.eecs.berkeley.edu/~hendrycks/imagenet-r.tar) and extract it in the root: it makes imagenet-r/<wnid>/."""


class ImageNetA(ImageNetSubset):
    """ImageNet-A(dversarial): 7,500 natural images that fool ResNets, of 200 ImageNet classes, scored 200-way."""

    key = "imagenet_a"
    folder = "imagenet-a"
    imagenet_indices = IMAGENET_A_INDICES
    layout_text = """
n01498041/<image>.jpg ...   (200 WordNet-id folders: ImageNet-A's 200 classes)
README.txt
"""
    obtain_text = """Manual: download imagenet-a.tar from https://github.com/hendrycks/natural-adv-examples
(https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar) and extract it in the root: it makes imagenet-a/<wnid>/."""
