"""``paint export``: a run's model at alpha* (or any alpha, or per-block coefficients) as an open_clip checkpoint.

.. code-block:: bash

    paint export --run lightning_logs/version_0 --out shipped/                 # alpha* of the run
    paint export --run lightning_logs/version_0 --alpha 0.3 --out a03/
    paint export --run .../checkpoints/last.ckpt --mix '{"embed": 0.2, "*": 0.5}' --out blocks/
    paint export --run lightning_logs/version_0 --format hub --repo org/name --out hub/   # then paint push

Writes ``patched.safetensors`` (the full CLIP state dict), ``patched.json`` (model source, mix,
tasks, accuracies where the mix was swept, SHA-256) and ``open_clip_config.json`` (model config
with ``quick_gelu`` where used, and preprocessing), so that plain open_clip loads it as it is::

    model, _, preprocess = open_clip.create_model_and_transforms("local-dir:shipped")

and a further patch starts from it with ``model.clip.pretrained: shipped/patched.safetensors``.

``--format hub`` writes the folder of a Hugging Face model repository instead (open_clip's file
names, a model card, the accuracy-vs-alpha figure: :mod:`~paint_lightning.commands.hub_export`),
which ``paint push`` uploads and ``open_clip.create_model_and_transforms("hf-hub:org/name")`` loads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from paint_lightning.commands import config as cfg
from paint_lightning.commands.failures import UserError, config_phase
from paint_lightning.commands.hub_export import check_hub_out, check_repo_id, write_hub_folder
from paint_lightning.commands.paths import check_output_dir
from paint_lightning.commands.results import export_model, task_metadata
from paint_lightning.interpolation.combine import tower_tensors
from paint_lightning.interpolation.mix import Mix, parameter_group
from paint_lightning.io.patched import METADATA, WEIGHTS
from paint_lightning.models.run_loading import load_run

_WEIGHTS = (".safetensors", ".bin", ".pth", ".pt")


def build_parser() -> Any:
    """The ``paint export`` parser."""
    parser = cfg.new_parser("export", __doc__)
    parser.add_argument("--run", type=str, required=True, help="A run folder (lightning_logs/version_N) or its .ckpt.")
    parser.add_argument("--out", type=str, required=True, help="Folder to write the three files into.")
    parser.add_argument("--alpha", type=float | None, default=None, help="Alpha to export (default: the run's alpha*).")
    parser.add_argument(
        "--mix", type=str | None, default=None, help='Coefficients as JSON: 0.4, or {"embed": 0.2, "*": 0.5}.'
    )
    parser.add_argument("--overwrite", type=bool, default=False, help="Replace an export already in --out.")
    add_extrapolation_flag(parser)
    parser.add_argument(
        "--format", type=Literal["open_clip", "hub"], default="open_clip", help="hub: a Hugging Face repository folder."
    )
    parser.add_argument("--repo", type=str | None, default=None, help="With --format hub: org/name, for the card.")
    parser.add_argument("--license", type=str | None, default=None, help="With --format hub: the export's licence.")
    return parser


def export_main(argv: Sequence[str]) -> None:
    """Runs ``paint export`` (see the module docstring)."""
    _, init = cfg.parse(build_parser(), argv, "export")
    hub = {"repo": init.repo, "licence": init.license} if init.format == "hub" else None
    if hub is None and (init.repo or init.license):
        raise UserError("--repo and --license describe a hub export: add --format hub.", exit_code=2)
    run_export(init.run, init.out, init.alpha, init.mix, init.overwrite, init.allow_extrapolation, hub)


def add_extrapolation_flag(parser: Any) -> None:
    """``--allow_extrapolation``: coefficients outside [0, 1] must be asked for, as ``sweep.allow_extrapolation``."""
    parser.add_argument(
        "--allow_extrapolation",
        type=bool,
        default=False,
        help="Permit --alpha/--mix values outside [0, 1] (beyond the zero-shot or fine-tuned model).",
    )


def given_mix(alpha: float | None, mix: str | None, allow_extrapolation: bool = False) -> Mix | None:
    """``--alpha`` or ``--mix`` as a mix (``None`` when neither is given), checked before any work.

    Raises:
        ValueError: For both flags, a malformed ``--mix``, or a coefficient outside [0, 1]
            without ``allow_extrapolation``.
    """
    if alpha is not None and mix is not None:
        raise ValueError("give --alpha or --mix, not both.")
    if alpha is not None:
        return _in_range(Mix.of(alpha), f"--alpha={alpha:g}", allow_extrapolation)
    if mix is None:
        return None
    try:
        parsed = Mix.parse(mix)
    except ValueError as err:
        raise ValueError(f"--mix={mix!r}: {err}") from err
    return _in_range(parsed, f"--mix={mix!r}", allow_extrapolation)


def chosen_mix(given: Mix | None, selected: Mix | None, what: str) -> Mix:
    """The mix of ``--alpha``/``--mix`` (:func:`given_mix`) when given, else the run's choice.

    The run's own choice is kept as it is, in [0, 1] or not: its sweep allowed it.
    """
    if given is not None:
        return given
    if selected is None:
        raise ValueError(
            f"{what} never chose alpha (no paint_report.json, no sweep in its checkpoint, or only a partial live "
            "sweep of a fit that did not finish): give --alpha, or finish the fit (--ckpt_path) for its last sweep."
        )
    return selected


def coefficients(mix: Mix) -> list[float]:
    """Every coefficient of ``mix`` (one per end point, or one per group of each end point)."""
    return [value for term in mix.terms for value in ([v for _, v in term] if isinstance(term, tuple) else [term])]


def _in_range(mix: Mix, given: str, allow_extrapolation: bool) -> Mix:
    outside = sorted({value for value in coefficients(mix) if not 0.0 <= value <= 1.0})
    if outside and not allow_extrapolation:
        raise ValueError(
            f"{given}: {', '.join(f'{v:g}' for v in outside)} outside [0, 1] extrapolates beyond the zero-shot (0) "
            "or fine-tuned (1) model; add --allow_extrapolation if that is intended."
        )
    return mix


def check_out(out: Path, overwrite: bool) -> None:
    """Refuses a folder that holds other weights (``local-dir:`` would not know which to load)."""
    check_output_dir(out, "--out")
    if not out.exists():
        return
    others = sorted(p.name for p in out.iterdir() if p.suffix in _WEIGHTS and (p.name != WEIGHTS))
    if others:
        raise ValueError(
            f"--out={str(out)!r} holds other weights ({', '.join(others[:3])}); open_clip's local-dir: loads one "
            "weights file per folder, so export into an empty folder."
        )
    if (out / WEIGHTS).exists() and not overwrite:
        raise ValueError(f"--out={str(out)!r} already holds an export; choose another folder or add --overwrite.")


def run_export(
    run: str,
    out: str,
    alpha: float | None = None,
    mix: str | None = None,
    overwrite: bool = False,
    allow_extrapolation: bool = False,
    hub: Mapping[str, str | None] | None = None,
) -> Path:
    """Exports the run's model at the chosen mix into ``out``; returns the weights path.

    ``hub`` (``{"repo": ..., "licence": ...}``) asks for a hub folder (``--format hub``).
    """
    directory = Path(out).expanduser()
    with config_phase():
        if hub is None:
            check_out(directory, overwrite)
        else:
            check_output_dir(directory, "--out")
            check_hub_out(directory, overwrite)
            check_repo_id(hub.get("repo"))
        given = given_mix(alpha, mix, allow_extrapolation)
        loaded = load_run(run)
        target = chosen_mix(given, loaded.selected, f"--run={run!r}")
        live, _ = loaded.module.patch_towers()
        target.check_groups([parameter_group(name) for name in tower_tensors(live)], "--mix")
    record = loaded.report
    index = (
        record["alphas"].index(target.alpha)
        if record and target.is_scalar and target.alpha in record["alphas"]
        else None
    )
    test = (
        (record or {}).get("test")
        if record and target.is_scalar and record.get("selected_alpha") == target.alpha
        else None
    )
    meta = {
        "made_by": "paint export",
        "run": str(run),
        "checkpoint": str(loaded.checkpoint),
        "criterion": (record or {}).get("criterion"),
        "selected_by_run": loaded.selected.to_json() if loaded.selected is not None else None,
        "allow_extrapolation": allow_extrapolation,
        "tasks": task_metadata(loaded.module, record, test, index),
    }
    if hub is not None:
        path = write_hub_folder(loaded, target, directory, meta, hub.get("repo"), hub.get("licence"))
    else:
        path = export_model(loaded.module, target, directory, meta)
    sha = json.loads((directory / METADATA).read_text())["sha256"]
    print(f"Exported {run} at mix {target.label()} to {path}\nSHA-256 {sha}")
    print(f'Load it with open_clip.create_model_and_transforms("local-dir:{directory}")')
    if hub is not None:
        repo = hub.get("repo") or "<org>/<name>"
        print(f"Upload it with `paint push {directory} --repo {repo}`; then load it as hf-hub:{repo}")
    return path
