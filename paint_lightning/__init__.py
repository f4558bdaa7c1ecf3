"""paint-lightning: patch open-vocabulary models (open_clip CLIP) by interpolating weights (PAINT)."""

from paint_lightning.callbacks import InterpolationSweep
from paint_lightning.data import CSVSource, ImageFolderSource, ImageSource, PaintDataModule, Task
from paint_lightning.models import CLIPSource, PaintModule

__version__ = "0.1.0"

__all__ = [
    "CLIPSource",
    "CSVSource",
    "ImageFolderSource",
    "ImageSource",
    "InterpolationSweep",
    "PaintDataModule",
    "PaintModule",
    "Task",
    "__version__",
]
