"""Composed configs mean what their files say: a later mapping or dotted flag merges into the earlier mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from paint_lightning.commands.cli import main
from paint_lightning.composition import is_dict_type, merge_mappings

REPO = Path(__file__).resolve().parents[1]
TINY_FIT = REPO / "tests/conf/tiny.yaml"
RECIPE = REPO / "configs/world/pretrain.yaml"


def _printed(capsys: pytest.CaptureFixture[str], command: str, *args: str) -> dict[str, Any]:
    with pytest.raises(SystemExit) as exit_info:
        main([command, *args, "--print_config"])
    assert exit_info.value.code in (0, None), capsys.readouterr().err
    return yaml.safe_load(capsys.readouterr().out)


def _later(tmp_path: Path, text: str) -> str:
    path = tmp_path / "later.yaml"
    path.write_text(text)
    return str(path)


def test_mappings_merge_at_any_depth_and_other_values_are_replaced() -> None:
    earlier = {"a": 1, "v": {"width": 192, "layers": 4, "sizes": [1, 2]}, "t": {"w": 1}}
    later = {"v": {"width": 384, "sizes": [3]}, "t": None, "new": {"x": 1}}
    merged = merge_mappings(earlier, later)
    assert merged == {"a": 1, "v": {"width": 384, "layers": 4, "sizes": [3]}, "t": None, "new": {"x": 1}}
    assert earlier["v"]["width"] == 192  # the earlier mapping is not modified
    assert is_dict_type(dict[str, Any] | None) and not is_dict_type(list[dict[str, Any]])


def test_a_dotted_pretrain_flag_sets_one_key_of_the_model_config_as_a_number(capsys) -> None:
    alone = _printed(capsys, "pretrain", "--config", str(RECIPE))["model"]["model_cfg"]
    flagged = _printed(capsys, "pretrain", "--config", str(RECIPE), "--model.model_cfg.vision_cfg.width", "384")
    cfg = flagged["model"]["model_cfg"]
    assert cfg["vision_cfg"]["width"] == 384 and isinstance(cfg["vision_cfg"]["width"], int)
    alone["vision_cfg"]["width"] = 384
    assert cfg == alone  # image size, patch size, layers, head width and the text tower are kept


def test_a_later_pretrain_config_changes_only_the_keys_it_gives(tmp_path, capsys) -> None:
    alone = _printed(capsys, "pretrain", "--config", str(RECIPE))["model"]["model_cfg"]
    later = _later(tmp_path, "model:\n  model_cfg:\n    vision_cfg: {layers: 8}\n    text_cfg: {layers: 6}\n")
    cfg = _printed(capsys, "pretrain", "--config", str(RECIPE), "--config", later)["model"]["model_cfg"]
    alone["vision_cfg"]["layers"], alone["text_cfg"]["layers"] = 8, 6
    assert cfg == alone


def test_a_dotted_fit_flag_and_a_later_config_merge_into_the_inline_clip_config(tmp_path, capsys) -> None:
    alone = _printed(capsys, "fit", "--config", str(TINY_FIT))["model"]["clip"]
    flagged = _printed(capsys, "fit", "--config", str(TINY_FIT), "--model.clip.config.vision_cfg.width", "64")
    expected = merge_mappings(alone, {"config": {"vision_cfg": {"width": 64}}})
    assert flagged["model"]["clip"] == expected and expected["config"]["vision_cfg"]["layers"] == 1
    later = _later(tmp_path, "model:\n  clip:\n    config:\n      vision_cfg: {width: 64}\n")
    assert _printed(capsys, "fit", "--config", str(TINY_FIT), "--config", later)["model"]["clip"] == expected


def test_a_later_config_can_still_switch_the_model_source(tmp_path, capsys) -> None:
    later = _later(tmp_path, "model:\n  clip:\n    config: null\n    name: ViT-B-32\n    pretrained: openai\n")
    clip = _printed(capsys, "fit", "--config", str(TINY_FIT), "--config", later)["model"]["clip"]
    assert clip["config"] is None and clip["name"] == "ViT-B-32" and clip["pretrained"] == "openai"
