"""``paint parallel``: combine separately fine-tuned runs, and compare with data-free merges.

.. code-block:: bash

    paint parallel --runs runs/mnist/version_0 runs/svhn/version_0 --config parallel.yaml
    paint parallel --runs r1 r2 r3 r4 --config parallel.yaml --search coordinate --budget 80
    paint parallel --runs r1 r2 --config parallel.yaml --merge task_arithmetic ties

Each run is a ``paint fit`` run (folder or ``.ckpt``) fine-tuned from the same zero-shot model,
made from the data the config describes (checked: :mod:`~paint_lightning.commands.run_data`).
The config's ``data:`` lists every run's patch task under ``patch`` and the tasks to protect
under ``support``; ``sweep:`` gives the grid of each coefficient (``alphas``) and the criterion.
Parallel patching searches ``theta_0 + sum_i alpha_i (theta_i - theta_0)`` (full grid up to three
runs, coordinate ascent beyond). Each ``--merge`` method builds one end point from the runs
(:func:`~paint_lightning.interpolation.merges.merge_end_point`) whose coefficient is swept like
alpha under the same criterion, from 0 to the top of the method's published range. With
``--merge`` every method spends at most ``--budget`` held-out evaluations (default
:data:`COMPARE_BUDGET`), so no method wins by searching more. The report compares them all on
held-out and test data, absolute and normalised; the model exported is the best on held-out data
(or ``--export_method``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from paint_lightning.commands import config as cfg
from paint_lightning.commands.console import write_line
from paint_lightning.commands.failures import config_phase
from paint_lightning.commands.parallel_report import add_normalised, comparison, patched_by, references
from paint_lightning.commands.paths import check_output_dir
from paint_lightning.commands.results import export_model, next_directory, task_metadata
from paint_lightning.commands.run_data import check_run_data
from paint_lightning.engine.alpha_sweep import sweep_alphas
from paint_lightning.engine.evaluation import mixes_on_test
from paint_lightning.engine.local_measure import measure, prepare_data, resolve_device
from paint_lightning.engine.parallel_search import end_point_device, parallel_search, single, zero
from paint_lightning.engine.protocol import patch_tensors
from paint_lightning.interpolation.merge_options import describe_options, parse_options
from paint_lightning.interpolation.merges import MERGES, coefficient_grid, merge_end_point
from paint_lightning.interpolation.mix import Mix
from paint_lightning.io.files import write_json
from paint_lightning.models.run_loading import LoadedRun, load_run

COMPARE_BUDGET = 31
"""Held-out evaluations of each method when ``--merge`` compares methods: the largest merge range
(0 to 3 by 0.1) in full; methods compared at equal budgets, none favoured by a larger search."""


def build_parser() -> Any:
    """The ``paint parallel`` parser."""
    parser = cfg.new_parser("parallel", __doc__)
    cfg.add_fit_sections(parser, model=False)
    parser.add_argument("--runs", nargs="+", type=str, required=True, help="Two or more runs (folders or .ckpt).")
    parser.add_argument("--search", type=str, default="auto", help="grid, coordinate or auto (grid up to 3 runs).")
    parser.add_argument(
        "--budget",
        type=int | None,
        default=None,
        help=f"Held-out evaluations each method may spend (default: {COMPARE_BUDGET} each with --merge; without, "
        "the full grid up to three runs). Parallel patching takes its full grid when it fits, else coordinate "
        "ascent; each merge sweeps its coefficient from 0 to the top of its published range.",
    )
    parser.add_argument(
        "--merge", nargs="+", type=str, default=None, help=f"Merge methods to compare: {', '.join(MERGES)}."
    )
    takes = "; ".join(f"{method} {describe_options(method)}" for method in MERGES)
    parser.add_argument(
        "--merge_options",
        type=str,
        default="{}",
        help=f'JSON per method, e.g. {{"ties": {{"density": 0.2}}}} ({takes}).',
    )
    parser.add_argument("--export_method", type=str | None, default=None, help="Method to export (default: best).")
    parser.add_argument(
        "--out", type=str | None, default=None, help="Output folder (default: lightning_logs/parallel_N)."
    )
    parser.add_argument("--device", type=str, default="auto", help="auto (GPU when there is one), cpu, cuda...")
    return parser


def parallel_main(argv: Sequence[str]) -> None:
    """Runs ``paint parallel`` (see the module docstring)."""
    _, init = cfg.parse(build_parser(), argv, "parallel")
    run_parallel(init)


def load_runs(paths: Sequence[str], device: torch.device) -> tuple[list[LoadedRun], list[dict[str, Tensor]]]:
    """The runs, and their fine-tuned towers as end points; refuses runs from different start points."""
    if len(paths) < 2:
        raise ValueError(f"--runs has {len(paths)} run; parallel patching combines at least two.")
    # On the CPU first: only the first run's model and every run's image tower go to the device.
    runs = [load_run(path, "cpu", f"--runs[{i}]") for i, path in enumerate(paths)]
    _, start = patch_tensors(runs[0].module)
    text = {k: v for k, v in runs[0].module.clip.state_dict().items() if not k.startswith("visual.")}
    for i, run in enumerate(runs[1:], start=1):
        _, other = patch_tensors(run.module)
        other_text = run.module.clip.state_dict()
        same = other.keys() == start.keys() and all(torch.equal(other[k], start[k]) for k in start)
        same = same and all(torch.equal(other_text[k], v) for k, v in text.items())
        if not same:
            raise ValueError(
                f"--runs[{i}]={paths[i]!r} was not fine-tuned from the same zero-shot model as --runs[0]={paths[0]!r} "
                "(its start point or text tower differs); parallel patching combines runs of one start point."
            )
    ends = [{k: v.detach().clone() for k, v in patch_tensors(run.module)[0].items()} for run in runs]
    place = end_point_device(ends, device)  # the host when the device is short: streamed by group
    ends = [{k: v.to(place) for k, v in end.items()} for end in ends]
    runs[0].module.to(device)
    for run in runs[1:]:
        run.module = None  # type: ignore[assignment]  # its tower is an end point now; free the rest
    return runs, ends


def run_parallel(init: Any) -> Path:
    """Parallel patching (and merges) of the parsed arguments ``init``; returns the output folder."""
    device = resolve_device(init.device)
    with config_phase():
        settings, chunk = cfg.sweep_settings(init.sweep)
        unknown = [method for method in init.merge or [] if method not in MERGES]
        if unknown:
            raise ValueError(f"--merge {' '.join(unknown)}: unknown method; use {', '.join(MERGES)}.")
        options = merge_options(init.merge or [], init.merge_options)
        check_output_dir(init.out or "lightning_logs", "--out" if init.out else "--out (default lightning_logs/)")
        runs, ends = load_runs(init.runs, device)
        datamodule = init.data
        for i, (run, path) in enumerate(zip(runs, init.runs, strict=True)):
            check_run_data(run.provenance, datamodule, f"--runs[{i}]", path)
        module = runs[0].module
        module.heads.clear()
        module.set_tasks(datamodule.task_specs(), device=device)
    out = Path(init.out).expanduser() if init.out else next_directory("lightning_logs", "parallel")
    out.mkdir(parents=True, exist_ok=True)
    prepare_data(datamodule, module)
    roles = {spec.name: spec.role for spec in module.task_specs}
    names = [f"run{i}" for i in range(len(runs))]
    write_line(f"Parallel patching of {len(runs)} runs on {device} ({settings.criterion}); output in {out}")
    budget = init.budget if init.budget is not None or not init.merge else COMPARE_BUDGET
    result, table = parallel_search(
        measure(module, datamodule, "heldout", device, chunk, ends), roles, names, settings, init.search, budget
    )
    result["runs"] = {name: str(path) for name, path in zip(names, init.runs, strict=True)}
    chosen = Mix.from_json(result["selected_mix"]).label()
    write_line(f"parallel: {len(result['candidates'])} points ({result['search']}), best {chosen}")
    methods: dict[str, dict[str, Any]] = {
        "parallel": {"mix": result["selected_mix"], "objective": result["objective"], "evaluations": len(table)}
    }
    method_ends: dict[str, list[dict[str, Tensor]]] = {"parallel": ends}
    _, start = patch_tensors(module)
    for method in init.merge or []:
        place = next(iter(ends[0].values())).device  # the merged end point is kept where the runs are
        merged = merge_end_point(method, start, ends, device=device, out_device=place, **options[method])
        method_ends[method] = [merged]
        grid = coefficient_grid(method, budget if budget is not None else len(settings.alphas) + 1)
        method_settings = replace(settings, alphas=grid, allow_extrapolation=True, search="grid")
        swept, swept_table = sweep_alphas(
            measure(module, datamodule, "heldout", device, chunk, [merged]), roles, method_settings
        )
        index = swept["alphas"].index(swept["selected_alpha"])
        methods[method] = {
            "mix": swept["selected_alpha"],
            "objective": swept["objective"][index],
            "evaluations": len(swept_table),
            "coefficient_range": [0.0, MERGES[method].top],
            "range_source": MERGES[method].range_source,
            "sweep": swept,
        }
        write_line(f"{method}: coefficient {swept['selected_alpha']:g} chosen on held-out data")
    for method, entry in methods.items():
        (entry["test"],) = _test(
            module, datamodule, device, chunk, method_ends[method], [Mix.from_json(entry["mix"])], roles
        )
    singles = [single(len(ends), i) for i in range(len(ends))]
    zero_test, *single_tests = _test(module, datamodule, device, chunk, ends, [zero(len(ends)), *singles], roles)
    owners = patched_by([run.provenance for run in runs], [run.report for run in runs])
    refs = references(roles, owners, single_tests, zero_test)
    run_tests = dict(zip(names, single_tests, strict=True))
    for test in [zero_test, *single_tests, *(entry["test"] for entry in methods.values())]:
        add_normalised(test, refs)
    print(comparison(methods, zero_test, run_tests))
    result.update({"methods": methods, "zero_shot_test": zero_test, "fine_tuned_test": run_tests})
    write_json(out / "parallel_report.json", result)
    best = init.export_method or max(methods, key=lambda m: (methods[m]["objective"] or float("-inf"), m == "parallel"))
    if best not in methods:
        raise ValueError(f"--export_method={best!r}: use one of {', '.join(methods)}.")
    mix = Mix.from_json(methods[best]["mix"])
    meta = {"made_by": "paint parallel", "method": best, "runs": result["runs"], "criterion": result["criterion"]}
    meta["tasks"] = task_metadata(module, None, {"tasks": methods[best]["test"]}, None)
    path = export_model(module, mix, out, meta, method_ends[best])
    print(f"Model of {best} ({mix.label()}) written to {path}")
    return out


def merge_options(methods: Sequence[str], text: str) -> dict[str, dict[str, Any]]:
    """The checked options of each method in ``--merge`` from the ``--merge_options`` JSON.

    Raises:
        ValueError: For text that is not a JSON object, options of a method ``--merge`` does not
            list, or an option a method does not take (naming the method and the options it takes).
    """
    example = '{"ties": {"density": 0.2}}'
    try:
        given = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"--merge_options={text!r} is not JSON ({err}); give e.g. '{example}'.") from None
    if not isinstance(given, dict):
        raise ValueError(f"--merge_options={text!r}: give a JSON object of method -> options, e.g. '{example}'.")
    extra = [method for method in given if method not in methods]
    if extra:
        raise ValueError(
            f"--merge_options has options for {', '.join(map(repr, extra))}, which --merge does not list "
            f"({' '.join(methods) or 'no merge'}); add the method to --merge or drop its options."
        )
    return {method: asdict(parse_options(method, given.get(method, {}), "--merge_options")) for method in methods}


def _test(
    module: Any, datamodule: Any, device: Any, chunk: int, ends: Any, mixes: Sequence[Mix], roles: Mapping[str, str]
) -> list[dict]:
    return mixes_on_test(measure(module, datamodule, "test", device, chunk, ends), roles, mixes)


def _test(
    module: Any, datamodule: Any, device: Any, chunk: int, ends: Any, mixes: Sequence[Mix], roles: Mapping[str, str]
) -> list[dict]:
    return mixes_on_test(measure(module, datamodule, "test", device, chunk, ends), roles, mixes)
