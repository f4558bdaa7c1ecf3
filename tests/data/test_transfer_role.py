"""The transfer role: evaluated at every alpha and reported, never trained on, never selected on."""

import pytest
from torchvision import transforms as T

from paint_lightning.data import PaintDataModule, Task
from paint_lightning.data.synthetic import ColourPatchSource
from paint_lightning.engine.record import final_table, summary_line
from tests.callbacks.helpers import fit_tiny
from tests.conftest import tiny_datamodule


def _with_transfer(**kwargs) -> PaintDataModule:
    dm = tiny_datamodule(**kwargs)
    watched = Task("watched", ColourPatchSource(num_classes=4, num_train=40, num_test=20, seed=7))
    return PaintDataModule(
        patch=dm.patch, support=dm.support, transfer=[watched], batch_size=16, num_workers=0, heldout_fraction=0.25
    )


def test_transfer_tasks_get_heads_heldout_and_test_sets_but_no_training_images() -> None:
    dm = _with_transfer()
    assert [(s.name, s.role) for s in dm.task_specs()] == [
        ("patches", "patch"),
        ("other", "support"),
        ("watched", "transfer"),
    ]
    dm.set_transforms(T.ToTensor(), T.ToTensor())
    dm.setup("fit")
    assert set(dm.heldout_sets) == set(dm.test_sets) == {"patches", "other", "watched"}
    assert len(dm.train_set.datasets) == 1 and {dm.train_set[i][2] for i in range(len(dm.train_set))} == {0}
    assert dm.provenance()["tasks"]["watched"]["role"] == "transfer"


def test_a_name_used_in_two_roles_is_refused() -> None:
    task = Task("same", ColourPatchSource())
    with pytest.raises(ValueError, match=r"used twice in data\.patch/data\.support/data\.transfer"):
        PaintDataModule(patch=[Task("p", ColourPatchSource())], support=[task], transfer=[task])
    with pytest.raises(ValueError, match=r"data.transfer\[0\].name='bad name'"):
        PaintDataModule(patch=[Task("p", ColourPatchSource())], transfer=[Task("bad name", ColourPatchSource())])


def test_a_fit_reports_transfer_tasks_and_selects_as_without_them(tmp_path, monkeypatch) -> None:
    from paint_lightning.callbacks import InterpolationSweep

    plain = InterpolationSweep(alphas=[0.0, 0.5, 1.0], log_figures=False)
    fit_tiny(tmp_path / "plain", [plain], epochs=1)
    monkeypatch.setattr("tests.callbacks.helpers.tiny_datamodule", _with_transfer)
    watched = InterpolationSweep(alphas=[0.0, 0.5, 1.0], log_figures=False)
    fit_tiny(tmp_path / "watched", [watched], epochs=1)
    a, b = plain.history[-1], watched.history[-1]
    assert b["tasks"]["watched"]["role"] == "transfer" and len(b["tasks"]["watched"]["accuracy"]) == 3
    # Training and selection do not see the transfer task: same curves, objective and alpha*.
    assert a["selected_alpha"] == b["selected_alpha"] and a["objective"] == b["objective"]
    for name in ("patches", "other"):
        assert a["tasks"][name]["accuracy"] == b["tasks"][name]["accuracy"]
    assert b["patch_accuracy"] == a["patch_accuracy"] and b["support_accuracy"] == a["support_accuracy"]
    assert watched.test_result["tasks"]["watched"]["role"] == "transfer"
    line = summary_line(b)
    assert "transfer" in line and "watched" in line
    table = final_table(watched.test_result["tasks"], b["selected_alpha"], "test")
    assert "mean      transfer" in table


def test_tables_keep_their_layout_without_transfer_tasks() -> None:
    rows = {
        "digits": {"role": "patch", "zero_shot": 43.25, "fine_tuned": 97.25, "patched": 83.0},
        "shapes": {"role": "support", "zero_shot": 87.3, "fine_tuned": 57.7, "patched": 82.1},
    }
    assert final_table(rows, 0.4, "test").splitlines() == [
        "PAINT result on the test splits (alpha* = 0.4; test accuracy, %)",
        "task      role     zero-shot  fine-tuned  patched  normalised",
        "digits    patch        43.25       97.25    83.00       85.35",
        "shapes    support      87.30       57.70    82.10       94.04",
        "mean      patch        43.25       97.25    83.00       85.35",
        "mean      support      87.30       57.70    82.10       94.04",
        "normalised: patched / fine-tuned on patch tasks, patched / zero-shot on support tasks (%)",
    ]
    record = {
        "selected_alpha": 0.5,
        "alphas": [0.0, 0.5],
        "tied_alphas": [0.5],
        "tasks": {
            "a": {"role": "patch", "accuracy": [10.0, 50.0], "interval": [[9, 11], [47.0, 53.0]]},
            "b": {"role": "patch", "accuracy": [20.0, 70.0], "interval": [[19, 21], [66.0, 74.0]]},
            "s": {"role": "support", "accuracy": [90.0, 88.0], "interval": [[89, 91], [87.0, 89.0]]},
        },
    }
    # The patch mean reaches sqrt(3^2 + 4^2) / 2 = 2.5 points each way.
    assert summary_line(record) == (
        "alpha* = 0.5: patch 60.00% [57.50, 62.50] (a 50.00, b 70.00), support 88.00% [87.00, 89.00]"
    )
