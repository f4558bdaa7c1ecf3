"""The registry: data set key -> source class, and how a task's short form builds one."""

from __future__ import annotations

import difflib
import inspect
from typing import Any

from paint_lightning.data.registry.arrays import CIFAR10, CIFAR100, MNIST, STL10, SVHN, FashionMNIST
from paint_lightning.data.registry.base import RegistrySource
from paint_lightning.data.registry.imagenet import ImageNet
from paint_lightning.data.registry.imagenet_shifts import ImageNetA, ImageNetR, ImageNetSketch, ImageNetV2
from paint_lightning.data.registry.kitti import KittiDistance
from paint_lightning.data.registry.mtsd import MTSD
from paint_lightning.data.registry.objectnet import ObjectNet
from paint_lightning.data.registry.seeded_splits import RESISC45, SUN397, EuroSAT
from paint_lightning.data.registry.torchvision_files import DTD, GTSRB, CLEVRCount, Food101, StanfordCars

#: The paper's nine patching tasks (a linear probe beats zero-shot CLIP there by over 10 points).
PATCHING_TASKS = ("cars", "dtd", "eurosat", "gtsrb", "kitti_distance", "mnist", "resisc45", "sun397", "svhn")
#: The paper's support tasks (zero-shot CLIP is strong there; patching must keep them).
SUPPORT_TASKS = ("imagenet", "cifar10", "cifar100", "stl10", "food101")
#: Data sets of the paper's applications (broad transfer, counting).
APPLICATION_TASKS = ("fashion_mnist", "clevr_count", "mtsd")
#: ImageNet's distribution shifts (WiSE-FT's protocol): test-only, watched as transfer tasks.
SHIFT_TASKS = ("imagenet_v2", "imagenet_r", "imagenet_a", "imagenet_sketch", "objectnet")

REGISTRY: dict[str, type[RegistrySource]] = {
    cls.key: cls
    for cls in (
        StanfordCars,
        DTD,
        EuroSAT,
        GTSRB,
        KittiDistance,
        MNIST,
        RESISC45,
        SUN397,
        SVHN,
        ImageNet,
        CIFAR10,
        CIFAR100,
        STL10,
        Food101,
        FashionMNIST,
        CLEVRCount,
        MTSD,
        ImageNetV2,
        ImageNetR,
        ImageNetA,
        ImageNetSketch,
        ObjectNet,
    )
}


def names() -> list[str]:
    """Registry keys: patching tasks, support tasks, the applications' data sets, then ImageNet's shifts."""
    return list(REGISTRY)


def options_of(key: str) -> list[str]:
    """The per-data-set options of ``key`` (keyword arguments beyond ``root`` and ``download``)."""
    parameters = inspect.signature(REGISTRY[key]).parameters
    return [name for name in parameters if name not in ("self", "root", "download")]


def build_source(
    dataset: str,
    root: str | None = None,
    download: bool = False,
    options: dict[str, Any] | None = None,
    field: str = "",
) -> RegistrySource:
    """The registry source ``dataset`` with its root, download flag and options.

    Raises:
        ValueError: Naming ``field`` (e.g. ``task 'cars'``), for an unknown data set or option.
    """
    where = f"{field}: " if field else ""
    if dataset not in REGISTRY:
        close = difflib.get_close_matches(str(dataset), REGISTRY, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"{where}dataset={dataset!r} is not a registry data set.{hint} Known: {', '.join(REGISTRY)} "
            "(docs/datasets.md); for other data use an image folder or a CSV source (class_path form)."
        )
    options = dict(options or {})
    allowed = options_of(dataset)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        known = ", ".join(allowed) if allowed else "none"
        raise ValueError(f"{where}options {unknown} are not options of dataset {dataset!r} (its options: {known}).")
    return REGISTRY[dataset](root=root, download=download, **options)
