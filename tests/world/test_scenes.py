"""The world renderer: deterministic per seed, captions that match the drawn attributes."""

import re

import numpy as np
import pytest

from paint_lightning.world.attributes import COLOURS, COUNT_WORDS, DIGIT_WORDS, SHAPE_PLURALS, SHAPES
from paint_lightning.world.captions import caption_scene, world_sample
from paint_lightning.world.scenes import (
    FAMILY_SIZE,
    Scene,
    render_scene,
    sample_digit,
    sample_family,
    sample_objects,
)


def _pixels(image):
    return np.asarray(image)


def test_world_sample_is_deterministic_for_a_seed():
    for index in range(20):
        image_a, caption_a = world_sample(seed=3, index=index)
        image_b, caption_b = world_sample(seed=3, index=index)
        assert caption_a == caption_b
        assert np.array_equal(_pixels(image_a), _pixels(image_b))


def test_world_sample_varies_with_seed_and_index():
    seed0 = [world_sample(0, i) for i in range(20)]
    seed1 = [world_sample(1, i) for i in range(20)]
    assert any(not np.array_equal(_pixels(a[0]), _pixels(b[0])) for a, b in zip(seed0, seed1, strict=True))
    assert sum(a[1] != b[1] for a, b in zip(seed0, seed1, strict=True)) >= 10
    assert len({caption for _, caption in seed0}) >= 15


def test_images_are_32px_rgb():
    image, _ = world_sample(0, 0)
    assert image.mode == "RGB" and image.size == (32, 32)


def test_captions_are_varied_within_a_batch():
    captions = [world_sample(0, i)[1] for i in range(256)]
    assert len(set(captions)) >= 200  # few duplicates in a contrastive batch


def _words(caption):
    return set(re.findall(r"[a-z0-9]+", caption.lower()))


@pytest.mark.parametrize("index", range(40))
def test_object_captions_name_only_true_attributes(index):
    rng = np.random.default_rng([7, index])
    scene = sample_objects(rng)
    words = _words(caption_scene(scene, rng))
    assert words & set(COLOURS) <= {scene.colour}
    assert words & set(SHAPES) <= {scene.shape}
    assert words & set(SHAPE_PLURALS.values()) <= {SHAPE_PLURALS[scene.shape]}
    assert words & set(COUNT_WORDS) <= {COUNT_WORDS[scene.count - 1]}
    if scene.count > 1:
        assert words & (set(SHAPES) | set(COLOURS) | set(COUNT_WORDS) | {"objects", "shapes", "things"})


@pytest.mark.parametrize("index", range(30))
def test_digit_captions_name_the_digit(index):
    rng = np.random.default_rng([8, index])
    scene = sample_digit(rng)
    words = _words(caption_scene(scene, rng))
    named = words & ({str(d) for d in range(10)} | set(DIGIT_WORDS))
    assert named and named <= {str(scene.digit), DIGIT_WORDS[scene.digit]}


def test_drawn_object_has_the_captioned_colour():
    rng = np.random.default_rng(0)
    scene = Scene("objects", "dark", colour="red", shape="square", count=1, size="big")
    pixels = _pixels(render_scene(scene, rng)).reshape(-1, 3).astype(int)
    bright = pixels[pixels.sum(1) > 200]
    assert len(bright) > 100
    assert (bright[:, 0] > bright[:, 1] + 80).mean() > 0.8  # red dominates green


def test_more_objects_cover_more_pixels():
    def covered(count):
        rng = np.random.default_rng(1)
        scene = Scene("objects", "dark", colour="white", shape="circle", count=count, size="small")
        return (_pixels(render_scene(scene, rng)).sum(2) > 300).sum()

    assert covered(1) < covered(2) < covered(4)


@pytest.mark.parametrize("family", range(30))
def test_families_differ_only_in_their_contrast(family):
    scenes, contrast = sample_family(np.random.default_rng([5, family]))
    assert len(scenes) == FAMILY_SIZE
    if contrast is None:
        return
    values = [getattr(scene, contrast) for scene in scenes]
    assert len(set(values)) == FAMILY_SIZE  # all members differ in the contrast
    others = {field for field in Scene.__dataclass_fields__ if field not in (contrast, "position", "size")}
    for field in others:
        assert len({getattr(scene, field) for scene in scenes}) == 1, field


def test_family_captions_name_the_contrast():
    for family in range(40):
        captions = [world_sample(2, family * FAMILY_SIZE + member)[1] for member in range(FAMILY_SIZE)]
        scenes, contrast = sample_family(np.random.default_rng([2, 0, family]))
        if contrast in ("shape", "digit"):
            for scene, caption in zip(scenes, captions, strict=True):
                words = _words(caption)
                named = (
                    {scene.shape, SHAPE_PLURALS.get(scene.shape)}
                    if contrast == "shape"
                    else {str(scene.digit), DIGIT_WORDS[scene.digit]}
                )
                assert words & named, caption
