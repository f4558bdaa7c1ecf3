"""``paint data check|download|list``: per-task reports, what is missing and how to get it, downloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from paint_lightning.commands.cli import main
from tests.data.registry.fakes import fake_mnist, trust_fake_checksums


def _config(tmp_path: Path, data: str) -> str:
    path = tmp_path / "run.yaml"
    path.write_text(f"model:\n  clip: {{name: ViT-B-32, pretrained: openai}}\ndata:\n{data}")
    return str(path)


PATCH_MNIST_SUPPORT_CIFAR = """  patch:
    - {dataset: mnist}
  support:
    - {dataset: cifar10}
    - name: own
      source: {class_path: ImageFolderSource, init_args: {root: /nowhere/own}}
"""


def test_check_reports_each_task_and_what_to_fetch(tmp_path: Path, monkeypatch, capsys) -> None:
    fake_mnist(tmp_path / "root")
    monkeypatch.setenv("PAINT_DATA_ROOT", str(tmp_path / "root"))
    with pytest.raises(SystemExit) as info:
        main(["data", "check", "--config", _config(tmp_path, PATCH_MNIST_SUPPORT_CIFAR)])
    out = capsys.readouterr().out
    assert info.value.code == 1
    assert "[ok]      mnist (data.patch[0], patch)" in out
    assert "train: 6 images, 6/10 classes (1 to 1 per class); no images of ['5', '6', '7', '8']" in out
    assert "test:  3 images, 3/10 classes" in out and "\n            9: 1\n" in out  # per-class counts
    assert "[MISSING] cifar10 (data.support[0], support)" in out
    assert (
        "problem: train, test: data_batch_1, data_batch_2, data_batch_3, data_batch_4, data_batch_5, test_batch" in out
    )
    assert "batches.meta not found in " in out
    assert f"{tmp_path / 'root' / 'cifar-10-batches-py'}/" in out and "data_batch_1 ... data_batch_5" in out
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in out and "`paint data download`" in out
    assert "[MISSING] data.support[1] (support): the task cannot be built" in out
    assert "source.root='/nowhere/own': folder not found" in out and "Union subtypes" not in out
    assert "1 of 3 tasks have their data." in out


def test_check_composes_configs_and_overrides(tmp_path: Path, monkeypatch, capsys) -> None:
    from tests.data.registry.fakes import fake_eurosat

    repo = Path(__file__).parents[2]
    fake_eurosat(tmp_path)
    monkeypatch.setenv("PAINT_DATA_ROOT", str(tmp_path))
    config = str(repo / "configs/paper/vit_b32/eurosat.yaml")
    main(["data", "check", "--config", config, "--data.support=[{dataset: eurosat, name: again}]"])
    out = capsys.readouterr().out
    assert "[ok]      eurosat (data.patch[0], patch)" in out and "[ok]      again (data.support[0], support)" in out
    assert "imagenet" not in out and "Every task has its data." in out


def test_check_covers_transfer_tasks(tmp_path: Path, monkeypatch, capsys) -> None:
    fake_mnist(tmp_path / "root")
    monkeypatch.setenv("PAINT_DATA_ROOT", str(tmp_path / "root"))
    data = "  patch:\n    - {dataset: mnist}\n  transfer:\n    - {dataset: svhn}\n"
    with pytest.raises(SystemExit) as info:
        main(["data", "check", "--config", _config(tmp_path, data)])
    out = capsys.readouterr().out
    assert info.value.code == 1 and "[ok]      mnist (data.patch[0], patch)" in out
    assert "[MISSING] svhn (data.transfer[0], transfer)" in out and "1 of 2 tasks have their data." in out


def test_check_notices_listed_files_that_are_gone(tmp_path: Path, monkeypatch, capsys) -> None:
    from tests.data.registry.fakes import fake_food101

    fake_food101(tmp_path)
    (tmp_path / "food-101" / "images" / "dish_005" / "test0.jpg").unlink()
    config = _config(tmp_path, f"  patch:\n    - {{dataset: food101, root: {tmp_path}}}\n")
    with pytest.raises(SystemExit):
        main(["data", "check", "--config", config])
    out = capsys.readouterr().out
    assert "problem: test: 1 listed image files are missing (first: " in out and "dish_005/test0.jpg" in out
    main(["data", "check", "--config", config, "--quick"])  # --quick skips that check
    assert "Every task has its data." in capsys.readouterr().out


def test_download_fetches_what_torchvision_can_then_checks(tmp_path: Path, monkeypatch, capsys) -> None:
    from torchvision.datasets import MNIST

    fetched: list[str] = []

    def fake_download(self: MNIST) -> None:  # stands in for the network: writes MNIST's real file format
        fetched.append(self.root)
        fake_mnist(Path(self.root))

    monkeypatch.setattr(MNIST, "download", fake_download)
    config = _config(tmp_path, f"  patch:\n    - {{dataset: mnist, root: {tmp_path / 'root'}}}\n")
    main(["data", "download", "--config", config])
    out = capsys.readouterr().out
    assert fetched and "downloading mnist (MNIST) ..." in out and "Every task has its data." in out
    cars = _config(tmp_path, f"  patch:\n    - {{dataset: cars, root: {tmp_path / 'root'}}}\n")
    with pytest.raises(SystemExit):
        main(["data", "download", "--config", cars])
    out = capsys.readouterr().out
    assert "cars: cannot be downloaded automatically" in out and "pytorch/vision/issues/7545" in out


def test_download_flag_on_the_task_fetches_on_first_use(tmp_path: Path, monkeypatch) -> None:
    from torchvision.datasets import SVHN

    from paint_lightning.data import Task
    from tests.data.registry.fakes import fake_svhn

    trust_fake_checksums(monkeypatch)
    monkeypatch.setattr(SVHN, "download", lambda self: fake_svhn(Path(self.root).parent))
    task = Task(dataset="svhn", root=str(tmp_path), download=True)
    assert task.source.labels("test") == [0, 5]


def test_processes_asking_to_download_at_once_take_turns(tmp_path: Path, monkeypatch) -> None:
    """DDP ranks building their tasks with ``download: true`` at once: one downloads, the others wait and reuse."""
    import threading
    import time

    from torchvision.datasets import SVHN

    from paint_lightning.data.registry.arrays import SVHN as SVHNSource
    from tests.data.registry.fakes import fake_svhn

    trust_fake_checksums(monkeypatch)
    events: list[str] = []

    def slow_download(self) -> None:
        events.append("start")
        time.sleep(0.3)  # long enough for the other thread to reach the download too
        fake_svhn(Path(self.root).parent)
        events.append("end")

    monkeypatch.setattr(SVHN, "download", slow_download)
    sources = [SVHNSource(root=str(tmp_path), download=True) for _ in range(2)]
    threads = [threading.Thread(target=source.labels, args=("test",)) for source in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(events) >= 4 and all(events[i : i + 2] == ["start", "end"] for i in range(0, len(events), 2)), events
    assert [source.labels("test") for source in sources] == [[0, 5], [0, 5]]


def test_list_prints_the_registry(capsys) -> None:
    main(["data", "list"])
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 23 and out[0].split()[:3] == ["dataset", "classes", "splits"]
    assert any(line.split()[:4] == ["sun397", "397", "train/test", "yes"] for line in out)
    assert any(line.split()[:4] == ["imagenet", "1000", "train/test", "manual"] for line in out)
    assert any(line.split()[:4] == ["imagenet_r", "200", "test", "manual"] for line in out)
    assert any(line.split()[:4] == ["objectnet", "113", "test", "manual"] for line in out)


def test_check_needs_no_model_section(tmp_path: Path, capsys) -> None:
    fake_mnist(tmp_path)
    config = tmp_path / "data_only.yaml"
    config.write_text(f"data:\n  patch: [{{dataset: mnist, root: {tmp_path}}}]\n")
    main(["data", "check", "--config", str(config)])
    assert "[ok]      mnist (data.patch[0], patch)" in capsys.readouterr().out


def _csv_task(tmp_path: Path, train_rows: str, test_rows: str) -> str:
    from tests.data.registry.fakes import put

    for name in ("a.jpg", "b.jpg"):
        put(tmp_path / "own" / name)
    (tmp_path / "own" / "train.csv").write_text("path,label\n" + train_rows)
    (tmp_path / "own" / "test.csv").write_text("path,label\n" + test_rows)
    files = f"train: {tmp_path / 'own' / 'train.csv'}, test: {tmp_path / 'own' / 'test.csv'}"
    return _config(
        tmp_path, f"  patch:\n    - {{name: own, source: {{class_path: CSVSource, init_args: {{{files}}}}}}}\n"
    )


@pytest.mark.parametrize(
    ("train_rows", "test_rows", "problem"),
    [
        ("", "a.jpg,cat\n", "problem: /"),  # header only: one line for the task, not one per split
        ("a.jpg,cat\nb.jpg,dog\n", "a.jpg,cat\n", "problem: train, test: image /"),  # both splits list a.jpg
    ],
)
def test_check_reports_a_csv_problem_once(tmp_path: Path, capsys, train_rows: str, test_rows: str, problem: str):
    with pytest.raises(SystemExit):
        main(["data", "check", "--config", _csv_task(tmp_path, train_rows, test_rows)])
    out = capsys.readouterr().out
    assert out.count("problem:") == 1 and problem in out, out
    assert ("no rows (only a header)" in out) if not train_rows else ("is listed in both" in out)


def test_check_says_files_failed_the_md5_check(tmp_path: Path, capsys) -> None:
    from tests.data.registry.fakes import fake_svhn

    fake_svhn(tmp_path)  # the real file names, other contents
    with pytest.raises(SystemExit):
        main(["data", "check", "--config", _config(tmp_path, f"  patch:\n    - {{dataset: svhn, root: {tmp_path}}}\n")])
    out = capsys.readouterr().out
    assert "[BAD MD5] svhn (data.patch[0], patch)" in out and "not found or corrupted" not in out
    assert "problem: train, test: train_32x32.mat (MD5 should be e26dedcc434d2e4c54c9b2d4a06d8373)" in out


def test_check_fails_where_fit_would_and_both_name_the_dataset(tmp_path: Path, capsys) -> None:
    """EuroSAT with one image per class has an empty seeded test split; SUN397 without images has no train split."""
    from paint_lightning.data import PaintDataModule, Task
    from paint_lightning.data.synthetic import ColourPatchSource
    from tests.data.registry.fakes import EUROSAT_CLASSES, SUN_CLASSES, put

    for name in EUROSAT_CLASSES:
        put(tmp_path / "eurosat" / "2750" / name / f"{name}_1.jpg")
    (tmp_path / "SUN397").mkdir()
    (tmp_path / "SUN397" / "ClassName.txt").write_text("\n".join(SUN_CLASSES) + "\n")  # class folders not found
    data = f"  patch:\n    - {{dataset: eurosat, root: {tmp_path}}}\n"
    data += f"  support:\n    - {{dataset: sun397, root: {tmp_path}, options: {{partition: null}}}}\n"
    with pytest.raises(SystemExit) as info:
        main(["data", "check", "--config", _config(tmp_path, data)])
    out = capsys.readouterr().out
    assert info.value.code == 1 and "0 of 2 tasks have their data." in out and "[ok]" not in out
    assert "[MISSING] eurosat (data.patch[0], patch)" in out and "[MISSING] sun397 (data.support[0], support)" in out
    patch = Task("colours", ColourPatchSource(num_classes=2))
    eurosat = Task(dataset="eurosat", root=str(tmp_path))
    sun397 = Task(dataset="sun397", root=str(tmp_path), options={"partition": None})
    for field, split, build in (
        ("data.patch[0]", "test", lambda: PaintDataModule(patch=[eurosat], num_workers=0)),
        ("data.support[0]", "train", lambda: PaintDataModule(patch=[patch], support=[sun397], num_workers=0)),
    ):
        with pytest.raises(ValueError) as fit:
            build()
        message = str(fit.value)  # what paint fit says: the field and the data set the user wrote
        dataset = "eurosat" if split == "test" else "sun397"
        assert message.startswith(f"{field} (dataset: {dataset}, task '{dataset}'): the {split} split"), message
        assert ".source" not in message and f"problem: {message}" in out
