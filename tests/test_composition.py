"""Composed configs mean what their files say: a later config or flag replaces a list, ``+`` appends."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonargparse import ActionConfigFile, ArgumentParser

from paint_lightning.commands.cli import main
from paint_lightning.commands.data import config_tasks
from paint_lightning.composition import compose_as_written, is_list_type
from paint_lightning.data.synthetic import ColourPatchSource
from tests.commands.test_cli import CONFIGS, OWN_COMMANDS

REPO = Path(__file__).resolve().parents[1]
ROLES = ("patch", "support", "transfer")
SOURCE = "paint_lightning.data.synthetic.ColourPatchSource"
GIVEN_INIT = {"num_classes": 2, "num_train": 10, "num_test": 3, "seed": 9}


def _printed(capsys: pytest.CaptureFixture[str], command: str, *configs: str | Path) -> dict[str, Any]:
    args = [command, *(item for config in configs for item in ("--config", str(config))), "--print_config"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code in (0, None), capsys.readouterr().err
    return yaml.safe_load(capsys.readouterr().out)


def _command(config: Path) -> str:
    if config.name.startswith("world_") or config.parent.name == "world":
        return "pretrain"
    prefix = config.name.split("_")[0]
    return prefix if prefix in OWN_COMMANDS else "fit"


# -- the seam on its own ---------------------------------------------------------------------------


@dataclass
class _Item:
    name: str | None = None
    kind: str | None = None
    tags: list[str] | None = None


def _toy_parser() -> ArgumentParser:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--config", action=ActionConfigFile)
    parser.add_argument("--items", type=list[_Item], default=[])
    parser.add_argument("--section.size", type=int, default=1)
    parser.add_argument("--section.name", type=str, default="a")
    return compose_as_written(parser)


def test_list_types_are_recognised_through_optional_and_union() -> None:
    assert is_list_type(list[int]) and is_list_type(list[_Item] | None) and is_list_type(tuple[float, ...])
    assert not is_list_type(int) and not is_list_type(dict[str, int]) and not is_list_type(str | None)


def test_a_later_config_replaces_a_list_of_the_same_length_whole(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("items: [{name: digits, tags: [x]}]\nsection: {size: 3, name: b}\n")
    second = tmp_path / "b.yaml"
    second.write_text("items: [{kind: other}]\nsection: {size: 5}\n")
    config = _toy_parser().parse_args(["--config", str(first), "--config", str(second)])
    (item,) = [dict(vars(item)) if not isinstance(item, dict) else dict(item) for item in config["items"]]
    # Nothing of the earlier item is left (older jsonargparse keeps unset fields out of the dict).
    assert item.pop("kind") == "other" and all(value is None for value in item.values()), item
    assert config.section.size == 5 and config.section.name == "b"  # sections still compose key by key


def test_plus_appends_in_a_config_and_as_a_flag(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("items: [{name: one}]\n")
    second = tmp_path / "b.yaml"
    second.write_text("items+: [{name: two}]\n")
    config = _toy_parser().parse_args(["--config", str(first), "--config", str(second), "--items+", "{name: three}"])
    assert [item["name"] for item in config["items"]] == ["one", "two", "three"]


def test_a_flag_replaces_a_list_given_by_a_config(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("items: [{name: digits, tags: [x]}]\n")
    config = _toy_parser().parse_args(["--config", str(first), "--items", "[{kind: other}]"])
    assert config["items"][0]["name"] is None and config["items"][0]["kind"] == "other"


# -- the cases, through the real CLI ------------------------------------------------------------


@pytest.fixture
def digits_then_fashion(tmp_path: Path) -> tuple[Path, Path]:
    a = tmp_path / "a.yaml"
    a.write_text('data:\n  patch: [{name: digits, dataset: mnist, templates: ["a photo of the number {}."]}]\n')
    b = tmp_path / "b.yaml"
    b.write_text("data:\n  patch: [{dataset: fashion_mnist}]\n")
    return a, b


def test_a_later_task_list_does_not_inherit_the_earlier_tasks_name_and_templates(digits_then_fashion, capsys) -> None:
    a, b = digits_then_fashion
    patch = _printed(capsys, "fit", REPO / "tests/conf/tiny.yaml", a, b)["data"]["patch"]
    assert len(patch) == 1
    assert patch[0]["dataset"] == "fashion_mnist"
    assert patch[0]["name"] is None and patch[0]["templates"] is None and patch[0]["source"] is None


def test_a_short_form_task_after_the_quickstart_has_no_source_left_over(digits_then_fashion, capsys) -> None:
    _, b = digits_then_fashion
    data = _printed(capsys, "fit", REPO / "configs/quickstart.yaml", b)["data"]
    assert [(task["dataset"], task["source"], task["name"]) for task in data["patch"]] == [
        ("fashion_mnist", None, None)
    ]
    assert [task["name"] for task in data["support"]] == ["shapes", "colours", "counts"]  # untouched


def test_paint_data_check_sees_the_replacing_task_without_the_earlier_heldout_from() -> None:
    dtd = str(REPO / "configs/paper/vit_b32/dtd.yaml")
    tasks = config_tasks([dtd, "{data: {patch: [{dataset: mnist}]}}"])
    patch = [namespace for _, role, namespace in tasks if role == "patch"]
    assert [(ns.dataset, ns.heldout_from) for ns in patch] == [("mnist", "train")]


# -- every shipped config, alone and with a later config replacing its task lists -------------------------


def _replacement(index: int) -> dict[str, Any]:
    return {"name": f"replaced{index}", "source": {"class_path": SOURCE, "init_args": dict(GIVEN_INIT)}}


def _expected_item(index: int) -> dict[str, Any]:
    """What a fresh task written as :func:`_replacement` parses to: nothing of the earlier item."""
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(ColourPatchSource).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    return {
        "name": f"replaced{index}",
        "source": {"class_path": SOURCE, "init_args": {**defaults, **GIVEN_INIT}},
        "classnames": None,
        "templates": None,
        "heldout_from": "train",
        "dataset": None,
        "root": None,
        "download": False,
        "options": None,
    }


# -- the paper configs mean what their files say ------------------------------------------------------------


PAPER = sorted((REPO / "configs/paper").glob("*vit_*/*.yaml"))
PAPER += sorted((REPO / "configs/paper/transfer").glob("*.yaml"))


def _assert_holds(printed: dict[str, Any], written: dict[str, Any], where: str) -> None:
    """Every key the file writes has the written value in the parsed config (nested groups: the same)."""
    for key, value in written.items():
        if isinstance(value, dict):
            _assert_holds(printed[key], value, f"{where}.{key}")
        else:
            assert printed[key] == value, f"{where}.{key}"


def _assert_means_what_it_says(config: Path, printed: dict[str, Any]) -> None:
    """A paper config holds exactly its fragments (trainer, model, sweep) and its own tasks."""
    written = yaml.safe_load(config.read_text())
    for group in ("trainer", "model", "sweep"):
        fragment = written[group]
        values = yaml.safe_load((config.parent / fragment).read_text()) if isinstance(fragment, str) else fragment
        _assert_holds(printed[group], values, group)
    for role in ROLES:
        tasks = written["data"].get(role) or []
        assert len(printed["data"][role] or []) == len(tasks), role
        for task, shown in zip(tasks, printed["data"][role] or [], strict=True):
            _assert_holds(shown, task, f"data.{role}")
            assert shown["source"] is None and shown["name"] is None  # nothing from anywhere else


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_config_parses_alone_and_with_its_task_lists_replaced(config: Path, tmp_path, capsys) -> None:
    command = _command(config)
    alone = _printed(capsys, command, config)
    assert OWN_COMMANDS.get(command, "trainer" if command == "fit" else "data") in alone
    if config in PAPER:
        _assert_means_what_it_says(config, alone)
    lists = {role: tasks for role, tasks in (alone.get("data") or {}).items() if role in ROLES and tasks}
    if not lists:
        assert command in ("pretrain", "predict"), f"{config} has no task list"
        return
    later = tmp_path / "later.yaml"
    later.write_text(
        yaml.safe_dump({"data": {role: [_replacement(i) for i in range(len(t))] for role, t in lists.items()}})
    )
    composed = _printed(capsys, command, config, later)
    for role, tasks in lists.items():
        assert composed["data"][role] == [_expected_item(i) for i in range(len(tasks))], role
    for key in alone:
        if key != "data":
            assert composed[key] == alone[key], key
    assert {k: v for k, v in composed["data"].items() if k not in lists} == {
        k: v for k, v in alone["data"].items() if k not in lists
    }
