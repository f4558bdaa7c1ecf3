"""Typographic attacks: seeded text on images, wrong class names by default, any source."""

import numpy as np
import pytest
from PIL import Image

from paint_lightning.data import PaintDataModule, Task
from paint_lightning.data.synthetic import ColourPatchSource
from paint_lightning.data.typographic import TypographicAttack, TypographicSource


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def _source(**kwargs) -> TypographicSource:
    inner = ColourPatchSource(num_classes=3, num_train=12, num_test=6, image_size=32, seed=3)
    return TypographicSource(inner, **kwargs)


def test_every_image_gets_a_wrong_class_name_and_keeps_its_label() -> None:
    source = _source(seed=1)
    clean = source.source.dataset("train")
    attacked = source.dataset("train")
    assert len(attacked) == len(clean) == 12 and source.classnames == ["class 0", "class 1", "class 2"]
    for i in range(12):
        image, label = attacked[i]
        assert label == clean[i][1]
        written = source.written("train", i, label)
        assert written in source.classnames and written != source.classnames[label]
        assert np.abs(_pixels(image) - _pixels(clean[i][0])).sum() > 0  # text was drawn


def test_the_same_seed_gives_the_same_images_and_another_seed_others() -> None:
    a, b, c = _source(seed=1).dataset("test"), _source(seed=1).dataset("test"), _source(seed=2).dataset("test")
    assert all(np.array_equal(_pixels(a[i][0]), _pixels(b[i][0])) for i in range(6))
    assert any(not np.array_equal(_pixels(a[i][0]), _pixels(c[i][0])) for i in range(6))


def test_fixed_text_words_and_fraction() -> None:
    fixed = _source(text="iPod")
    assert {fixed.written("test", i, 0) for i in range(6)} == {"iPod"}
    worded = _source(words=["zero", "one", "two"])
    assert all(worded.written("test", i, 1) in ("zero", "two") for i in range(20))
    half = _source(fraction=0.5, seed=4)
    written = [half.written("train", i, 0) for i in range(200)]
    assert 70 < sum(w is None for w in written) < 130
    clean = half.source.dataset("train")
    untouched = next(i for i in range(12) if half.written("train", i, clean[i][1]) is None)
    assert np.array_equal(_pixels(half.dataset("train")[untouched][0]), _pixels(clean[untouched][0]))


def test_opacity_zero_leaves_the_image_and_full_opacity_writes_the_colour() -> None:
    image = Image.new("RGB", (64, 64), (0, 0, 0))
    rng = np.random.default_rng(0)
    invisible = TypographicAttack(opacity=(0.0, 0.0))(image, "hello", rng)
    assert _pixels(invisible).max() == 0
    red = TypographicAttack(opacity=(1.0, 1.0), colours=[[255, 0, 0]], font_size=(0.4, 0.4))(image, "hello", rng)
    pixels = _pixels(red)
    assert pixels[..., 0].max() == 255 and pixels[..., 1].max() == 0 and (pixels[..., 0] > 0).mean() > 0.02


def test_a_long_text_is_shrunk_to_fit() -> None:
    image = Image.new("RGB", (32, 32), (0, 0, 0))
    out = TypographicAttack(opacity=(1.0, 1.0), colours=[[255, 255, 255]], font_size=(0.9, 0.9))(
        image, "a very long text", np.random.default_rng(0)
    )
    columns = np.nonzero(_pixels(out).sum(axis=(0, 2)))[0]
    assert columns.size > 0 and columns.max() - columns.min() < 32


def test_fingerprint_follows_the_settings_and_the_inner_source() -> None:
    base = _source(seed=1).fingerprint("test")
    assert base == _source(seed=1).fingerprint("test")
    assert base != _source(seed=2).fingerprint("test")
    assert base != _source(seed=1, opacity=(0.5, 0.6)).fingerprint("test")
    inner = ColourPatchSource(num_classes=3, num_train=12, num_test=6, image_size=32, seed=9)
    assert base != TypographicSource(inner, seed=1).fingerprint("test")


def test_usable_as_a_task_source() -> None:
    dm = PaintDataModule(patch=[Task("typo", _source())], num_workers=0)
    assert dm.task_specs()[0].classnames == ["class 0", "class 1", "class 2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"words": ["a", "b"]}, "words has 2 entries but the source has 3 classes"),
        ({"fraction": 0.0}, "fraction=0.0"),
        ({"text": " "}, "text is empty"),
        ({"font_size": (0.5, 0.2)}, "font_size=\\[0.5, 0.2\\]"),
        ({"opacity": (0.0, 1.5)}, "opacity=\\[0.0, 1.5\\]"),
        ({"colours": [[300, 0, 0]]}, "colours="),
        ({"font": "/no/such/font.ttf"}, "font='/no/such/font.ttf': file not found"),
        ({"words": ["a", "a", "a"]}, "two different class words"),
    ],
)
def test_bad_settings_are_refused_with_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _source(**kwargs)
