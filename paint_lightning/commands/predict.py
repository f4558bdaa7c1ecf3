r"""``paint predict``: classify images with any model, at any alpha, against any class names.

.. code-block:: bash

    paint predict --run lightning_logs/version_0 --images photos/ --classnames cat dog bird
    paint predict --run lightning_logs/version_0 --alpha 0 --csv test.csv --classnames cat dog bird
    paint predict --clip.pretrained shipped/patched.safetensors --task '{dataset: cifar10, root: /data}'
    paint predict --clip.name ViT-B-32 --clip.pretrained openai --images a.jpg --classnames cat dog \
        --templates '["a photo of a {}.", "a drawing of a {}."]' --top_k 2 --output preds.json

The model is a run or its checkpoint (``--run``; at the run's alpha*, or ``--alpha``/``--mix``) or
any model source (``--clip.*``: zoo name and tag, open_clip file, an exported patched model). The
classes are any names (``--classnames``, with ``--templates``, default ``a photo of a {}.``),
classes never seen in fine-tuning included, or a task's own (``--task``, a task in the form a
config's ``data.patch`` list takes). The images are files, folders, globs (``--images``), a CSV
or JSONL list (``--csv``; a ``label`` column gives accuracy) or a task's split (``--task``,
``--split``). Writes the top-k classes with probabilities as CSV or JSON (by ``--output``'s
suffix; stdout as CSV when not given).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from paint_lightning.commands import config as cfg
from paint_lightning.commands.console import write_line
from paint_lightning.commands.export import add_extrapolation_flag, chosen_mix, coefficients, given_mix
from paint_lightning.commands.failures import config_phase
from paint_lightning.commands.images import ImageList, TaskImages, image_files, listed_images
from paint_lightning.commands.paths import check_output_file
from paint_lightning.commands.run_data import check_task_split
from paint_lightning.data.tasks import Task, TaskSpec, resolve_task
from paint_lightning.data.templates import check_classnames, resolve_templates
from paint_lightning.engine.local_measure import resolve_device
from paint_lightning.engine.mixed_state import state_at_mix
from paint_lightning.engine.protocol import patch_tensors
from paint_lightning.interpolation.mix import parameter_group
from paint_lightning.io.files import write_text
from paint_lightning.models.clip_source import CLIPSource
from paint_lightning.models.run_loading import load_run
from paint_lightning.models.source_loading import load_model

PREDICT_TASK = "predict"


def build_parser() -> Any:
    """The ``paint predict`` parser."""
    parser = cfg.new_parser("predict", __doc__)
    parser.add_argument(
        "--run", type=str | None, default=None, help="A run folder or its .ckpt (fine-tuned + zero-shot)."
    )
    parser.add_argument("--alpha", type=float | None, default=None, help="With --run: this alpha (default: alpha*).")
    parser.add_argument(
        "--mix", type=str | None, default=None, help='With --run: coefficients as JSON ({"embed": 0.2, "*": 0.5}).'
    )
    add_extrapolation_flag(parser)
    parser.add_class_arguments(CLIPSource, "clip", instantiate=False, fail_untyped=False, default=None)
    parser.add_argument(
        "--classnames", nargs="+", type=str, default=None, help="Class names: --classnames cat dog 'red car'."
    )
    parser.add_argument(
        "--templates", type=list[str] | str, default="simple", help="Prompt templates (each with {}) or a preset."
    )
    parser.add_argument(
        "--task", type=Task | None, default=None, help="A task (registry short form or source): its images and classes."
    )
    parser.add_argument("--split", type=str, default="test", help="With --task: train, val or test.")
    parser.add_argument("--images", nargs="+", type=str, default=None, help="Image files, folders or globs.")
    parser.add_argument(
        "--csv", type=str | None, default=None, help="CSV/TSV/JSONL list with a path (and label) column."
    )
    parser.add_argument("--top_k", type=int, default=5, help="Classes per image in the output.")
    parser.add_argument(
        "--output", type=str | None, default=None, help="preds.csv or preds.json (default: CSV on stdout)."
    )
    parser.add_argument("--batch_size", type=int, default=64, help="Images per forward pass.")
    parser.add_argument("--num_workers", type=int, default=0, help="Image-loading worker processes.")
    parser.add_argument("--device", type=str, default="auto", help="auto (GPU when there is one), cpu, cuda...")
    parser.add_argument(
        "--head_cache_dir", type=str | None, default=None, help="Cache of zero-shot heads (default: none)."
    )
    return parser


def predict_main(argv: Sequence[str]) -> None:
    """Runs ``paint predict`` (see the module docstring)."""
    config, init = cfg.parse(build_parser(), argv, "predict")
    clip = cfg.model_kwargs({"clip": config.clip}).get("clip") if config.get("clip") else None
    run_predict(init, clip)


def class_spec(classnames: list[str] | None, templates: list[str] | str, task: Task | None) -> TaskSpec:
    """The classes to score: ``--classnames`` (with ``--templates``), else the task's own."""
    if classnames is not None:
        names = check_classnames(classnames, "--classnames")
        return TaskSpec(PREDICT_TASK, "patch", names, resolve_templates(templates, "--templates"))
    if task is not None:
        spec = resolve_task(task, "patch", "--task")
        return TaskSpec(PREDICT_TASK, "patch", spec.classnames, spec.templates)
    raise ValueError("no classes: give --classnames (any names, with --templates) or --task (its own classes).")


def run_predict(init: Any, clip: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Classifies the images of ``init``; writes and returns one row per image."""
    device = resolve_device(init.device)
    if init.top_k < 1 or init.batch_size < 1:
        raise ValueError(f"--top_k={init.top_k} and --batch_size={init.batch_size} must be at least 1.")
    with config_phase():
        spec = class_spec(init.classnames, init.templates, init.task)
        given = [flag for flag in ("images", "csv", "task") if getattr(init, flag) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of --images, --csv or --task for the images to classify (got {given or 'none'})."
            )
        if init.output is not None:
            check_output_file(init.output, "--output")
        module, what = _model(init, clip, spec, device)
    images = _images(init, spec, module.preprocess_eval)
    loader = DataLoader(
        images, batch_size=init.batch_size, num_workers=init.num_workers, pin_memory=device.type == "cuda"
    )
    write_line(f"Classifying {len(images)} images into {len(spec.classnames)} classes with {what} on {device}")
    head = F.normalize(module.heads[PREDICT_TASK].float(), dim=-1) * module.clip.logit_scale.exp().float()
    k = min(init.top_k, len(spec.classnames))
    rows: list[dict[str, Any]] = []
    correct = known = 0
    from tqdm import tqdm

    with torch.no_grad():
        for batch, index, label in tqdm(loader, desc="predict", unit="batch", file=sys.stderr, disable=None):
            features = module.image_features(batch.to(device))
            probs = (features.float() @ head.to(device).t()).softmax(dim=-1)
            top = probs.topk(k, dim=-1)
            for row, i in enumerate(index.tolist()):
                true = int(label[row])
                classes = [spec.classnames[c] for c in top.indices[row].tolist()]
                rows.append(
                    {
                        "image": images.names[i],
                        "label": spec.classnames[true] if true >= 0 else None,
                        "top": [
                            {"class": c, "probability": round(float(p), 6)}
                            for c, p in zip(classes, top.values[row].tolist(), strict=True)
                        ],
                    }
                )
                if true >= 0:
                    known += 1
                    correct += int(top.indices[row, 0]) == true
    if known:
        write_line(f"Top-1 accuracy: {100.0 * correct / known:.2f}% ({correct}/{known} labelled images)")
    write_rows(rows, init.output, k)
    return rows


def _model(init: Any, clip: dict[str, Any] | None, spec: TaskSpec, device: torch.device) -> tuple[Any, str]:
    if (init.run is None) == (clip is None or not any(v is not None for v in clip.values())):
        raise ValueError(
            "give the model as --run <run folder or .ckpt>, or as --clip.* "
            "(e.g. --clip.pretrained patched.safetensors)."
        )
    if init.run is None:
        if init.alpha is not None or init.mix is not None:
            raise ValueError(
                "--alpha and --mix need --run (a model with a zero-shot and a fine-tuned end); --clip.* is one model."
            )
        module = load_model(clip, [spec], init.head_cache_dir, device)  # type: ignore[arg-type]
        return module, f"{clip.get('pretrained') or clip.get('name')}"  # type: ignore[union-attr]
    given = given_mix(init.alpha, init.mix, init.allow_extrapolation)
    loaded = load_run(init.run, device)
    if init.task is not None:
        check_task_split(loaded.provenance, init.task, init.split, "--run", init.run)
    mix = chosen_mix(given, loaded.selected, f"--run={init.run!r}")
    module = loaded.module
    module.set_tasks([*module.task_specs, spec], device=device)
    live, _ = patch_tensors(module)
    mix.check_groups([parameter_group(name) for name in live], "--mix")
    module.load_state_dict(state_at_mix(module, mix))  # the live tower now holds the mix
    outside = any(not 0.0 <= value <= 1.0 for value in coefficients(mix))
    return module, f"{init.run} at mix {mix.label()}" + (" (extrapolated: outside [0, 1])" if outside else "")


def _images(init: Any, spec: TaskSpec, transform: Any) -> Any:
    if init.images is not None:
        return ImageList(image_files(init.images), transform)
    if init.csv is not None:
        paths, labels = listed_images(init.csv, spec.classnames)
        return ImageList(paths, transform, labels)
    task: Task = init.task
    source: Any = task.source
    if init.split not in source.splits:
        raise ValueError(f"--split={init.split!r}: the task has splits {', '.join(source.splits)}.")
    own = resolve_task(task, "patch", "--task").classnames
    labels = [spec.classnames.index(name) if name in spec.classnames else -1 for name in own]
    return TaskImages(source.dataset(init.split, transform), task.name or "task", init.split, labels)


def write_rows(rows: list[dict[str, Any]], output: str | None, k: int) -> None:
    """Writes the predictions as JSON (``.json``) or CSV (anything else; stdout when ``output`` is None)."""
    if output is not None and Path(output).suffix == ".json":
        write_text(Path(output).expanduser(), json.dumps(rows, indent=1) + "\n")
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["image", "label", *(f"{kind}{i}" for i in range(1, k + 1) for kind in ("class", "probability"))])
    for row in rows:
        cells = [cell for item in row["top"] for cell in (item["class"], f"{item['probability']:.6f}")]
        writer.writerow([row["image"], row["label"] or "", *cells])
    if output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        write_text(Path(output).expanduser(), buffer.getvalue())
        write_line(f"Predictions written to {output}")
