"""paint-lightning: patch open-vocabulary models (open_clip CLIP) by interpolating weights (PAINT).

The interpolation primitives a library user comes for, without the training framework:

* :func:`interpolate`: PAINT's ``(1 - alpha) * zs + alpha * ft`` on two state dicts;
* :class:`Mix`, :class:`Endpoints` and :func:`combine`: any mix of several end points, scalar or
  per parameter group (``combine(Endpoints(zs, [ft_a, ft_b]), Mix.of(0.3, 0.5))``);
* :func:`merge_end_point`: several fine-tuned models merged into one end point (task arithmetic,
  TIES, Iso-C, TSV);
* :func:`export_patched`, :func:`load_patched` and :func:`load_patched_model`: a patched model
  on disk (open_clip-loadable safetensors plus checked metadata).

Example:
    >>> import torch
    >>> import paint_lightning as pl
    >>> zs, ft = {"w": torch.zeros(2)}, {"w": torch.ones(2)}
    >>> pl.interpolate(zs, ft, 0.5)["w"]
    tensor([0.5000, 0.5000])
    >>> pl.combine(pl.Endpoints(zs, [ft]), pl.Mix.of(0.5))["w"]
    tensor([0.5000, 0.5000])
"""

from paint_lightning.callbacks import InterpolationSweep
from paint_lightning.data import CSVSource, ImageFolderSource, ImageSource, PaintDataModule, Task
from paint_lightning.interpolation.combine import Endpoints, combine
from paint_lightning.interpolation.merges import merge_end_point
from paint_lightning.interpolation.mix import Mix
from paint_lightning.interpolation.paint import interpolate
from paint_lightning.io.patched import export_patched, load_patched, load_patched_model
from paint_lightning.models import CLIPSource, PaintModule

__version__ = "0.1.0"

__all__ = [
    "CLIPSource",
    "CSVSource",
    "Endpoints",
    "ImageFolderSource",
    "ImageSource",
    "InterpolationSweep",
    "Mix",
    "PaintDataModule",
    "PaintModule",
    "Task",
    "__version__",
    "combine",
    "export_patched",
    "interpolate",
    "load_patched",
    "load_patched_model",
    "merge_end_point",
]
