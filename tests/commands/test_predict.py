import copy
import json
from pathlib import Path

import open_clip
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

from paint_lightning.commands.cli import main
from tests.conftest import TINY_CONFIG
from tests.run_fixtures import MEAN

CLASSES = ["red square", "blue circle", "a tiger never seen in fine-tuning"]
TEMPLATES = ["a photo of a {}.", "a drawing of a {}."]


def _zero_shot_by_hand(zero_shot_file: Path, files: list[Path]) -> torch.Tensor:
    """CLIP zero-shot classification written out with open_clip alone: probabilities per image."""
    model = open_clip.CLIP(**copy.deepcopy(TINY_CONFIG), quick_gelu=True)
    model.load_state_dict(load_file(str(zero_shot_file)))
    model.eval()
    tokenizer = open_clip.SimpleTokenizer(context_length=TINY_CONFIG["text_cfg"]["context_length"])
    preprocess = open_clip.image_transform(16, is_train=False, mean=MEAN)
    with torch.no_grad():
        classes = []
        for name in CLASSES:
            text = F.normalize(model.encode_text(tokenizer([t.format(name) for t in TEMPLATES])), dim=-1)
            classes.append(F.normalize(text.mean(dim=0), dim=-1))
        images = torch.stack([preprocess(Image.open(f).convert("RGB")) for f in files])
        features = F.normalize(model.encode_image(images), dim=-1)
        return (model.logit_scale.exp() * features @ torch.stack(classes).t()).softmax(dim=-1)


def test_predictions_at_alpha_zero_equal_zero_shot_classification_by_hand(tiny_run, zero_shot_file, images, tmp_path):
    out = tmp_path / "preds.json"
    args = ["predict", "--run", str(tiny_run), "--alpha", "0", "--images", str(images), "--classnames", *CLASSES]
    main([*args, "--templates", json.dumps(TEMPLATES), "--top_k", "3", "--output", str(out)])
    rows = json.loads(out.read_text())
    files = sorted(images.glob("*.png"))
    assert [row["image"] for row in rows] == [str(f) for f in files]
    expected = _zero_shot_by_hand(zero_shot_file, files)
    for row, probs in zip(rows, expected, strict=True):
        order = probs.argsort(descending=True).tolist()
        assert [item["class"] for item in row["top"]] == [CLASSES[i] for i in order]
        got = torch.tensor([item["probability"] for item in row["top"]])
        torch.testing.assert_close(got, probs[order], atol=2e-6, rtol=0)


def test_run_at_alpha_star_and_its_export_predict_alike_and_csv_labels_give_accuracy(
    tiny_run, images, tmp_path, capsys
):
    listing = tmp_path / "list.csv"
    listing.write_text("path,label\n" + "".join(f"images/{i}.png,{CLASSES[i % 2]}\n" for i in range(4)))
    common = ["--csv", str(listing), "--classnames", *CLASSES, "--top_k", "2"]
    main(["predict", "--run", str(tiny_run), *common, "--output", str(tmp_path / "run.csv")])
    main(
        [
            "predict",
            "--clip.pretrained",
            str(tiny_run / "patched.safetensors"),
            *common,
            "--output",
            str(tmp_path / "export.csv"),
        ]
    )
    run_rows = (tmp_path / "run.csv").read_text().splitlines()
    assert run_rows == (tmp_path / "export.csv").read_text().splitlines()  # alpha* of the run == its exported file
    assert run_rows[0] == "image,label,class1,probability1,class2,probability2" and len(run_rows) == 5
    assert run_rows[1].split(",")[1] == CLASSES[0]
    err = capsys.readouterr().err
    accuracy = [line for line in err.splitlines() if line.startswith("Top-1 accuracy")]
    assert len(accuracy) == 2 and "/4 labelled images" in accuracy[0]


def test_predict_a_tasks_split_with_its_own_classes(tiny_run, capsys):
    task = (
        "{name: patches, source: {class_path: paint_lightning.data.synthetic.ColourPatchSource, "
        "init_args: {num_classes: 4, num_train: 60, num_test: 31, seed: 1}}, templates: ['a photo of {}.']}"
    )
    main(["predict", "--run", str(tiny_run), "--alpha", "0", "--task", task, "--top_k", "1"])
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 32  # header + 31 test images
    report = json.loads((tiny_run / "paint_report.json").read_text())
    zero_shot_test = report["test"]["tasks"]["patches"]["zero_shot"]
    assert f"Top-1 accuracy: {zero_shot_test:.2f}%" in captured.err  # alpha 0 is the zero-shot model


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--images", "IMAGES"], "no classes"),
        (
            ["--images", "IMAGES", "--csv", "x.csv", "--classnames", "a", "b"],
            "exactly one of --images, --csv or --task",
        ),
        (["--images", "/nowhere/x.png", "--classnames", "a", "b"], "no such file or folder"),
        (["--images", "IMAGES", "--classnames", "a", "a"], "names 'a' twice"),
    ],
)
def test_predict_mistakes_end_with_one_line(tiny_run, images, capsys, extra, message):
    extra = [str(images) if item == "IMAGES" else item for item in extra]
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--run", str(tiny_run), *extra])
    err = capsys.readouterr().err
    assert exit_info.value.code in (1, 2) and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_alpha_needs_a_run(images, capsys, zero_shot_file):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "predict",
                "--clip.pretrained",
                str(zero_shot_file),
                "--alpha",
                "0.5",
                "--images",
                str(images),
                "--classnames",
                "a",
                "b",
            ]
        )
    assert exit_info.value.code == 2 and "--alpha and --mix need --run" in capsys.readouterr().err


def test_predict_refuses_a_task_split_other_than_the_one_the_run_recorded_under_its_name(tiny_run, capsys):
    task = (
        "{name: patches, source: {class_path: paint_lightning.data.synthetic.ColourPatchSource, "
        "init_args: {num_classes: 4, num_train: 60, num_test: 20, seed: 1}}, templates: ['a photo of {}.']}"
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--run", str(tiny_run), "--alpha", "0", "--task", task])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--task (task 'patches', --split test) reads other images" in err
    assert "task 'patches': the test images or labels changed" in err and "another name" in err
    main(["predict", "--run", str(tiny_run), "--alpha", "0", "--task", task.replace("name: patches", "name: fresh")])
    assert len(capsys.readouterr().out.strip().splitlines()) == 21  # another name: other images, classified
