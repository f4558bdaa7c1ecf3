"""The run in CSV, MLflow and Weights & Biases, through each Lightning logger's own API.

* :class:`~lightning.pytorch.loggers.CSVLogger` (``metrics.csv``, ``hparams.yaml``): the final
  sweep as one row per alpha (``final_sweep/alpha`` and one column per task and role mean), then a
  row with the final metrics and the test table's cells (``final/test/<task>/<model>``). It takes no
  images or text.
* :class:`~lightning.pytorch.loggers.MLFlowLogger`: per sweep the two figures and the sweep table
  as artifacts (``paint/epoch_<n>/...``); at the end the curves as metrics ``final_sweep/<series>``
  whose step is round(alpha x 100), the final metrics, the final table (``paint/final_table.md``
  and ``.json``) and the run's settings as params.
* :class:`~lightning.pytorch.loggers.WandbLogger`: per sweep the figures as images and the sweep
  as a table; at the end the final sweep and the final test table as tables, the final metrics
  (run summary) and the settings (run config).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paint_lightning.callbacks.sweep_content import (
    TEST_KEYS,
    clean_params,
    curve_series,
    final_markdown,
    final_metrics,
    final_table,
    sweep_markdown,
    sweep_table,
)
from paint_lightning.callbacks.sweep_figures import _pyplot, curves_figure, has_tradeoff, tradeoff_figure

CURVE_PREFIX = "final_sweep"  # the final sweep's series: final_sweep/<task>, final_sweep/<role>_mean


def _figures(record: Mapping[str, Any]) -> dict[str, Any]:
    figures = {"alpha_curves": curves_figure(record)}
    if has_tradeoff(record):
        figures["tradeoff"] = tradeoff_figure(record)
    return figures


def _close(figures: Mapping[str, Any]) -> None:
    plt = _pyplot()
    for figure in figures.values():
        plt.close(figure)


def _folder(record: Mapping[str, Any]) -> str:
    """``paint/epoch_<n>`` (``_partial`` for a live sweep): one artifact folder per sweep."""
    epoch = record.get("epoch")
    name = f"epoch_{epoch:03d}" if isinstance(epoch, int) else "sweep"
    return f"paint/{name}{'_partial' if record.get('partial') else ''}"


def csv_final(logger: Any, record: Mapping[str, Any], report: Mapping[str, Any], params: Mapping, step: int) -> None:
    """The final sweep (a row per alpha), the final metrics and test table (a row), the settings."""
    for i, alpha in enumerate(record["alphas"]):
        row = {f"{CURVE_PREFIX}/alpha": float(alpha)}
        row.update({f"{CURVE_PREFIX}/{name}": v[i] for name, v in curve_series(record).items() if v[i] is not None})
        logger.log_metrics(row, step=step)
    logger.log_metrics({**final_metrics(report), **_test_cells(report)}, step=step)
    logger.log_hyperparams(clean_params(params))
    logger.save()


def _test_cells(report: Mapping[str, Any]) -> dict[str, float]:
    _, rows = final_table(report)
    return {
        f"final/test/{row[0]}/{key}": float(value)
        for row in rows
        for key, value in zip(TEST_KEYS, row[2:], strict=True)
        if value is not None
    }


def mlflow_sweep(logger: Any, record: Mapping[str, Any], figures: bool = True) -> None:
    """A sweep's figures (PNG, when ``figures``) and table (Markdown) as artifacts of the MLflow run."""
    client, run, folder = logger.experiment, logger.run_id, _folder(record)
    drawn = _figures(record) if figures else {}
    for name, figure in drawn.items():
        client.log_figure(run, figure, f"{folder}/{name}.png")
    _close(drawn)
    client.log_text(run, sweep_markdown(record), f"{folder}/sweep.md")


def mlflow_final(logger: Any, record: Mapping[str, Any], report: Mapping[str, Any], params: Mapping, step: int) -> None:
    """The curves as metrics over round(alpha x 100), the final metrics, table and settings."""
    for i, alpha in enumerate(record["alphas"]):
        points = {f"{CURVE_PREFIX}/{name}": v[i] for name, v in curve_series(record).items() if v[i] is not None}
        logger.log_metrics(points, step=round(alpha * 100))
    logger.log_metrics(final_metrics(report), step=step)
    columns, rows = final_table(report)
    logger.experiment.log_text(logger.run_id, final_markdown(report), "paint/final_table.md")
    logger.experiment.log_dict(logger.run_id, {"columns": columns, "rows": rows}, "paint/final_table.json")
    logger.log_hyperparams({f"paint/{key}": value for key, value in clean_params(params).items()})


def wandb_sweep(logger: Any, record: Mapping[str, Any], figures: bool = True) -> None:
    """A sweep's figures as images (when ``figures``) and its table, at the sweep's training step."""
    step = record["global_step"]
    drawn = _figures(record) if figures else {}
    for name, figure in drawn.items():
        logger.log_image(f"paint/{name}", [figure], step=step)
    _close(drawn)
    columns, rows = sweep_table(record)
    logger.log_table("paint/sweep", columns=columns, data=rows, step=step)


def wandb_final(logger: Any, record: Mapping[str, Any], report: Mapping[str, Any], params: Mapping, step: int) -> None:
    """The final sweep and test tables, the final metrics (the run's summary) and the settings."""
    columns, rows = sweep_table(record)
    logger.log_table("paint/final_sweep", columns=columns, data=rows, step=step)
    columns, rows = final_table(report)
    if rows:
        logger.log_table("paint/final_table", columns=columns, data=rows, step=step)
    logger.log_metrics(final_metrics(report), step=step)
    logger.log_hyperparams({"paint": clean_params(params)})
