"""The ``README.md`` model card of a hub export: what the model is, how alpha was chosen, how it scores.

Everything in it comes from the export's own records (``patched.json``, the run's
``paint_report.json``, its ``config.yaml`` and data provenance); what is not recorded (the base
model's licence for most tags) is said to be unknown, with where to look.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paint_lightning.engine.record import final_table
from paint_lightning.models.hub import HF_HUB
from paint_lightning.models.hub_files import is_zoo_tag, zoo_hub_source

FIGURE = "accuracy_vs_alpha.png"
# Licences known for sure; every other base model's licence is written as unknown, with its source.
KNOWN_LICENCES = {"openai": ("mit", "https://github.com/openai/CLIP/blob/main/LICENSE")}
CITATION = """@inproceedings{ilharco2022patching,
  title     = {Patching open-vocabulary models by interpolating weights},
  author    = {Ilharco, Gabriel and Wortsman, Mitchell and Gadre, Samir Yitzhak and Song, Shuran and
               Hajishirzi, Hannaneh and Kornblith, Simon and Farhadi, Ali and Schmidt, Ludwig},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  year      = {2022}
}"""


def base_model(clip: Mapping[str, Any]) -> dict[str, str | None]:
    """The base model of a ``model.clip`` record: its words, hub id (``base_model``), licence and source."""
    name, pretrained = clip.get("name"), clip.get("pretrained")
    if name and str(name).startswith(HF_HUB):
        repo = str(name)[len(HF_HUB) :]
        source = f"https://huggingface.co/{repo}"
        return {"text": f"`{name}`", "hub_id": repo, "licence": None, "source": source}
    if name and pretrained and is_zoo_tag(str(name), str(pretrained)):
        repo, _, url = zoo_hub_source(str(name), str(pretrained))
        source = f"https://huggingface.co/{repo}" if repo else url or "open_clip's pretrained table"
        known = KNOWN_LICENCES.get(str(pretrained))
        return {
            "text": f"open_clip `{name}`, pretrained tag `{pretrained}`",
            "hub_id": repo,
            "licence": known[0] if known else None,
            "source": known[1] if known else source,
        }
    what = f"`{name}`" if name else "An inline open_clip config"
    file = f" with weights from the local file `{Path(str(pretrained)).name}`" if pretrained else ""
    return {"text": what + file, "hub_id": None, "licence": None, "source": "the origin of that local file"}


def front_matter(base: Mapping[str, str | None], licence: str | None) -> str:
    """The card's YAML header (the hub reads library, licence, tags and base model from it)."""
    licence = licence or base["licence"]
    lines = ["---", "library_name: open_clip", f"license: {licence or 'other'}"]
    if not licence:
        lines.append("license_name: unknown")
        if "://" in str(base["source"]):
            lines.append(f"license_link: {base['source']}")
    if base["hub_id"]:
        lines.append(f"base_model: {base['hub_id']}")
    tags = ["clip", "open_clip", "zero-shot-image-classification", "paint", "model-patching", "weight-interpolation"]
    lines += ["pipeline_tag: zero-shot-image-classification", "tags:", *(f"  - {t}" for t in tags), "---"]
    return "\n".join(lines)


def model_card(
    meta: Mapping[str, Any],
    report: Mapping[str, Any] | None,
    data: Mapping[str, Any],
    repo: str | None,
    licence: str | None,
    figure: bool,
) -> str:
    """The whole ``README.md``.

    Args:
        meta: The export's ``patched.json`` content (model, mix, tasks, selection).
        report: The run's ``paint_report.json`` (``None`` when the run has none for this checkpoint).
        data: ``{"provenance": ..., "sources": {task: source}}`` of the run's data.
        repo: The hub repository it is meant for (``org/name``), for the usage example.
        licence: The licence to state (``--license``), else the base model's when known.
        figure: Whether :data:`FIGURE` is in the folder.
    """
    base = base_model(meta.get("model") or {})
    tasks = meta.get("tasks") or {}
    patch = [n for n, t in tasks.items() if t["role"] == "patch"]
    support = [n for n, t in tasks.items() if t["role"] == "support"]
    mix = meta.get("mix")
    title = repo or "A PAINT-patched CLIP"
    parts = [
        front_matter(base, licence),
        f"# {title}\n\n{base['text']} patched with PAINT (patching by interpolating weights) on "
        f"{_names(patch)}, keeping {_names(support)}: the weights are `(1 - alpha) * zero-shot + alpha * "
        f"fine-tuned`, at mix `{json.dumps(mix)}`. Made by paint-lightning (`paint export --format hub`).",
        "## Base model\n\n"
        + f"- Model: {base['text']}\n- Activation: {'QuickGELU' if meta['model_cfg'].get('quick_gelu') else 'GELU'}"
        + (f"\n- On the hub: [{base['hub_id']}](https://huggingface.co/{base['hub_id']})" if base["hub_id"] else ""),
        _tasks_section(tasks),
        _alpha_section(meta, report),
        _results_section(meta, report),
    ]
    if figure:
        parts.append(f"## Accuracy vs alpha\n\n![Held-out accuracy vs alpha, alpha* marked]({FIGURE})")
    parts += [
        _data_section(data),
        _usage_section(repo),
        "## Licence\n\n"
        + (f"This export: `{licence}` (as given to `paint export --license`). " if licence else "")
        + f"Base model: {base['licence'] or 'unknown'}, see {base['source']}. The patched weights derive from "
        "the base model's, and the terms of the fine-tuning data apply too.",
        f"## Citation\n\nThe method (PAINT):\n\n```bibtex\n{CITATION}\n```",
    ]
    return "\n\n".join(parts) + "\n"


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "no task"


def _tasks_section(tasks: Mapping[str, Any]) -> str:
    rows = [
        f"| {name} | {task['role']} | {len(task['classnames'])} | {len(task['templates'])} |"
        for name, task in tasks.items()
    ]
    return "## Tasks\n\n| task | role | classes | templates |\n|---|---|---|---|\n" + "\n".join(rows)


def _alpha_section(meta: Mapping[str, Any], report: Mapping[str, Any] | None) -> str:
    selected = meta.get("selected_by_run")
    chosen = meta.get("mix") == selected and selected is not None
    lines = ["## Alpha", ""]
    if report is not None:
        alphas = ", ".join(f"{a:g}" for a in report["alphas"])
        low, high = report.get("alpha_interval") or [report["selected_alpha"]] * 2
        lines.append(
            f"The run swept alpha over {alphas} on held-out images and chose alpha* = {report['selected_alpha']:g} "
            f"by `{report['criterion']}`; alphas {low:g} to {high:g} could not be told apart from it "
            f"({report.get('paired_test') or 'paired test'})."
        )
        lines += [f"- warning: {w}" for w in report.get("warnings") or []]
    lines.append(
        f"\nThis export uses {'alpha* as the run chose it' if chosen else 'a mix given with --alpha/--mix'}: "
        f"`{json.dumps(meta.get('mix'))}`."
    )
    return "\n".join(lines)


def _results_section(meta: Mapping[str, Any], report: Mapping[str, Any] | None) -> str:
    test = (report or {}).get("test")
    if not test or meta.get("mix") != test.get("alpha"):
        return "## Results\n\nNo test accuracies were measured at this mix (the run tested alpha* only)."
    table = final_table(test["tasks"], test["alpha"], "test", (report or {}).get("start_name", "zero-shot"))
    return f"## Results\n\nAccuracy (%) on each task's test split:\n\n```text\n{table}\n```"


def _data_section(data: Mapping[str, Any]) -> str:
    provenance = data.get("provenance") or {}
    lines = ["## Data provenance", ""]
    if provenance:
        settings = {k: provenance.get(k) for k in ("split_seed", "heldout_fraction", "heldout_max")}
        lines.append("Held-out split: " + ", ".join(f"{k} = {v}" for k, v in settings.items()) + ".\n")
    lines += ["| task | source | fingerprints (train / held-out / test) |", "|---|---|---|"]
    tasks = {**{n: {} for n in data.get("sources") or {}}, **(provenance.get("tasks") or {})}
    for name, record in tasks.items():
        source = (data.get("sources") or {}).get(name)
        prints = " / ".join(str(record.get(split, "-")) for split in ("train", "heldout", "test"))
        where = f"`{json.dumps(source)}`" if source else "unrecorded"
        lines.append(f"| {name} | {where} | {prints} |")
    return "\n".join(lines)


def _usage_section(repo: str | None) -> str:
    name = f"hf-hub:{repo}" if repo else "hf-hub:<org>/<name>"
    return (
        "## Usage\n\n```python\nimport open_clip\n\n"
        f'model, _, preprocess = open_clip.create_model_and_transforms("{name}")\n'
        f'tokenizer = open_clip.get_tokenizer("{name}")\n```\n\n'
        f"Offline, from a cache filled with `paint model download --model {name}`: set `HF_HUB_OFFLINE=1`."
    )
