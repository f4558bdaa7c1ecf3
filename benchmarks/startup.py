"""startup: time and memory per file from building the DataModule to the first training batch.

Set-up: a generated image folder (``train/<class>/*.png`` and ``test/<class>/*.png``, up to 1000
classes, 1 file in 25 a test file as in ImageNet) and label files listing the same images
(``train.csv``, ``test.csv``); every file holds the same tiny PNG (start-up reads file lists, not
pixels). ``--files`` counts train and test files together.

Measure: each (source, size) in a fresh child process, after its imports: the wall time from
building the task's source and the :class:`~paint_lightning.PaintDataModule` (which lists the
splits, carves the held-out part and checks that no split shares images), through
``setup("fit")``, the data provenance (the fingerprints a checkpoint records) and the first
training batch (128 images, no workers); and the peak extra resident memory over the same span
(``VmHWM - VmRSS`` before it, the peak reset with ``/proc/self/clear_refs``). Two sizes (a quarter of
``--files`` and ``--files``) show whether the cost per file stays flat (linear growth); the final
line is the larger run's cost per file of the slower source, in microseconds (target <= 40 us per
file on local disk, i.e. under a minute for ImageNet's 1.28M train files), and the projection to
1.28M files is printed beside it.

Usage: ``python benchmarks/startup.py [--files 200000] [--dir DIR]`` (``--smoke``: 2,000 files).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Result

TARGET = 40.0  # microseconds per file
IMAGENET = 1_281_167  # ImageNet-1k train images
SOURCES = ("folder", "csv")
STAGES = ("construct", "setup", "provenance", "first_batch")


def tiny_png() -> bytes:
    """A 4x4 RGB PNG (every generated file holds these bytes)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def generate(root: Path, files: int) -> None:
    """``files`` images under ``root`` (folder layout) and ``train.csv`` / ``test.csv`` listing them."""
    marker = root / "files.txt"
    if marker.is_file() and marker.read_text() == str(files):
        return  # made by an earlier run
    shutil.rmtree(root, ignore_errors=True)
    data = tiny_png()
    test = max(files // 25, 2)
    classes = max(2, min(1000, files // 50))
    for split, count in (("train", files - test), ("test", test)):
        rows = ["path,label"]
        for name in (f"c{c:04d}" for c in range(classes)):
            (root / split / name).mkdir(parents=True)
        for i in range(count):
            name = f"c{i % classes:04d}"
            relative = f"{split}/{name}/{i:07d}.png"
            with open(root / relative, "wb") as handle:
                handle.write(data)
            rows.append(f"{relative},{name}")
        (root / f"{split}.csv").write_text("\n".join(rows) + "\n")
    marker.write_text(str(files))


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def child(kind: str, root: str) -> dict[str, float]:
    """One measurement (run in a fresh process): seconds per stage and peak extra MiB."""
    import logging
    import warnings

    from torchvision import transforms as T

    from paint_lightning import PaintDataModule, Task
    from paint_lightning.data.csv_source import CSVSource
    from paint_lightning.data.folder import ImageFolderSource

    logging.getLogger("paint_lightning").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
    before = _status_kib("VmRSS")
    times = [time.perf_counter()]
    source = ImageFolderSource(root) if kind == "folder" else CSVSource(f"{root}/train.csv", f"{root}/test.csv")
    datamodule = PaintDataModule(patch=[Task("bench", source, templates=["a {}."])], batch_size=128, num_workers=0)
    times.append(time.perf_counter())
    datamodule.set_transforms(T.ToTensor(), T.ToTensor())
    datamodule.setup("fit")
    times.append(time.perf_counter())
    datamodule.provenance()
    times.append(time.perf_counter())
    images, _, _ = next(iter(datamodule.train_dataloader()))
    times.append(time.perf_counter())
    assert images.shape[0] == min(128, len(datamodule.train_set))  # type: ignore[arg-type]
    out = {stage: times[i + 1] - times[i] for i, stage in enumerate(STAGES)}
    out["total"] = times[-1] - times[0]
    out["mib"] = (_status_kib("VmHWM") - before) / 1024
    return out


def measure(kind: str, root: Path) -> dict[str, float]:
    """:func:`child` in a fresh interpreter (no caches or memory left by another measurement)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), *sys.path])}
    command = [sys.executable, __file__, "--child", kind, str(root)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{kind} at {root} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def run(files: int = 200_000, folder: str | None = None) -> Result:
    """The benchmark line: microseconds per file at ``files`` files (the slower source), with every figure."""
    base = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="paint-startup-"))
    try:
        sizes = (max(files // 4, 100), files)
        rows: dict[int, dict[str, dict[str, float]]] = {}
        for size in sizes:
            root = base / f"files{size}"
            generate(root, size)
            rows[size] = {kind: measure(kind, root) for kind in SOURCES}
    finally:
        if not folder:
            shutil.rmtree(base, ignore_errors=True)
    details = {"set-up": f"{sizes[0]} and {sizes[1]} tiny PNG files (train + test), folder and CSV sources"}
    for kind in SOURCES:
        small, large = (rows[size][kind] for size in sizes)
        per_small, per_large = (1e6 * r["total"] / size for r, size in ((small, sizes[0]), (large, sizes[1])))
        stages = ", ".join(f"{stage} {large[stage]:.3f}" for stage in STAGES)
        details[kind] = (
            f"{large['total']:.3f} s for {sizes[1]} files = {per_large:.1f} us/file ({stages} s); "
            f"{small['total']:.3f} s for {sizes[0]} = {per_small:.1f} us/file; growth {per_large / per_small:.2f}x "
            f"per file; peak +{large['mib']:.1f} MiB = {large['mib'] * 2**20 / sizes[1]:.0f} B/file; "
            f"1.28M files: {per_large * IMAGENET / 1e6:.0f} s, {large['mib'] * IMAGENET / sizes[1] / 1024:.2f} GiB"
        )
    worst = max(1e6 * rows[sizes[1]][kind]["total"] / sizes[1] for kind in SOURCES)
    return Result("startup", worst, "<=", TARGET, unit="us", details=details)


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--files", type=int, default=200_000, help="train + test files of the larger run")
        parser.add_argument("--dir", default=None, help="where to generate (kept and reused); default: a temp dir")
        parser.add_argument("--smoke", action="store_true", help="2,000 files (seconds)")
        cli = parser.parse_args()
        result = run(2_000 if cli.smoke else cli.files, cli.dir)
        print(result.report())
        sys.exit(0 if result.status != "MISS" else 1)
