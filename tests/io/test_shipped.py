from pathlib import Path

from paint_lightning.io.shipped import CONFIGS, config_file, resolve_config_args, shipped_configs, shipped_file


def test_shipped_configs_are_found_by_short_name_or_repository_path() -> None:
    assert config_file("quickstart") == CONFIGS / "quickstart.yaml"
    assert config_file("paper/vit_l14/sun397") == CONFIGS / "paper/vit_l14/sun397.yaml"
    assert config_file("configs/paper/vit_l14/sun397.yaml") == CONFIGS / "paper/vit_l14/sun397.yaml"
    assert config_file("nope") is None and config_file("../pyproject.toml") is None
    names = shipped_configs()
    assert "quickstart" in names and "paper/shared/trainer" in names and names == sorted(names)
    assert all((CONFIGS / f"{name}.yaml").is_file() for name in names)


def test_the_repository_configs_folder_is_the_packaged_one() -> None:
    repo = Path(__file__).resolve().parents[2] / "configs"
    assert repo.resolve() == CONFIGS.resolve()


def test_repository_relative_names_of_shipped_files_resolve_inside_the_package() -> None:
    assert shipped_file("paint_lightning/world/assets/world_clip.safetensors").is_file()
    assert shipped_file("configs/world/pretrain.yaml") == CONFIGS / "world/pretrain.yaml"
    assert shipped_file("configs/missing.yaml") is None and shipped_file("elsewhere/x.yaml") is None


def test_config_flags_naming_no_file_here_take_the_shipped_config(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("seed_everything: 1\n")
    (tmp_path / "quickstart").write_text("a local file of that name wins\n")
    argv = ["fit", "--config", "mine.yaml", "--config=paper/vit_b32/mnist", "--config", "quickstart", "--config", "x"]
    assert resolve_config_args(argv) == [
        "fit",
        "--config",
        "mine.yaml",
        f"--config={CONFIGS / 'paper/vit_b32/mnist.yaml'}",
        "--config",
        "quickstart",
        "--config",
        "x",  # no such config: left for the parser's own error
    ]
