"""Global alpha* and per-block coefficients side by side: held-out and test, as data and as text."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from paint_lightning.engine.counts import TaskCounts
from paint_lightning.interpolation.mix import FINE_TUNED, ZERO_SHOT, Mix
from paint_lightning.selection.criteria import mean_or_none


def per_block_mixes(search: Mapping[str, Any]) -> list[Mix]:
    """The mixes a per-block search compares: alpha* and the best per-block mix."""
    return [Mix.of(search["global_alpha"]), Mix.from_json(search["best_mix"])]


def per_block_test(roles: Mapping[str, str], table: Mapping[Mix, TaskCounts], search: Mapping[str, Any]) -> dict:
    """Test accuracy of alpha* and of the best per-block mix (selected or not), per task.

    Args:
        roles: Task name -> role.
        table: Test counts of the zero-shot, fine-tuned and both compared mixes.
        search: The per-block search record (:func:`~paint_lightning.engine.per_block.block_search.search_blocks`).

    Returns:
        ``{"global_alpha", "per_block_mix", "selected_mix", "won", "accept" (the rule that decided),
        "tasks": {name: {"role",
        "zero_shot", "fine_tuned", "global", "per_block", "stderr": {...}, "num_examples"}}}``.
    """
    return {
        "global_alpha": search["global_alpha"],
        "per_block_mix": search["best_mix"],
        "selected_mix": search["selected_mix"],
        "won": search["won"],
        "accept": (search.get("accept") or {"rule": "gain"})["rule"],
        "tasks": comparison_rows(roles, table, *per_block_mixes(search)),
    }


def comparison_rows(
    roles: Mapping[str, str], table: Mapping[Mix, TaskCounts], global_mix: Mix, best: Mix
) -> dict[str, dict[str, Any]]:
    """Per task: role, zero-shot, fine-tuned, alpha*'s (``global``) and the per-block mix's accuracy.

    Args:
        roles: Task name -> role.
        table: Counts of the zero-shot, fine-tuned and both compared mixes (held-out or test).
        global_mix: Alpha*.
        best: The best per-block mix.

    Returns:
        ``{name: {"role", "zero_shot", "fine_tuned", "global", "per_block", "stderr": {"global",
        "per_block"}, "num_examples"}}``.
    """
    return {
        name: {
            "role": role,
            "zero_shot": table[ZERO_SHOT].accuracy(name),
            "fine_tuned": table[FINE_TUNED].accuracy(name),
            "global": table[global_mix].accuracy(name),
            "per_block": table[best].accuracy(name),
            "stderr": {"global": table[global_mix].stderr(name), "per_block": table[best].stderr(name)},
            "num_examples": table[global_mix].total[name],
        }
        for name, role in roles.items()
    }


def summary(rows: Mapping[str, Mapping[str, Any]], key: str) -> dict[str, float | None]:
    """Means of column ``key``: patch and support accuracy, patch gain kept, support drop.

    The gain kept is ``100 * (patched - zero-shot) / (fine-tuned - zero-shot)`` of the mean patch
    accuracy (%); the support drop is the support tasks' mean drop below zero-shot (points).
    """
    patch = [row for row in rows.values() if row["role"] == "patch"]
    support = [row for row in rows.values() if row["role"] == "support"]
    out: dict[str, float | None] = {
        "patch": mean_or_none(r[key] for r in patch),
        "support": mean_or_none(r[key] for r in support),
    }
    zero, tuned = mean_or_none(r["zero_shot"] for r in patch), mean_or_none(r["fine_tuned"] for r in patch)
    gain = None if zero is None or tuned is None or math.isclose(tuned, zero) else tuned - zero
    out["gain_kept"] = None if gain is None or out["patch"] is None else 100.0 * (out["patch"] - zero) / gain
    zero_support = mean_or_none(r["zero_shot"] for r in support)
    out["support_drop"] = None if zero_support is None else zero_support - out["support"]  # type: ignore[operator]
    return out


def comparison_table(search: Mapping[str, Any], test: Mapping[str, Any] | None) -> str:
    """Plain text: held-out and test accuracy of alpha* and of the per-block mix, per task.

    The held-out columns say which data they are: under ``accept: confirm`` the search part (what
    the search scored mixes on) and the confirm part (what decided), else the whole held-out sets
    (searched and decided on). A line names the rule that decided and the numbers it used.
    """
    accept = search.get("accept") or {"rule": "gain"}  # records from before the rules: the gain rule
    parts = search.get("heldout_parts")
    blocks = (
        [("held-out search part", parts["search"]), ("held-out confirm part", parts["confirm"])]
        if parts
        else [("held-out (searched)", search["heldout"])]
    )
    verdict = f"selected by {accept['rule']}" if search["won"] else f"not selected by {accept['rule']}: alpha* kept"
    where = "the held-out search part" if parts else "held-out data"
    best = ", ".join(f"{group} {value:g}" for group, value in search["best"].items())
    width = max([len(name) for name in search["heldout"]] + [17])
    lines = [
        f"Global alpha* = {search['global_alpha']:g} vs per-block coefficients ({search['search']} search, "
        f"{search['evaluations']} mixes on {where}; {verdict})",
        f"per-block: {best}",
        *([f"accept: {accept['reason']}"] if "reason" in accept else []),
        (f"{'':<{width}}  {'':<7}" + "".join(f"  {label:^21}  " for label, _ in blocks) + f"{'test':^40}").rstrip(),
        f"{'task':<{width}}  {'role':<7}"
        + f"  {'global':>8}  {'per-block':>9}    " * len(blocks)
        + f"{'zero-shot':>9}  {'fine-tuned':>10}  {'global':>6}  {'per-block':>9}",
    ]
    trows = (test or {}).get("tasks", {})
    for name, row in search["heldout"].items():
        t = trows.get(name)
        right = (
            f"{t['zero_shot']:>9.2f}  {t['fine_tuned']:>10.2f}  {t['global']:>6.2f}  {t['per_block']:>9.2f}"
            if t
            else ""
        )
        left = "".join(f"  {rows[name]['global']:>8.2f}  {rows[name]['per_block']:>9.2f}    " for _, rows in blocks)
        lines.append(f"{name:<{width}}  {row['role']:<7}{left}{right}".rstrip())
    sums = [{key: summary(rows, key) for key in ("global", "per_block")} for _, rows in blocks]
    right_sum = {key: summary(trows, key) for key in ("global", "per_block")} if trows else None
    for label, field, unit in (
        ("mean patch", "patch", ""),
        ("mean support", "support", ""),
        ("patch gain kept", "gain_kept", "%"),
        ("support drop", "support_drop", ""),
    ):
        if sums[0]["global"][field] is None:
            continue
        text = f"{label:<{width}}  {'':<7}"
        text += "".join(
            f"  {_fmt(s['global'][field], unit):>8}  {_fmt(s['per_block'][field], unit):>9}    " for s in sums
        )
        if right_sum is not None:
            text += f"{'':>9}  {'':>10}  {_fmt(right_sum['global'][field], unit):>6}"
            text += f"  {_fmt(right_sum['per_block'][field], unit):>9}"
        lines.append(text.rstrip())
    return "\n".join(lines)


def _fmt(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:.{1 if unit else 2}f}{unit}"
