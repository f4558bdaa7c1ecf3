"""ImageNet (ILSVRC 2012), the paper's main support task; its class names and templates are open_clip's."""

from __future__ import annotations

import re

from torchvision import datasets as tv
from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset
from torchvision.datasets.imagenet import ARCHIVE_META

from paint_lightning.data.registry.base import RegistrySource
from paint_lightning.data.registry.split_index import SplitIndex, sorted_files
from paint_lightning.data.sources import Split


class ImageNet(RegistrySource):
    """ImageNet-1k: 1,281,167 train / 50,000 test (the official validation set), 1,000 classes.

    Reads the extracted folders ``train/<wnid>/*.JPEG`` and ``val/<wnid>/*.JPEG`` (the layout of the
    PyTorch ImageNet example, and what torchvision's ``ImageNet`` makes of the archives). When the
    folders are missing but the three official archives are there, torchvision extracts them on
    first use (once; it takes a while). Labels are the sorted WordNet ids, the order of open_clip's
    ImageNet class names. The held-out images that choose alpha are carved from train.
    """

    key = "imagenet"
    folder = "imagenet"
    # CLIP's curated names (open_clip's IMAGENET_CLASSNAMES) call classes 657 and 744 "missile" and 836 and
    # 837 "sunglasses"; the standard zero-shot protocol keeps them (their head rows are equal).
    duplicate_classnames = True
    layout_text = """
train/n01440764/n01440764_10026.JPEG ...   (1,000 WordNet-id folders)
val/n01440764/ILSVRC2012_val_00000293.JPEG ...
  -- or, to be extracted by torchvision on first use --
ILSVRC2012_img_train.tar, ILSVRC2012_img_val.tar, ILSVRC2012_devkit_t12.tar.gz
"""
    obtain_text = """Manual (licence): register at https://image-net.org/download-images.php, download the three
archives above (ILSVRC 2012) into imagenet/; they are extracted on first use. A flat val/ folder must be sorted into
<wnid> folders (torchvision does it from the archives). Without ImageNet, use the lighter support set
(CIFAR-10, CIFAR-100, STL-10): add --config configs/paper/shared/support_light.yaml."""

    def _index(self, split: Split) -> SplitIndex:
        official = "train" if split == "train" else "val"
        folder = self.data_dir / official
        if not folder.is_dir():
            archives = ("ILSVRC2012_devkit_t12.tar.gz", f"ILSVRC2012_img_{official}.tar")
            if not all((self.data_dir / name).is_file() for name in archives):
                raise self.missing(f"neither {folder} nor the archives {', '.join(archives)} were found")
            self.torchvision(lambda: tv.ImageNet(str(self.data_dir), split=official), "the archives could not be read")
        classes = self._classes()
        found = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if found != classes:
            extra, lacking = sorted(set(found) - set(classes)), sorted(set(classes) - set(found))
            raise self.missing(
                f"{folder} has other class folders than train/ (extra {extra[:5]}, missing {lacking[:5]})"
            )
        pairs = make_dataset(str(folder), {wnid: i for i, wnid in enumerate(classes)}, extensions=IMG_EXTENSIONS)
        files, labels = sorted_files(pairs)
        return SplitIndex(labels, files, self.data_dir)

    def failed_checksums(self, err: Exception) -> list[tuple[str, str]]:
        """The archive torchvision found corrupted (it was checked to be there before torchvision read it)."""
        match = re.search(r"archive (\S+) is not present in the root directory or is corrupted", str(err))
        meta = {name: md5 for name, md5 in ARCHIVE_META.values()}
        if match and match.group(1) in meta and (self.data_dir / match.group(1)).is_file():
            return [(match.group(1), meta[match.group(1)])]
        return []

    def _classes(self) -> list[str]:
        train = self.data_dir / "train"
        if not train.is_dir():
            raise self.missing(f"{train} not found (its class folders define the labels)")
        classes = sorted(p.name for p in train.iterdir() if p.is_dir())
        self.expect_classes(classes, train)
        return classes
