"""``paint sweep``: PAINT's alpha sweep between two checkpoints made elsewhere, without training.

.. code-block:: bash

    paint sweep --config my_run.yaml --fine_tuned ft.pt                      # model.clip is the zero-shot model
    paint sweep --config my_run.yaml --zero_shot zs.pt --fine_tuned ft.pt    # or name it here

For users who fine-tuned with wise-ft, open_clip's trainer or their own loop: the config is a
``paint fit`` config (``model.clip`` says the architecture and activation, ``data:`` the patch and
support tasks, ``sweep:`` the alphas and criterion; ``trainer:`` is ignored). The image tower of
``--fine_tuned`` (an open_clip checkpoint or state dict, a paint run or its Lightning checkpoint)
is the end point; the zero-shot model (``--zero_shot``, else ``model.clip.pretrained``) is the
start point and gives the text heads. A run's recorded data must be the config's
(:mod:`~paint_lightning.commands.run_data`; a plain state dict cannot be checked: a warning
says so). Writes what a fit run writes: ``paint_report.json``,
TensorBoard files and the patched model at alpha*. Runs in one process, on the GPU when there
is one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from paint_lightning.commands import config as cfg
from paint_lightning.commands.console import write_line
from paint_lightning.commands.failures import config_phase
from paint_lightning.commands.paths import check_output_dir
from paint_lightning.commands.results import (
    export_model,
    next_directory,
    task_metadata,
    write_tensorboard,
)
from paint_lightning.commands.run_data import check_run_data
from paint_lightning.engine.alpha_sweep import sweep_alphas
from paint_lightning.engine.evaluation import compare_on_test
from paint_lightning.engine.local_measure import measure, prepare_data, resolve_device
from paint_lightning.engine.paired_record import required_size_line
from paint_lightning.engine.record import final_table, run_report, summary_line
from paint_lightning.interpolation.mix import ZERO_SHOT, Mix
from paint_lightning.io.clip_weights import load_clip_state_dict
from paint_lightning.io.report_file import write_report
from paint_lightning.models.module import PaintModule
from paint_lightning.models.source_loading import load_model
from paint_lightning.models.tower_io import set_live_tower, tower_tensors_of


def build_parser() -> Any:
    """The ``paint sweep`` parser."""
    parser = cfg.new_parser("sweep", __doc__)
    cfg.add_fit_sections(parser)
    parser.add_argument(
        "--fine_tuned", type=str, required=True, help="Fine-tuned checkpoint: open_clip file, state dict, run or .ckpt."
    )
    parser.add_argument(
        "--zero_shot", type=str | None, default=None, help="Zero-shot checkpoint (default: model.clip.pretrained)."
    )
    parser.add_argument("--out", type=str | None, default=None, help="Output folder (default: lightning_logs/sweep_N).")
    parser.add_argument("--device", type=str, default="auto", help="auto (GPU when there is one), cpu, cuda, cuda:1...")
    parser.add_argument(
        "--test", type=bool, default=True, help="Also compare zero-shot, fine-tuned and patched on the test splits."
    )
    parser.add_argument("--export", type=bool, default=True, help="Write the model at alpha* (patched.safetensors).")
    return parser


def sweep_main(argv: Sequence[str]) -> None:
    """Runs ``paint sweep`` (see the module docstring)."""
    _, init = cfg.parse(build_parser(), argv, "sweep")
    run_sweep(init)


def run_sweep(init: Any) -> Path:
    """The sweep of the parsed arguments ``init``; returns the output folder."""
    device = resolve_device(init.device)
    with config_phase():
        settings, chunk_bytes = cfg.sweep_settings(init.sweep)
        model = cfg.model_kwargs(init.model)
        clip = dict(model["clip"])
        if init.zero_shot is not None:
            clip["pretrained"] = init.zero_shot
        datamodule = init.data
        check_output_dir(init.out or "lightning_logs", "--out" if init.out else "--out (default lightning_logs/)")
        tower, provenance = tower_tensors_of(init.fine_tuned, "--fine_tuned")
        check_run_data(provenance, datamodule, "--fine_tuned", init.fine_tuned)
        module = load_model(clip, datamodule.task_specs(), model.get("head_cache_dir"), device)
        set_live_tower(module, tower, "--fine_tuned")
    changed = text_differs(module, init.fine_tuned)
    if changed:
        write_line(
            f"Warning: --fine_tuned differs from the zero-shot model outside the image tower ({len(changed)} tensors, "
            f"e.g. {changed[0]}); PAINT interpolates the image tower only and classifies with the zero-shot text "
            "heads, so those changes are not used."
        )
    out = Path(init.out).expanduser() if init.out else next_directory("lightning_logs", "sweep")
    out.mkdir(parents=True, exist_ok=True)
    write_line(
        f"Sweeping {len(settings.alphas)} alphas ({settings.search}, {settings.criterion}) on {device}; output in {out}"
    )
    prepare_data(datamodule, module)
    roles = {spec.name: spec.role for spec in module.task_specs}
    started = time.monotonic()
    record, table = sweep_alphas(measure(module, datamodule, "heldout", device, chunk_bytes), roles, settings)
    record = {"epoch": None, "global_step": 0, **record, "selected_mix": record["selected_alpha"]}
    write_line(f"{summary_line(record)} ({time.monotonic() - started:.0f} s)")
    if (needed := required_size_line(record)) is not None:
        write_line(needed)
    for warning in record["warnings"]:
        write_line(f"Warning: alpha* may not mean much: {warning}")
    alpha = record["selected_alpha"]
    test = None
    if init.test:
        test, _ = compare_on_test(measure(module, datamodule, "test", device, chunk_bytes), roles, alpha)
        print(final_table(test["tasks"], alpha, "test"))
    content = run_report([record], table[ZERO_SHOT].to_json(), test)
    write_report(out, content)
    sources = {"zero_shot": clip.get("pretrained") or clip.get("name"), "fine_tuned": init.fine_tuned}
    params = {
        "sources": sources,
        "sweep": {"criterion": settings.criterion, "max_support_drop": settings.max_support_drop},
    }
    write_tensorboard(out, record, content, params)
    if init.export:
        index = record["alphas"].index(alpha)
        meta = {
            "made_by": "paint sweep",
            **sources,
            "criterion": record["criterion"],
            "tasks": task_metadata(module, record, test, index),
        }
        path = export_model(module, Mix.of(alpha), out, meta)
        print(f"Patched model (alpha* = {alpha:g}) written to {path}")
    sys.stdout.flush()
    return out


def text_differs(module: PaintModule, path: str | Path) -> list[str]:
    """Tensors outside the image tower where an open_clip file differs from the model (its text side)."""
    where = Path(path)
    if where.is_dir() or where.suffix == ".ckpt":
        return []
    state = load_clip_state_dict(where)
    own = module.clip.state_dict()
    return sorted(
        key
        for key, value in state.items()
        if not key.startswith("visual.") and key in own and not torch.equal(value.to(own[key].dtype), own[key].cpu())
    )
