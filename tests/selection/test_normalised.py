import pytest

from paint_lightning.selection.normalised import normalised, normalised_row, reference_of


def test_patch_tasks_are_normalised_by_the_fine_tuned_model_and_the_others_by_the_start() -> None:
    assert reference_of("patch") == "fine_tuned"
    assert reference_of("support") == reference_of("transfer") == "zero_shot"
    patch = {"role": "patch", "zero_shot": 40.0, "fine_tuned": 80.0, "patched": 60.0}
    support = {"role": "support", "zero_shot": 90.0, "fine_tuned": 30.0, "patched": 81.0}
    assert normalised_row(patch) == pytest.approx(75.0)
    assert normalised_row(support) == pytest.approx(90.0)


def test_no_reference_or_a_zero_reference_gives_no_share() -> None:
    assert normalised(50.0, 0.0) is None and normalised(50.0, None) is None and normalised(None, 10.0) is None
    assert normalised_row({"role": "patch", "zero_shot": 1.0, "fine_tuned": 20.0, "patched": None}) is None
    assert normalised(30.0, 20.0) == pytest.approx(150.0)  # above 100% when the mix beats its reference
