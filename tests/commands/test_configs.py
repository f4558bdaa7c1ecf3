import pytest
import yaml

from paint_lightning.commands.cli import main
from paint_lightning.io.shipped import CONFIGS


def test_list_shows_every_shipped_config_with_its_first_comment(capsys) -> None:
    main(["configs", "list"])
    lines = capsys.readouterr().out.splitlines()
    quick = next(line for line in lines if line.startswith("quickstart "))
    assert "offline world" in quick and len(lines) == len(list(CONFIGS.rglob("*.yaml")))


def test_copy_takes_the_fragments_a_config_includes_and_the_copy_parses_alike(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    main(["configs", "copy", "paper/vit_b32/sun397", "mine"])
    copied = tmp_path / "mine/paper/vit_b32/sun397.yaml"
    assert copied.read_bytes() == (CONFIGS / "paper/vit_b32/sun397.yaml").read_bytes()
    for fragment in ("trainer", "vit_b32", "sweep"):
        assert (tmp_path / f"mine/paper/shared/{fragment}.yaml").is_file()
    capsys.readouterr()
    from_copy = _printed_config(["--config", str(copied)], capsys)
    assert from_copy == _printed_config(["--config", "paper/vit_b32/sun397"], capsys)
    assert from_copy["model"]["clip"]["name"] == "ViT-B-32"  # the fragment was read


def test_copy_refuses_to_overwrite_a_changed_file(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    main(["configs", "copy", "quickstart", "c"])
    (tmp_path / "c/quickstart.yaml").write_text("seed_everything: 7\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["configs", "copy", "quickstart", "c"])
    assert exit_info.value.code != 0 and "already exist(s) and differ(s)" in capsys.readouterr().err
    main(["configs", "copy", "quickstart", "c", "--force"])
    assert (tmp_path / "c/quickstart.yaml").read_bytes() == (CONFIGS / "quickstart.yaml").read_bytes()


def test_show_of_an_unknown_name_says_how_to_list(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["configs", "show", "quickstrat"])
    assert "paint configs list" in capsys.readouterr().err


def test_a_shipped_config_by_name_works_from_any_folder(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # no configs/ here
    printed = _printed_config(["--config", "quickstart"], capsys)
    assert printed["sweep"]["max_support_drop"] == 1.5 and printed["data"]["patch"][0]["name"] == "digits"


def _printed_config(flags: list[str], capsys) -> dict:
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *flags, "--print_config"])
    assert exit_info.value.code in (0, None)
    return yaml.safe_load(capsys.readouterr().out)
