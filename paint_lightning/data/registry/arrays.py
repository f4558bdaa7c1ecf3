"""Data sets stored as arrays, read by torchvision: MNIST, FashionMNIST, SVHN, CIFAR-10/100, STL-10.

All have official train and test splits (held-out images are carved from train); torchvision
downloads them (``download: true`` or ``paint data download``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from torchvision import datasets as tv
from torchvision.datasets import utils as tv_utils

from paint_lightning.data.registry.base import RegistrySource
from paint_lightning.data.registry.split_index import SplitIndex
from paint_lightning.data.sources import Split


class _TorchvisionArrays(RegistrySource):
    """A torchvision data set with a ``train``/``test`` choice and integer labels in memory."""

    downloadable = True
    tv_class: ClassVar[Any]
    labels_attr: ClassVar[str] = "targets"

    def split_kwargs(self, split: Split) -> dict[str, Any]:
        """Torchvision's constructor arguments selecting ``split``."""
        return {"train": split == "train"}

    def tv_root(self) -> str:
        """The folder torchvision is given (the data root; the class adds its own sub-folder)."""
        return str(self._require_root())

    def _index(self, split: Split) -> SplitIndex:
        arrays = self.torchvision(
            lambda: self.tv_class(self.tv_root(), **self.split_kwargs(split)), f"the {split} split is not readable"
        )
        raw = getattr(arrays, self.labels_attr)
        labels = [int(label) for label in (raw.tolist() if hasattr(raw, "tolist") else raw)]
        return SplitIndex(labels=labels, arrays=arrays)

    def _fetch(self) -> None:
        for split in self.splits:
            self.tv_class(self.tv_root(), download=True, **self.split_kwargs(split))

    def checksummed_files(self) -> list[tuple[str, str]]:
        """``(file in the data set's folder, MD5)`` of every file torchvision checks (none for MNIST)."""
        listed = [*getattr(self.tv_class, "train_list", []), *getattr(self.tv_class, "test_list", [])]
        meta = getattr(self.tv_class, "meta", None)
        if isinstance(meta, dict):  # CIFAR's class-name file, checked when the data set is read
            listed.append([meta["filename"], meta["md5"]])
        return [(str(name), str(md5)) for name, md5 in listed]

    def absent_files(self) -> list[str]:
        """The checked files that are not in the data set's folder."""
        return [name for name, _ in self.checksummed_files() if not (self.data_dir / name).is_file()]

    def failed_checksums(self, err: Exception) -> list[tuple[str, str]]:
        """The checked files that are present but whose MD5 sum is not torchvision's."""
        failed = []
        for name, md5 in self.checksummed_files():
            path = self.data_dir / name
            if path.is_file() and not tv_utils.check_integrity(str(path), md5):
                failed.append((name, md5))
        return failed


class MNIST(_TorchvisionArrays):
    """MNIST handwritten digits: 60,000 train / 10,000 test, 10 classes (torchvision ``MNIST``)."""

    key = "mnist"
    folder = "MNIST"
    tv_class = tv.MNIST
    layout_text = """
raw/train-images-idx3-ubyte   raw/train-labels-idx1-ubyte
raw/t10k-images-idx3-ubyte    raw/t10k-labels-idx1-ubyte
"""
    obtain_text = "torchvision downloads it (mirrors of http://yann.lecun.com/exdb/mnist/)."


class FashionMNIST(MNIST):
    """Fashion-MNIST: 60,000 train / 10,000 test, 10 classes (torchvision ``FashionMNIST``)."""

    key = "fashion_mnist"
    folder = "FashionMNIST"
    tv_class = tv.FashionMNIST
    obtain_text = "torchvision downloads it (http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/)."


class SVHN(_TorchvisionArrays):
    """SVHN cropped digits: 73,257 train / 26,032 test, 10 classes (torchvision ``SVHN``; label 10 is 0)."""

    key = "svhn"
    folder = "svhn"
    tv_class = tv.SVHN
    labels_attr = "labels"
    layout_text = "train_32x32.mat\ntest_32x32.mat"
    obtain_text = "torchvision downloads it (http://ufldl.stanford.edu/housenumbers/); MD5-checked."

    def split_kwargs(self, split: Split) -> dict[str, Any]:
        """SVHN takes ``split=``."""
        return {"split": split}

    def checksummed_files(self) -> list[tuple[str, str]]:
        """The train and test ``.mat`` files and their MD5 sums."""
        return [(tv.SVHN.split_list[split][1], tv.SVHN.split_list[split][2]) for split in self.splits]

    def tv_root(self) -> str:
        """Torchvision's SVHN reads its files straight from the folder it is given."""
        return str(self.data_dir)


class CIFAR10(_TorchvisionArrays):
    """CIFAR-10: 50,000 train / 10,000 test, 10 classes (torchvision ``CIFAR10``)."""

    key = "cifar10"
    folder = "cifar-10-batches-py"
    tv_class = tv.CIFAR10
    layout_text = "data_batch_1 ... data_batch_5, test_batch, batches.meta"
    obtain_text = "torchvision downloads it (https://www.cs.toronto.edu/~kriz/cifar.html); MD5-checked."


class CIFAR100(_TorchvisionArrays):
    """CIFAR-100: 50,000 train / 10,000 test, 100 classes (torchvision ``CIFAR100``, fine labels)."""

    key = "cifar100"
    folder = "cifar-100-python"
    tv_class = tv.CIFAR100
    layout_text = "train, test, meta"
    obtain_text = "torchvision downloads it (https://www.cs.toronto.edu/~kriz/cifar.html); MD5-checked."


class STL10(_TorchvisionArrays):
    """STL-10: 5,000 train / 8,000 test, 10 classes (torchvision ``STL10``, labelled images only)."""

    key = "stl10"
    folder = "stl10_binary"
    tv_class = tv.STL10
    labels_attr = "labels"
    layout_text = "train_X.bin, train_y.bin, test_X.bin, test_y.bin (unlabeled_X.bin is fetched too but unused)"
    obtain_text = "torchvision downloads it (https://cs.stanford.edu/~acoates/stl10/, 2.6 GB); MD5-checked."

    def split_kwargs(self, split: Split) -> dict[str, Any]:
        """STL10 takes ``split=``."""
        return {"split": split}
