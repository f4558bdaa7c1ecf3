"""Every config under configs/ parses through the CLI and its tasks resolve against fake data roots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paint_lightning.commands.data import config_tasks, run
from tests.data.registry.fakes import trust_fake_checksums

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO / "configs" / "paper" / "shared"
FRAGMENTS = sorted(SHARED.glob("*.yaml"))
# Fragments (any shared/ folder), pretraining recipes (world/), paint sequential chains (chains/) and the
# configs of the commands without a Trainer (named after them: predict_*, sweep_*, parallel_*) are no fit configs.
RUNNABLE = sorted(
    p
    for p in REPO.glob("configs/**/*.yaml")
    if not {"shared", "chains"} & set(p.relative_to(REPO).parts)
    and p.parent.name != "world"
    and p.name.split("_")[0] not in ("predict", "sweep", "parallel")
)
PAPER = [p for p in RUNNABLE if "paper" in p.parts]


@pytest.fixture
def user_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_data_root: Path) -> Path:
    """A working directory with the example configs' own data, and PAINT_DATA_ROOT on the fakes."""
    trust_fake_checksums(monkeypatch)
    monkeypatch.setenv("PAINT_DATA_ROOT", str(fake_data_root))
    monkeypatch.chdir(tmp_path)
    for task in ("my_task", "my_support"):
        for split in ("train", "test"):
            for name in ("ant", "bee"):
                folder = tmp_path / "data" / task / split / name
                folder.mkdir(parents=True)
                Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(folder / "0.png")
    parts = tmp_path / "data" / "parts"
    parts.mkdir(parents=True)
    for split, rows in (("train", ["a.png,gear", "b.png,bolt"]), ("test", ["c.png,gear"])):
        for row in rows:
            Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(parts / row.split(",")[0])
        (parts / f"{split}.csv").write_text("\n".join(["path,label", *rows]) + "\n")
    return tmp_path


def test_there_are_paper_configs_for_every_patching_task_and_both_models() -> None:
    from paint_lightning.data.registry import PATCHING_TASKS

    for model in ("vit_b32", "vit_l14", "vit_b16", "siglip_vit_b16"):
        assert {p.stem for p in (REPO / "configs" / "paper" / model).glob("*.yaml")} == set(PATCHING_TASKS)
    used = "\n".join(p.read_text() for p in PAPER)
    assert all(fragment.name in used for fragment in FRAGMENTS if fragment.name != "support_light.yaml")


@pytest.mark.parametrize("config", RUNNABLE, ids=lambda p: str(p.relative_to(REPO)))
def test_config_parses_and_every_task_has_its_data(config: Path, user_data: Path, capsys) -> None:
    assert run("check", [str(config)], quick=True), capsys.readouterr().out


@pytest.mark.parametrize("config", PAPER[:3], ids=lambda p: str(p.relative_to(REPO)))
def test_light_support_replaces_imagenet_and_keeps_the_rest(config: Path, user_data: Path, capsys) -> None:
    light = str(SHARED / "support_light.yaml")
    tasks = config_tasks([str(config), light])
    supports = [ns.dataset for field, role, ns in tasks if role == "support"]
    assert supports[-3:] == ["cifar10", "cifar100", "stl10"] and "imagenet" not in supports
    assert [role for _, role, _ in tasks].count("patch") == 1
    assert run("check", [str(config), light], quick=True), capsys.readouterr().out


@pytest.mark.parametrize("config", sorted(REPO.glob("configs/paper/transfer/*.yaml")), ids=lambda p: p.stem)
def test_transfer_pairs_watch_the_second_data_set_without_protecting_it(config: Path) -> None:
    tasks = config_tasks([str(config)])
    first, second = config.stem.split("_", 2)[2].split("_to_")
    roles = {ns.dataset: role for _, role, ns in tasks}
    assert roles == {first: "patch", second: "transfer", "imagenet": "support"}


def test_paper_recipe_reaches_the_parsed_config() -> None:
    from paint_lightning.commands.cli import PaintCLI
    from paint_lightning.data import PaintDataModule
    from paint_lightning.models import PaintModule

    class Parsed(Exception):
        pass

    captured = {}

    class ParseOnly(PaintCLI):
        def instantiate_classes(self) -> None:
            captured["config"] = self.config
            raise Parsed

    with pytest.raises(Parsed):
        ParseOnly(PaintModule, PaintDataModule, args=["fit", "--config", str(REPO / "configs/paper/vit_l14/dtd.yaml")])
    fit = captured["config"]["fit"]
    assert fit.trainer.max_steps == 2000 and fit.model.lr == 1e-5 and fit.model.weight_decay == 0.1
    assert fit.model.clip.name == "ViT-L-14" and fit.model.clip.pretrained == "openai"
    assert fit.data.batch_size == 128 and fit.model.scheduler == "cosine" and fit.model.warmup_steps == 500
    assert fit.sweep.criterion == "mean" and fit.sweep.alphas == [round(0.1 * i, 1) for i in range(11)]
    assert fit.data.patch[0].dataset == "dtd" and fit.data.patch[0].heldout_from == "val"


def test_readme_csv_yaml_is_the_example_config_and_patches_on_a_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_data_root: Path
) -> None:
    import json
    import re

    import yaml

    from paint_lightning.commands.cli import main

    readme = (REPO / "README.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "CSVSource" in b)
    example = REPO / "configs" / "examples" / "csv_task.yaml"
    assert yaml.safe_load(block) == yaml.safe_load(example.read_text())
    assert len(block.strip().splitlines()) <= 10
    # The user's images and CSV files, relative to the working directory as in the example.
    trust_fake_checksums(monkeypatch)
    monkeypatch.setenv("PAINT_DATA_ROOT", str(fake_data_root))
    monkeypatch.chdir(tmp_path)
    parts = tmp_path / "data" / "parts"
    (parts / "img").mkdir(parents=True)
    rows = {"train": [], "test": []}
    for i in range(12):
        label = "gear" if i % 2 else "bolt"
        Image.fromarray(np.full((8, 8, 3), 200 if i % 2 else 30, np.uint8)).save(parts / "img" / f"{i}.png")
        rows["test" if i >= 8 else "train"].append(f"img/{i}.png,{label}")
    for split, lines in rows.items():
        (parts / f"{split}.csv").write_text("\n".join(["path,label", *lines]) + "\n")
    tiny = yaml.safe_load((REPO / "tests" / "conf" / "tiny.yaml").read_text())
    tiny["model"]["clip"].update(name=None, pretrained=None)  # the tiny inline CLIP instead of ViT-B-32
    (tmp_path / "tiny_model.yaml").write_text(yaml.safe_dump({"trainer": tiny["trainer"], "model": tiny["model"]}))
    main(
        [
            "fit",
            "--config",
            str(example),
            "--config",
            str(tmp_path / "tiny_model.yaml"),
            '--data.support=[{dataset: cifar10, templates: ["a photo of a {}."]}]',
            "--data.batch_size=4",
            "--data.num_workers=0",
            "--data.heldout_fraction=0.25",
            f"--trainer.default_root_dir={tmp_path}",
            "--sweep.export=false",
        ]
    )
    report = json.loads((tmp_path / "lightning_logs" / "version_0" / "paint_report.json").read_text())
    assert report["tasks"]["parts"]["role"] == "patch" and report["tasks"]["parts"]["num_examples"] == 2
    assert report["test"]["tasks"]["parts"]["num_examples"] == 4
