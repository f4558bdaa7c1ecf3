"""`paint export --format hub`: a Hugging Face repository folder that plain open_clip loads as hf-hub:."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import open_clip
import pytest
import torch
import torch.nn.functional as F

from paint_lightning.commands import hub_export
from paint_lightning.commands.cli import main
from paint_lightning.commands.model_card import base_model, front_matter
from paint_lightning.engine.record import final_table
from paint_lightning.interpolation.combine import InPlaceCombiner, tower_tensors
from paint_lightning.interpolation.mix import Mix
from paint_lightning.io.files import sha256_file
from paint_lightning.models.run_loading import load_run
from tests.models.test_hub import REVISION, hub_cache  # noqa: F401 (the fixture)
from tests.run_fixtures import MEAN

HUB_FILES = {"open_clip_config.json", "open_clip_model.safetensors", "README.md", "accuracy_vs_alpha.png"}


def _copy_into_cache(folder: Path, cache: Path, repo_id: str) -> Path:
    """``folder`` as the hub would leave it in a cache after a download: refs/main and one snapshot."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REVISION, encoding="utf-8")
    shutil.copytree(folder, repo / "snapshots" / REVISION)
    return repo


def _logits(run: Path, alpha: float, images: torch.Tensor) -> tuple[torch.Tensor, object]:
    module = load_run(run).module
    live, start = module.patch_towers()
    with torch.no_grad(), InPlaceCombiner(tower_tensors(live), tower_tensors(start)) as combiner:
        combiner.set(Mix.of(alpha))
        return module(images, "patches"), module


def test_hub_export_loads_as_hf_hub_offline_with_identical_logits_and_no_checkpoint_warning(
    tiny_run,
    tmp_path,
    hub_cache,  # noqa: F811 (the fixture imported above)
    caplog,
):
    out = tmp_path / "hub"
    main(
        [
            "export",
            "--run",
            str(tiny_run),
            "--alpha",
            "0.25",
            "--format",
            "hub",
            "--repo",
            "org/tiny",
            "--out",
            str(out),
        ]
    )
    assert HUB_FILES | {"patched.json", "paint_report.json"} == {p.name for p in out.iterdir()}
    _copy_into_cache(out, hub_cache, "org/tiny")
    caplog.set_level(logging.INFO)
    model, _, preprocess = open_clip.create_model_and_transforms("hf-hub:org/tiny")  # HF_HUB_OFFLINE=1
    assert "Multiple checkpoints found" not in caplog.text and "initialized randomly" not in caplog.text.lower()
    assert list(preprocess.transforms[-1].mean) == pytest.approx(MEAN)
    images = torch.rand(4, 3, 16, 16)
    ours, module = _logits(tiny_run, 0.25, images)
    model.eval()
    with torch.no_grad():
        theirs = F.normalize(model.encode_image(images), dim=-1) @ module.heads["patches"].t()
    torch.testing.assert_close(theirs, ours, rtol=0, atol=0)
    caplog.clear()
    open_clip.create_model_and_transforms(f"local-dir:{out}")
    assert "Multiple checkpoints found" not in caplog.text  # the plain export (patched.safetensors) logs it
    main(["model", "check", "--model", "hf-hub:org/tiny"])  # the cache copy is complete (exit 0)


def test_the_plain_export_is_what_logs_multiple_checkpoints(tiny_run, tmp_path, caplog):
    out = tmp_path / "plain"
    main(["export", "--run", str(tiny_run), "--out", str(out)])
    caplog.set_level(logging.INFO)
    open_clip.create_model_and_transforms(f"local-dir:{out}")
    assert "Multiple checkpoints found" in caplog.text  # why the hub folder names its weights as open_clip expects


def test_hub_card_records_the_model_alpha_tests_figure_data_licence_and_citation(tiny_run, tmp_path):
    out = tmp_path / "card"
    main(["export", "--run", str(tiny_run), "--format", "hub", "--out", str(out)])
    report = json.loads((tiny_run / "paint_report.json").read_text())
    card = (out / "README.md").read_text()
    header = card.split("---")[1]
    assert "library_name: open_clip" in header and "license: other" in header and "license_name: unknown" in header
    assert "  - open_clip" in header and "base_model" not in header  # a local file has no hub id
    for section in ("## Base model", "## Tasks", "## Alpha", "## Results", "## Accuracy vs alpha"):
        assert section in card, section
    for section in ("## Data provenance", "## Usage", "## Licence", "## Citation", "ilharco2022patching"):
        assert section in card, section
    assert final_table(report["test"]["tasks"], report["selected_alpha"], "test") in card
    assert f"chose alpha* = {report['selected_alpha']:g} by `{report['criterion']}`" in card
    assert "alpha* as the run chose it" in card and "| patches | patch | 4 | 1 |" in card
    assert (
        "(accuracy_vs_alpha.png)" in card and (out / "accuracy_vs_alpha.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    )
    assert "ColourPatchSource" in card and "split_seed = 0" in card and "hf-hub:<org>/<name>" in card
    meta = json.loads((out / "patched.json").read_text())
    assert meta["weights"] == "open_clip_model.safetensors" and meta["format"] == "hub"
    assert meta["sha256"] == sha256_file(out / "open_clip_model.safetensors")
    assert (out / "open_clip_model.safetensors").read_bytes() == (tiny_run / "patched.safetensors").read_bytes()
    assert json.loads((out / "paint_report.json").read_text()) == report
    config = json.loads((out / "open_clip_config.json").read_text())
    assert set(config) == {"model_cfg", "preprocess_cfg"} and config["model_cfg"]["quick_gelu"] is True


def test_hub_card_at_another_alpha_has_no_test_table_and_says_alpha_was_given(tiny_run, tmp_path):
    out = tmp_path / "given"
    report = json.loads((tiny_run / "paint_report.json").read_text())
    alpha = next(a for a in report["alphas"] if a != report["selected_alpha"])
    main(
        [
            "export",
            "--run",
            str(tiny_run),
            "--alpha",
            str(alpha),
            "--format",
            "hub",
            "--license",
            "mit",
            "--out",
            str(out),
        ]
    )
    card = (out / "README.md").read_text()
    assert "license: mit" in card.split("---")[1] and "This export: `mit`" in card
    assert "a mix given with --alpha/--mix" in card and "No test accuracies were measured at this mix" in card
    assert "PAINT result on the test splits" not in card
    assert json.loads((out / "patched.json").read_text())["alpha"] == alpha


@pytest.mark.parametrize(
    ("clip", "hub_id", "licence"),
    [
        ({"name": "ViT-B-32", "pretrained": "openai"}, "timm/vit_base_patch32_clip_224.openai", "mit"),
        ({"name": "ViT-B-32", "pretrained": "laion2b_s34b_b79k"}, "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", None),
        ({"name": "hf-hub:org/base"}, "org/base", None),
    ],
)
def test_base_model_of_zoo_tags_and_hub_names(clip, hub_id, licence):
    base = base_model(clip)
    assert base["hub_id"] == hub_id and base["licence"] == licence
    header = front_matter(base, None)
    assert f"base_model: {hub_id}" in header
    if licence is None:  # never invented: unknown, with where to look
        assert "license: other" in header and f"license_link: https://huggingface.co/{hub_id}" in header
    else:
        assert f"license: {licence}" in header and "license_name" not in header


def test_hub_export_refuses_a_full_folder_replaces_with_overwrite_and_never_leaves_half_a_folder(
    tiny_run, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "again"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--run", str(tiny_run), "--format", "hub", "--out", str(out)])
    assert exit_info.value.code == 2 and "is not empty" in capsys.readouterr().err
    monkeypatch.setattr(hub_export, "model_card", lambda *args: 1 / 0)  # fails after the weights are written
    with pytest.raises(SystemExit):
        main(["export", "--run", str(tiny_run), "--format", "hub", "--out", str(out), "--overwrite", "true"])
    assert [p.name for p in tmp_path.iterdir()] == ["again"] and [p.name for p in out.iterdir()] == ["mine.txt"]
    monkeypatch.undo()
    main(["export", "--run", str(tiny_run), "--format", "hub", "--out", str(out), "--overwrite", "true"])
    assert {p.name for p in out.iterdir()} >= HUB_FILES and not (out / "mine.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["again"]


def test_repo_and_license_need_format_hub(tiny_run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--run", str(tiny_run), "--repo", "org/x", "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 2 and "add --format hub" in capsys.readouterr().err


def test_a_hub_export_refuses_a_repo_that_is_not_org_name_before_reading_the_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--run", str(tmp_path / "no_run"), "--format", "hub", "--repo", "tiny", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--repo='tiny'" in err and "org/name" in err and "no_run" not in err
