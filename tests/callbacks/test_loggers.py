"""The dashboard in every Lightning logger: CSV, MLflow (file store) and W&B (offline), read back from disk.

One tiny fit writes to all three (those that are installed); each test reads its logger's store.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
from pathlib import Path

import pytest
import yaml

from paint_lightning.commands.cli import main
from tests.run_fixtures import MODEL_FLAGS, TINY_YAML

HAS = {name: importlib.util.find_spec(name) is not None for name in ("mlflow", "wandb")}


def _loggers(root: Path) -> list[dict]:
    loggers = [{"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": str(root / "csv")}}]
    if HAS["mlflow"]:
        uri = (root / "mlruns").as_uri()
        loggers.append(
            {
                "class_path": "lightning.pytorch.loggers.MLFlowLogger",
                "init_args": {"experiment_name": "paint", "tracking_uri": uri},
            }
        )
    if HAS["wandb"]:
        loggers.append(
            {
                "class_path": "lightning.pytorch.loggers.WandbLogger",
                "init_args": {"project": "paint", "save_dir": str(root / "wandb"), "offline": True},
            }
        )
    return loggers


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory, zero_shot_file: Path) -> Path:
    """The folder of a tiny fit whose ``trainer.logger`` (a YAML list) names every installed logger."""
    root = tmp_path_factory.mktemp("loggers")
    config = root / "loggers.yaml"
    config.write_text(yaml.safe_dump({"trainer": {"logger": _loggers(root)}}))
    env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(root / "wandb"), "WANDB_CONSOLE": "off"}
    env["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 keeps a file: store only when told (a database otherwise)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        (root / "wandb").mkdir()
        main(
            [
                "fit",
                "--config",
                TINY_YAML,
                "--config",
                str(config),
                f"--model.clip.pretrained={zero_shot_file}",
                *MODEL_FLAGS,
                f"--trainer.default_root_dir={root}",
            ]
        )
        if HAS["wandb"]:
            import wandb

            wandb.finish()
    return root


def _report(root: Path) -> dict:
    (path,) = root.rglob("paint_report.json")
    return json.loads(path.read_text())


def test_csv_holds_the_final_sweep_row_per_alpha_and_the_final_table(logged: Path) -> None:
    (metrics,) = (logged / "csv").rglob("metrics.csv")
    rows = list(csv.DictReader(metrics.open()))
    report = _report(logged)
    curve = [row for row in rows if row.get("final_sweep/alpha")]
    assert [float(row["final_sweep/alpha"]) for row in curve] == report["alphas"]
    assert [float(row["final_sweep/patches"]) for row in curve] == pytest.approx(report["tasks"]["patches"]["accuracy"])
    assert [float(row["final_sweep/support_mean"]) for row in curve] == pytest.approx(report["support_accuracy"])
    (final,) = [row for row in rows if row.get("final/alpha_star")]
    assert float(final["final/alpha_star"]) == report["selected_alpha"]
    test = report["test"]["tasks"]["other"]
    assert float(final["final/test/other/zero_shot"]) == pytest.approx(test["zero_shot"])
    assert float(final["final/test/other/patched"]) == pytest.approx(test["patched"])
    assert [float(row["paint/alpha_star"]) for row in rows if row.get("paint/alpha_star")][-1] == report[
        "selected_alpha"
    ]
    hparams = yaml.safe_load(next((logged / "csv").rglob("hparams.yaml")).read_text())
    assert hparams["criterion"] == "mean" and hparams["tasks"] == "patch: patches; support: other"


@pytest.mark.skipif(not HAS["mlflow"], reason="mlflow is not installed (pip install 'paint-lightning[mlflow]')")
def test_mlflow_store_holds_curves_figures_final_table_and_settings(logged: Path) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=(logged / "mlruns").as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("paint").experiment_id])
    report = _report(logged)
    curve = client.get_metric_history(run.info.run_id, "final_sweep/patches")
    points = sorted((m.step, m.value) for m in curve)
    assert [step for step, _ in points] == [round(a * 100) for a in report["alphas"]]
    assert [value for _, value in points] == pytest.approx(report["tasks"]["patches"]["accuracy"])
    assert run.data.metrics["final/alpha_star"] == report["selected_alpha"]
    assert run.data.metrics["paint/alpha_star"] == report["selected_alpha"]
    assert run.data.params["paint/criterion"] == "mean"
    assert run.data.params["paint/tasks"] == "patch: patches; support: other"
    files = _artifacts(client, run.info.run_id, "paint")
    assert "paint/final_table.md" in files and any(f.endswith("/alpha_curves.png") for f in files)
    assert any(f.endswith("/tradeoff.png") for f in files) and any(f.endswith("/sweep.md") for f in files)
    table = json.loads(
        Path(client.download_artifacts(run.info.run_id, "paint/final_table.json", str(logged))).read_text()
    )
    assert table["columns"] == ["task", "role", "zero_shot", "fine_tuned", "patched"]
    assert table["rows"][0][4] == pytest.approx(report["test"]["tasks"][table["rows"][0][0]]["patched"])


def _artifacts(client, run_id: str, path: str) -> list[str]:
    found = []
    for item in client.list_artifacts(run_id, path):
        found += _artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return found


def _wandb_records(path: Path):
    """The records of a W&B run file (LevelDB log format: 7-byte header, 32 KiB blocks of chunks)."""
    from wandb.proto import wandb_internal_pb2

    raw, pos, parts = path.read_bytes(), 7, b""
    while pos + 7 <= len(raw):
        if (left := 32768 - pos % 32768) < 7:
            pos += left
            continue
        length, kind = int.from_bytes(raw[pos + 4 : pos + 6], "little"), raw[pos + 6]
        parts, pos = parts + raw[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # a whole record, or its last chunk
            yield wandb_internal_pb2.Record.FromString(parts)
            parts = b""


@pytest.mark.skipif(not HAS["wandb"], reason="wandb is not installed (pip install 'paint-lightning[wandb]')")
def test_wandb_offline_run_holds_figures_tables_summary_and_config(logged: Path) -> None:
    (files,) = [p / "files" for p in (logged / "wandb").rglob("offline-run-*") if p.is_dir()]
    report = _report(logged)
    images = [p.name for p in files.rglob("*.png")]
    assert any(n.startswith("alpha_curves") for n in images) and any(n.startswith("tradeoff") for n in images)
    (final_sweep,) = files.rglob("final_sweep_*.table.json")
    table = json.loads(final_sweep.read_text())
    assert table["columns"][:3] == ["alpha", "patches", "other"]
    assert [row[0] for row in table["data"]] == report["alphas"]
    assert [row[1] for row in table["data"]] == pytest.approx(report["tasks"]["patches"]["accuracy"])
    (final_table,) = files.rglob("final_table_*.table.json")
    rows = {row[0]: row for row in json.loads(final_table.read_text())["data"]}
    assert rows["patches"][4] == pytest.approx(report["test"]["tasks"]["patches"]["patched"])
    (store,) = files.parent.glob("run-*.wandb")
    logged_keys, config = {}, {}
    for record in _wandb_records(store):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            logged_keys.update({item.key or "/".join(item.nested_key): item.value_json for item in record.history.item})
        elif kind == "config":
            config.update({item.key or "/".join(item.nested_key): item.value_json for item in record.config.update})
    assert json.loads(logged_keys["final/alpha_star"]) == report["selected_alpha"]
    assert json.loads(config["paint"])["criterion"] == "mean"
    assert os.environ.get("WANDB_MODE") != "offline"  # the fit's environment did not leak
