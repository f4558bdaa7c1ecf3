import pytest

from paint_lightning.commands.parallel_report import add_normalised, comparison, patched_by, references

ROLES = {"a": "patch", "b": "patch", "s": "support"}


def _rows(a: float, b: float, s: float) -> dict:
    return {
        "a": {"role": "patch", "accuracy": a},
        "b": {"role": "patch", "accuracy": b},
        "s": {"role": "support", "accuracy": s},
    }


def test_each_patch_task_belongs_to_the_one_run_fine_tuned_on_it() -> None:
    provenances = [
        {"tasks": {"a": {"role": "patch"}, "s": {"role": "support"}}},
        None,
        {"tasks": {"a": {"role": "patch"}}},
    ]
    reports = [None, {"tasks": {"b": {"role": "patch"}}}, None]
    assert patched_by(provenances, reports) == {"b": 1}  # 'a' was patched by two runs: no single reference
    assert patched_by(provenances[:2], reports[:2]) == {"a": 0, "b": 1}


def test_patch_tasks_are_normalised_by_their_own_run_and_support_by_zero_shot() -> None:
    runs = [_rows(80.0, 10.0, 50.0), _rows(20.0, 60.0, 40.0)]
    zero = _rows(10.0, 10.0, 90.0)
    refs = references(ROLES, {"a": 0, "b": 1}, runs, zero)
    assert refs == {"a": 80.0, "b": 60.0, "s": 90.0}
    merged = _rows(60.0, 45.0, 72.0)
    add_normalised(merged, refs)
    assert [merged[t]["normalised"] for t in "abs"] == pytest.approx([75.0, 75.0, 80.0])
    assert references(ROLES, {"a": 0}, runs, zero)["b"] is None


def test_the_table_says_which_numbers_are_held_out_and_which_test() -> None:
    zero = _rows(10.0, 10.0, 90.0)
    runs = {"run0": _rows(80.0, 10.0, 50.0), "run1": _rows(20.0, 60.0, 40.0)}
    merged = _rows(60.0, 45.0, 72.0)
    refs = {"a": 80.0, "b": 60.0, "s": 90.0}
    for rows in (zero, *runs.values(), merged):
        add_normalised(rows, refs)
    method = {"mix": [0.5, 0.5], "objective": 61.25, "evaluations": 25, "test": merged}
    lines = comparison({"parallel": method}, zero, runs).splitlines()
    assert "held-out" in lines[1] and "test accuracy %" in lines[1] and "test normalised %" in lines[1]
    assert lines[2].split() == ["method", "coefficients", "objective", "evaluations"] + ["patch", "support"] * 2
    assert lines[3].split() == ["zero-shot", "0", "-", "-", "10.00", "90.00", "14.58", "100.00"]  # (12.5 + 16.67) / 2
    assert lines[4].split()[:2] == ["run0", "1,0"] and lines[5].split()[:2] == ["run1", "0,1"]
    assert lines[6].split() == ["parallel", "0.5,0.5", "61.25", "25", "52.50", "72.00", "75.00", "80.00"]
