"""Shared set-up of the benchmarks: models, data, timing and the result lines.

Every benchmark times two things side by side in one process, interleaving repetitions
(A B, B A, A B ...) and comparing medians, because the machines we run on are shared and noisy.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Trainer
from PIL import Image, ImageDraw, ImageFilter
from torch.utils.data import Dataset

from paint_lightning import CLIPSource, ImageSource, InterpolationSweep, PaintDataModule, PaintModule
from paint_lightning.data.sources import Split, Transform

# Intra-op threads of the main process. One thread is far steadier than two on a 2-core machine
# that other jobs share (OpenMP threads spin-wait for each other when a core is taken away).
THREADS = int(os.environ.get("BENCH_THREADS", "1"))

# Image towers (open_clip ``vision_cfg`` pieces); every model gets the same small text tower.
SWEEP_TOWER: dict[str, int] = {"image_size": 32, "patch_size": 8, "width": 64, "layers": 2, "head_width": 32}
TRAIN_TOWER: dict[str, int] = {"image_size": 32, "patch_size": 8, "width": 128, "layers": 4, "head_width": 32}
WORLD_TOWER: dict[str, int] = {"image_size": 32, "patch_size": 8, "width": 256, "layers": 4, "head_width": 64}
BIG_TOWER: dict[str, int] = {"image_size": 32, "patch_size": 16, "width": 768, "layers": 8, "head_width": 64}
TEXT_CFG: dict[str, int] = {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}

ALPHAS: list[float] = [round(0.1 * i, 1) for i in range(11)]


def configure() -> None:
    """Fixes threads and silences Lightning's banners and known third-party warnings."""
    torch.set_num_threads(THREADS)
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "paint_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def clip_config(tower: dict[str, int], embed_dim: int = 64) -> dict[str, Any]:
    """An inline open_clip config with ``tower`` as the image tower."""
    return {"embed_dim": embed_dim, "vision_cfg": dict(tower), "text_cfg": dict(TEXT_CFG)}


def build_module(tower: dict[str, int], seed: int = 0, **kwargs: Any) -> PaintModule:
    """A randomly initialised PaintModule (product defaults unless ``kwargs`` say otherwise)."""
    torch.manual_seed(seed)
    kwargs.setdefault("head_cache_dir", None)
    return PaintModule(CLIPSource(config=clip_config(tower)), **kwargs)


def tower_params(module: PaintModule) -> int:
    """Parameters of the live image tower."""
    return sum(p.numel() for p in module.clip.visual.parameters())


@torch.no_grad()
def simulate_finetuning(module: PaintModule, scale: float = 0.02, seed: int = 0) -> None:
    """Moves the live image tower away from zero-shot, as fine-tuning would (timing is unaffected)."""
    generator = torch.Generator().manual_seed(seed)
    for param in module.clip.visual.parameters():
        param.add_(torch.randn(param.shape, generator=generator).to(param) * scale)


def attach(module: PaintModule, datamodule: PaintDataModule, root: Path, **kwargs: Any) -> Trainer:
    """A Trainer with ``module`` and ``datamodule`` set up (a fit of zero steps), nothing decoded.

    Lets a benchmark call ``InterpolationSweep.sweep(trainer, module)`` exactly as the callback does.
    """
    kwargs.setdefault("accelerator", "cpu")
    trainer = Trainer(
        devices=1,
        max_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=root,
        **kwargs,
    )
    trainer.fit(module, datamodule)
    return trainer


def new_sweep(trainer: Trainer, module: PaintModule) -> InterpolationSweep:
    """A fresh callback (no remembered zero-shot counts, so a sweep evaluates all 11 alphas), set up
    as the Trainer would set it up (its ``setup`` hook checks the pair and resolves the output folder)."""
    callback = InterpolationSweep(alphas=ALPHAS, export=False, final_test=False, log_figures=False)
    callback.setup(trainer, module, "fit")
    return callback


# -- data ----------------------------------------------------------------------------------------


def photo_like(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A smooth colour field with blurred shapes and sensor-like noise (compresses like a photo)."""
    base = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((width, height), Image.BICUBIC)
    draw = ImageDraw.Draw(base)
    for _ in range(6):
        x, y = rng.integers(0, width), rng.integers(0, height)
        w, h = rng.integers(width // 8, width // 2), rng.integers(height // 8, height // 2)
        draw.ellipse([x, y, x + w, y + h], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    pixels = np.asarray(base.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.int16)
    pixels = pixels + rng.normal(0, 6, pixels.shape).astype(np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def write_image_folder(
    root: Path, num_classes: int, per_class: dict[str, int], sizes: tuple[int, int] = (160, 256), seed: int = 0
) -> Path:
    """Writes ``root/<split>/<class>/*.jpg`` (JPEG quality 90, sides drawn from ``sizes``)."""
    rng = np.random.default_rng(seed)
    for split, count in per_class.items():
        for label in range(num_classes):
            folder = root / split / f"class_{label}"
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                width, height = (int(s) for s in rng.integers(sizes[0], sizes[1] + 1, 2))
                photo_like(rng, width, height).save(folder / f"{index:05d}.jpg", quality=90)
    return root


def folder_bytes(root: Path) -> int:
    """Bytes of all files under ``root``."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


class TensorImageSource(ImageSource):
    """Preprocessed images (float tensors) drawn from a fixed pool: data that costs ~nothing.

    Use with identity transforms (``PaintDataModule.set_transforms``) to time the model alone.
    """

    def __init__(self, num_classes: int, num_train: int, num_test: int, image_size: int, pool: int = 256) -> None:
        generator = torch.Generator().manual_seed(0)
        self.pool = torch.randn(pool, 3, image_size, image_size, generator=generator)
        self.num_classes = num_classes
        self.sizes = {"train": num_train, "test": num_test}

    @property
    def classnames(self) -> list[str]:
        """``class 0``, ``class 1``..."""
        return [f"class {i}" for i in range(self.num_classes)]

    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """Items ``(pool[i % pool_size], i % num_classes)``."""
        return _PoolDataset(self, self.sizes[split], transform)


class _PoolDataset(Dataset):
    def __init__(self, source: TensorImageSource, size: int, transform: Transform | None) -> None:
        self.source, self.size, self.transform = source, size, transform

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.source.pool[index % len(self.source.pool)]
        return (self.transform(image) if self.transform else image), index % self.source.num_classes


def identity(x: Any) -> Any:
    """A transform that leaves its input alone (picklable, for worker processes)."""
    return x


# -- timing and results --------------------------------------------------------------------------


def interleave(cases: dict[str, Callable[[], float]], reps: int, label: str) -> dict[str, list[float]]:
    """Runs each case ``reps`` times, interleaved A B, B A, A B ... (so drifting load hits all cases
    alike); each case returns its measured seconds."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for rep in range(reps):
        names = list(cases) if rep % 2 == 0 else list(reversed(cases))
        for name in names:
            seconds = cases[name]()
            times[name].append(seconds)
            print(f"  {label}: rep {rep + 1}/{reps} {name}: {seconds:.3f} s", flush=True)
    return times


def median(values: list[float]) -> float:
    """Median."""
    return statistics.median(values)


def paired_ratio(numerators: list[float], denominators: list[float]) -> float:
    """Median of the ratios of repetitions run next to each other (robust to slow load drift)."""
    return median([a / b for a, b in zip(numerators, denominators, strict=True)])


class Stopwatch:
    """Wall-clock seconds of a ``with`` block (synchronising CUDA at both ends when it is used)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __enter__(self) -> Stopwatch:
        sync()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        sync()
        self.seconds = time.perf_counter() - self._start


def sync() -> None:
    """Waits for queued CUDA work, if CUDA is in use."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


@dataclass
class Result:
    """One benchmark's verdict: ``<name> <measured> <op> <target> OK|MISS|SKIP``."""

    name: str
    measured: float | None
    op: str
    target: float
    unit: str = "x"
    skip_reason: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)  # other targets missed: each makes the line MISS

    @property
    def status(self) -> str:
        """OK, MISS or SKIP."""
        if self.measured is None:
            return "SKIP"
        passed = self.measured >= self.target if self.op == ">=" else self.measured <= self.target
        return "OK" if passed and not self.misses else "MISS"

    def line(self) -> str:
        """The final line."""
        measured = "n/a" if self.measured is None else f"{self.measured:.{1 if self.measured >= 10 else 2}f}{self.unit}"
        line = f"{self.name} {measured} {self.op} {_number(self.target)}{self.unit} {self.status}"
        notes = "; ".join(([self.skip_reason] if self.skip_reason else []) + self.misses)
        return f"{line} ({notes})" if notes else line

    def report(self) -> str:
        """The details, one per line, then the final line."""
        lines = [f"  {key}: {value}" for key, value in self.details.items()]
        return "\n".join([f"[{self.name}]", *lines, self.line()])


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.1f}"
