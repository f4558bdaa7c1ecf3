"""Captions of the offline world's scenes, and the pretraining pairs (image, caption).

:func:`caption_scene` writes one of many captions that name some attributes of a
:class:`~paint_lightning.world.scenes.Scene`; :func:`world_sample` draws, renders and captions
image ``index`` of a seed, its randomness from ``numpy.random.default_rng`` streams of its own.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from paint_lightning.world.attributes import COUNT_WORDS, DIGIT_WORDS, POSITIONS, SHAPE_PLURALS
from paint_lightning.world.scenes import FAMILY_SIZE, Scene, _pick, render_scene, sample_family


def _noun_phrase(scene: Scene, rng: np.random.Generator, with_colour: bool, with_size: bool) -> str:
    words = []
    if scene.count == 1:
        words.append("one" if rng.random() < 0.15 else "a")
    else:
        words.append(COUNT_WORDS[scene.count - 1])
    if with_size:
        words.append(scene.size)
    if with_colour:
        words.append(scene.colour)
    words.append(scene.shape if scene.count == 1 else SHAPE_PLURALS[scene.shape])
    return " ".join(words)


_PREFIXES = ("", "", "", "a photo of ", "an image of ", "a drawing of ", "a picture of ", "there is ")


def _objects_caption(scene: Scene, rng: np.random.Generator, must_mention: str | None) -> str:
    focus = rng.random()
    if must_mention == "shape":  # only the noun phrase names the shape
        focus = 1.0
    if focus < 0.12 and must_mention in (None, "colour"):  # colour only
        form = _pick(
            rng, ("something {}", "a {} shape", "a {} object", "the colour {}", "a photo of something {}", "{} things")
        )
        return form.format(scene.colour)
    if focus < 0.22 and must_mention in (None, "count"):  # count only
        noun = "object" if scene.count == 1 else "objects"
        shapes = "shape" if scene.count == 1 else "shapes"
        return _pick(
            rng,
            (
                f"{COUNT_WORDS[scene.count - 1]} {noun}",
                f"{COUNT_WORDS[scene.count - 1]} {shapes}",
                f"a photo of {COUNT_WORDS[scene.count - 1]} {noun}",
            ),
        )
    with_colour = must_mention == "colour" or rng.random() < 0.7
    text = _noun_phrase(scene, rng, with_colour=with_colour, with_size=rng.random() < 0.35)
    if scene.position and rng.random() < 0.5:
        text += " " + POSITIONS[scene.position]
    if rng.random() < 0.3:
        text += f" on a {scene.background} background"
    prefix = _pick(rng, _PREFIXES)
    if prefix == "there is " and scene.count > 1:
        prefix = "there are "
    return prefix + text


def _digit_caption(scene: Scene, rng: np.random.Generator) -> str:
    numeral, word = str(scene.digit), DIGIT_WORDS[scene.digit]
    name = numeral if rng.random() < 0.6 else word
    forms = [
        "the number {}",
        "the digit {}",
        "a {}",
        'a photo of the number: "{}".',
        "a photo of the digit {}",
        "an image of the number {}",
        "the numeral {}",
        f"a {scene.style} {{}}",
        f"the {scene.style} digit {{}}",
        f"a {scene.colour} {{}}",
        f"a {scene.colour} {{}} on a {scene.background} background",
    ]
    return _pick(rng, forms).format(name)


def caption_scene(scene: Scene, rng: np.random.Generator, must_mention: str | None = None) -> str:
    """One caption of ``scene``, naming a random subset of its attributes.

    Args:
        scene: What the image shows.
        rng: Random source of the wording.
        must_mention: An attribute the caption has to name (the contrast of the scene's family).
    """
    if scene.kind == "objects":
        text = _objects_caption(scene, rng, must_mention)
    elif scene.kind == "digit":
        text = _digit_caption(scene, rng)
    elif scene.kind == "word":
        text = _pick(
            rng, ('the word "{}"', "the word {}", "text that says {}", 'a sign that says "{}"', "the written word {}")
        ).format(scene.word)
    else:
        text = _pick(rng, ("a plain {} background", "an empty {} picture", "nothing on a {} background"))
        text = text.format(scene.background)
    text = re.sub(r"\ba (?=[aeiou])", "an ", text)  # "an orange circle"
    return text if text.endswith(".") or rng.random() < 0.5 else text + "."


def world_sample(seed: int, index: int, digit_share: float = 0.3, lowres_prob: float = 0.15) -> tuple[Image.Image, str]:
    """Image ``index`` of the pretraining world of ``seed`` and its caption.

    Consecutive images come in families of ``FAMILY_SIZE`` (see :func:`sample_family`); a
    batch sampler that keeps families together gives the contrastive loss hard negatives.

    Args:
        seed: Seed of the world.
        index: Which image; each index has its own random stream (and its family's).
        digit_share: See :func:`sample_scene`.
        lowres_prob: See :func:`render_scene`.
    """
    scenes, contrast = sample_family(np.random.default_rng([seed, 0, index // FAMILY_SIZE]), digit_share)
    rng = np.random.default_rng([seed, 1, index])
    scene = scenes[index % FAMILY_SIZE]
    return render_scene(scene, rng, lowres_prob), caption_scene(scene, rng, contrast)
