"""A paper config runs one training step on fake data with a real ViT-B-32 loaded like a downloaded one."""

from __future__ import annotations

from pathlib import Path

import pytest

from paint_lightning.commands.cli import main
from tests.data.registry.fakes import trust_fake_checksums

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_paper_config_takes_one_step_with_vit_b32(
    fake_zoo_download, fake_data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = fake_zoo_download("ViT-B-32", "openai")  # a saved state dict, loaded through open_clip's tag path
    trust_fake_checksums(monkeypatch)
    monkeypatch.setenv("PAINT_DATA_ROOT", str(fake_data_root))
    small_support = '[{dataset: cifar10, templates: ["a photo of a {}."]}]'  # few prompts: a fast head on CPU
    main(
        [
            "fit",
            "--config",
            str(REPO / "configs/paper/vit_b32/mnist.yaml"),
            f"--data.support={small_support}",
            "--data.batch_size=2",
            "--data.num_workers=0",
            "--trainer.max_steps=1",
            "--trainer.accelerator=cpu",
            "--trainer.devices=1",
            "--trainer.limit_val_batches=1",
            "--trainer.num_sanity_val_steps=0",
            "--trainer.enable_checkpointing=false",
            f"--trainer.default_root_dir={tmp_path}",
            "--model.head_cache_dir=null",
            "--model.warmup_steps=0",
            "--sweep.alphas=[0.0, 1.0]",
            "--sweep.export=false",
            "--sweep.final_test=false",
        ]
    )
    assert weights.is_file()
    report = (tmp_path / "lightning_logs" / "version_0" / "paint_report.json").read_text()
    assert '"global_step": 1' in report and '"mnist"' in report and '"cifar10"' in report
