"""Models and sweeps without a Trainer: load end points, build a patchable model, measure mixes.

What can be loaded:

* a **run** (``lightning_logs/version_N``) or a **Lightning checkpoint** of a paint run
  (:func:`load_run`): the fine-tuned tower (live weights), its start point, the heads of its
  tasks and the mix its sweep chose (``selected_mix`` of ``paint_report.json``, else
  ``selected_alpha``, else the checkpoint's sweep history);
* an **exported** ``patched.safetensors`` or any **open_clip** checkpoint or state dict with a
  model source (:func:`load_model` with a :class:`~paint_lightning.models.clip_source.CLIPSource`):
  one set of weights, its own start point;
* the **image tower of any of those** as an end point (:func:`tower_tensors_of`), to combine with
  a model's start point (``paint sweep``, ``paint parallel``).

:func:`prepare_data` and :func:`measure` run :class:`~paint_lightning.engine.sweeper.Sweeper`
over a :class:`~paint_lightning.PaintDataModule`'s held-out or test sets in this process (on the
GPU when there is one), so ``sweep_alphas`` works without a Trainer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from paint_lightning.engine.counts import Counts
from paint_lightning.engine.protocol import patch_tensors
from paint_lightning.engine.sweeper import Sweeper
from paint_lightning.interpolation.combine import InPlaceCombiner
from paint_lightning.interpolation.mix import Mix
from paint_lightning.io.clip_weights import CheckpointError, load_clip_state_dict
from paint_lightning.io.report_file import REPORT
from paint_lightning.models.clip_source import CLIPSource
from paint_lightning.models.module import PaintModule
from paint_lightning.models.run_files import find_checkpoint, read_checkpoint, recorded_provenance


@dataclass
class LoadedRun:
    """A paint run's model: live weights = fine-tuned, start point = zero-shot, heads of its tasks.

    Attributes:
        module: The model (a :class:`~paint_lightning.engine.protocol.Patchable`), in eval mode.
        checkpoint: The Lightning checkpoint it was read from.
        report: The run's ``paint_report.json`` (``None`` when there is none, or when it was
            written for another checkpoint of the run).
        selected: The mix the run's sweep chose (``None`` when it never swept).
        provenance: The data it was made from (:func:`recorded_provenance`), ``None`` if unrecorded.
    """

    module: PaintModule
    checkpoint: Path
    report: dict[str, Any] | None
    selected: Mix | None
    provenance: dict[str, Any] | None = None


def resolve_device(device: str) -> torch.device:
    """``auto`` is the GPU when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_run(run: str | Path, device: str | torch.device = "cpu", field: str = "--run") -> LoadedRun:
    """Loads a run directory or a Lightning checkpoint of a paint run (see :class:`LoadedRun`).

    The model is rebuilt from the source recorded in the checkpoint (as ``paint test`` does), so
    that source (zoo weights in open_clip's cache, or the local file) must be reachable.
    """
    path = find_checkpoint(run, field)
    checkpoint = read_checkpoint(path, field)
    hparams = dict(checkpoint["hyper_parameters"])
    module = PaintModule(**hparams)
    module.on_load_checkpoint(checkpoint)
    module.configure_model()
    module.load_state_dict(checkpoint["state_dict"], strict=True)
    module.to(device).eval()
    report_path = (Path(run) if Path(run).is_dir() else path.parent.parent) / REPORT
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else None
    if report is not None and report.get("global_step") != checkpoint.get("global_step"):
        report = None  # the run's report describes another checkpoint (a later one)
    return LoadedRun(module, path, report, selected_mix(report, checkpoint), recorded_provenance(checkpoint))


def selected_mix(report: Mapping[str, Any] | None, checkpoint: Mapping[str, Any] | None = None) -> Mix | None:
    """The mix a run chose: ``selected_mix`` or ``selected_alpha`` of its report or checkpoint."""
    records: list[Mapping[str, Any]] = [report] if report else []
    history = (checkpoint or {}).get("callbacks", {}).get("InterpolationSweep", {}).get("history") or []
    if history:
        records.append(history[-1])
    for record in records:
        if record.get("selected_mix") is not None:
            return parse_mix(record["selected_mix"])
        if record.get("selected_alpha") is not None:
            return Mix.of(float(record["selected_alpha"]))
    return None


def parse_mix(value: Any) -> Mix:
    """A mix from JSON text or data: ``0.4``, ``[0.3, 0.5]``, ``{"embed": 0.2, "*": 0.5}``."""
    data = json.loads(value) if isinstance(value, str) else value
    if isinstance(data, (int, float)):
        return Mix.of(float(data))
    if isinstance(data, Mapping):
        return Mix.of(dict(data))
    if isinstance(data, list) and data:
        return Mix.of(*data)
    raise ValueError(f'mix {value!r}: give a number (0.4), a list ([0.3, 0.5]) or groups ({{"embed": 0.2, "*": 0.5}})')


def load_model(
    clip: CLIPSource | Mapping[str, Any],
    specs: Sequence[Any] = (),
    head_cache_dir: str | None = None,
    device: str | torch.device = "cpu",
) -> PaintModule:
    """A model from a source (zoo tag, open_clip file, export), with heads for ``specs``.

    Its start point is its own weights (alpha has no effect until another end point is given).
    """
    source = clip if isinstance(clip, CLIPSource) else CLIPSource(**dict(clip))
    module = PaintModule(source, head_cache_dir=head_cache_dir, tasks=[spec.to_dict() for spec in specs])
    recorded = (
        recorded_preprocess(source.pretrained) if source.image_mean is None and source.image_std is None else None
    )
    if recorded is not None:
        use_preprocess(module, recorded)
    module.configure_model()
    if specs:
        module.set_tasks(specs, device=device)
    return module.to(device).eval()


def recorded_preprocess(pretrained: str | None) -> dict[str, Any] | None:
    """The preprocessing an export records beside its weights (``patched.json``, ``open_clip_config.json``)."""
    if not pretrained or not Path(pretrained).expanduser().is_file():
        return None
    weights = Path(pretrained).expanduser()
    for meta in (weights.with_suffix(".json"), weights.parent / "open_clip_config.json"):
        if meta.is_file():
            try:
                cfg = json.loads(meta.read_text(encoding="utf-8")).get("preprocess_cfg")
            except (ValueError, AttributeError):
                continue
            if isinstance(cfg, dict):
                return cfg
    return None


def use_preprocess(module: PaintModule, preprocess_cfg: Mapping[str, Any]) -> None:
    """Gives the model the transforms of ``preprocess_cfg`` (open_clip's ``PreprocessCfg`` fields)."""
    from open_clip.transform import PreprocessCfg, image_transform_v2

    fields = set(PreprocessCfg.__dataclass_fields__)
    cfg = {k: (tuple(v) if isinstance(v, list) else v) for k, v in preprocess_cfg.items() if k in fields}
    module.preprocess_cfg = {**module.preprocess_cfg, **cfg}
    module.preprocess_train = image_transform_v2(PreprocessCfg(**module.preprocess_cfg), True)
    module.preprocess_eval = image_transform_v2(PreprocessCfg(**module.preprocess_cfg), False)


def tower_tensors_of(path: str | Path, field: str) -> tuple[dict[str, Tensor], dict[str, Any] | None]:
    """The image tower (name inside the tower -> tensor) of a checkpoint, run or state dict, and its provenance.

    Reads a run directory or Lightning checkpoint of a paint run (its fine-tuned tower, and the
    data it was made from: :func:`recorded_provenance`), an open_clip checkpoint (full CLIP state
    dict, ``visual.*``) or a state dict of the tower alone (no provenance: ``None``).
    """
    where = Path(path).expanduser()
    if where.is_dir() or where.suffix == ".ckpt":
        checkpoint = read_checkpoint(find_checkpoint(where, field), field)
        state = checkpoint["state_dict"]
        tower = {k[len("clip.visual.") :]: v for k, v in state.items() if k.startswith("clip.visual.")}
        return tower, recorded_provenance(checkpoint)
    try:
        state = load_clip_state_dict(where)
    except CheckpointError as err:
        raise ValueError(f"{field}={str(path)!r}: {err}") from err
    visual = {k[len("visual.") :]: v for k, v in state.items() if k.startswith("visual.")}
    return visual or state, None


def set_live_tower(module: PaintModule, tensors: Mapping[str, Tensor], field: str) -> None:
    """Loads ``tensors`` into the model's live image tower (its start point stays), checking names and shapes."""
    live, _ = patch_tensors(module)
    missing = sorted(set(live) - set(tensors))
    unexpected = sorted(set(tensors) - set(live))
    shapes = [
        f"{k} {tuple(tensors[k].shape)} != {tuple(live[k].shape)}"
        for k in live
        if k in tensors and tensors[k].shape != live[k].shape
    ]
    if missing or unexpected or shapes:
        raise ValueError(
            f"{field}: its image tower does not match the model's architecture: missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}, shapes {shapes[:5]}. Check that it was fine-tuned from the same model as model.clip."
        )
    with torch.no_grad():
        for name, tensor in live.items():
            tensor.copy_(tensors[name].to(tensor.device, tensor.dtype))


def prepare_data(datamodule: Any, module: PaintModule, stages: Sequence[str] = ("validate", "test")) -> None:
    """Gives the DataModule the model's transforms and builds its held-out and test sets."""
    datamodule.set_transforms(module.preprocess_train, module.preprocess_eval)
    for stage in stages:
        datamodule.setup(stage)


def measure(
    module: PaintModule,
    datamodule: Any,
    split: str,
    device: torch.device,
    chunk_bytes: int = 512 * 2**20,
    ends: Sequence[Mapping[str, Tensor]] | None = None,
    on_pass: Callable[[int], None] | None = None,
) -> Callable[[list[Mix]], Counts]:
    """``measure(mixes) -> Counts`` over the ``heldout`` or ``test`` sets, in this process.

    Args:
        module: The model, on ``device``.
        datamodule: A :class:`~paint_lightning.PaintDataModule` after :func:`prepare_data`.
        split: ``heldout`` or ``test``.
        device: Where the model is.
        chunk_bytes: Device memory for staging evaluation batches.
        ends: End points other than the live weights (parallel patching, merges).
        on_pass: Called with the number of mixes before each pass over the data.
    """
    sets = datamodule.cached_heldout_sets() if split == "heldout" else datamodule.cached_test_sets()
    loaders = {spec.name: datamodule.eval_dataloader(sets[spec.name]) for spec in module.task_specs}
    sweeper = Sweeper(module, device, chunk_bytes, ends=ends)

    def run(mixes: list[Mix]) -> Counts:
        if on_pass is not None:
            on_pass(len(mixes))
        return sweeper.count(loaders, mixes)

    return run


def mixed_state_dict(
    module: PaintModule, mix: Mix, ends: Sequence[Mapping[str, Tensor]] | None = None
) -> dict[str, Tensor]:
    """The open_clip state dict (CPU) with the image tower at ``mix``, made by the sweep's own code."""
    live, start = patch_tensors(module)
    with InPlaceCombiner(live, start, ends) as combiner:
        combiner.set(mix)
        state = {key: value.detach().cpu().clone() for key, value in module.state_dict().items()}
    return module.export_open_clip(state).state_dict
