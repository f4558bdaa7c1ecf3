"""The paper's data sets: a registry of sources with stored class names and prompt templates.

In a config, a registry task takes one line (``- {dataset: mnist, root: ~/data}``); see
``docs/datasets.md`` for every data set, its splits and how to obtain it, and ``paint data check``
to see what is on disk.
"""

from paint_lightning.data.registry.arrays import CIFAR10, CIFAR100, MNIST, STL10, SVHN, FashionMNIST
from paint_lightning.data.registry.base import DATA_ROOT_ENV, RegistrySource, resolve_root
from paint_lightning.data.registry.catalog import (
    APPLICATION_TASKS,
    PATCHING_TASKS,
    REGISTRY,
    SHIFT_TASKS,
    SUPPORT_TASKS,
    build_source,
    names,
    options_of,
)
from paint_lightning.data.registry.imagenet import ImageNet
from paint_lightning.data.registry.imagenet_shifts import ImageNetA, ImageNetR, ImageNetSketch, ImageNetV2
from paint_lightning.data.registry.kitti import KittiDistance
from paint_lightning.data.registry.missing import ChecksumError, DataNotFoundError, DownloadError
from paint_lightning.data.registry.mtsd import MTSD
from paint_lightning.data.registry.objectnet import ObjectNet
from paint_lightning.data.registry.seeded_splits import RESISC45, SUN397, EuroSAT
from paint_lightning.data.registry.torchvision_files import DTD, GTSRB, CLEVRCount, Food101, StanfordCars

__all__ = [
    "APPLICATION_TASKS",
    "CIFAR10",
    "CIFAR100",
    "DATA_ROOT_ENV",
    "DTD",
    "GTSRB",
    "MNIST",
    "MTSD",
    "PATCHING_TASKS",
    "REGISTRY",
    "RESISC45",
    "SHIFT_TASKS",
    "STL10",
    "SUN397",
    "SUPPORT_TASKS",
    "SVHN",
    "CLEVRCount",
    "ChecksumError",
    "DataNotFoundError",
    "DownloadError",
    "EuroSAT",
    "FashionMNIST",
    "Food101",
    "ImageNet",
    "ImageNetA",
    "ImageNetR",
    "ImageNetSketch",
    "ImageNetV2",
    "KittiDistance",
    "ObjectNet",
    "RegistrySource",
    "StanfordCars",
    "build_source",
    "names",
    "options_of",
    "resolve_root",
]
