"""Does the world CLIP read? The measurements behind docs/multi-task.md's typographic section.

    PYTHONPATH=. python docs/world_reading.py

Prints, for the shipped world CLIP (zero-shot): its accuracy on images showing only a shape's name
(white text on a dark background) under the shape templates and under text templates, and on the
attacked test shapes of configs/multitask/typographic.yaml, its accuracy and how often it answers
the written word.
"""

from __future__ import annotations

import torch

from paint_lightning.data.tasks import TaskSpec
from paint_lightning.data.typographic import TypographicSource
from paint_lightning.models import CLIPSource, PaintModule
from paint_lightning.world import SHAPE_TEMPLATES, WorldShapes
from paint_lightning.world.attributes import SHAPES
from paint_lightning.world.scenes import Scene
from paint_lightning.world.sets import _WorldTask

TEXT_TEMPLATES = ["the word {}.", 'a sign that says "{}"', "text that says {}"]


class ShapeNames(_WorldTask):
    """A shape's name printed alone, white on dark, labelled with that shape."""

    stream = 21

    @property
    def classnames(self) -> list[str]:
        """The shape names."""
        return list(SHAPES)

    def scene(self, label, rng):
        """The name of shape ``label``, printed."""
        return Scene("word", "dark", "white", word=SHAPES[label])


def predictions(model: PaintModule, source, templates: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-shot predictions and labels on ``source``'s test split, under a head of ``templates``."""
    model.heads.clear()  # a head of the same task name and size would be kept otherwise
    model.set_tasks([TaskSpec("task", "patch", list(source.classnames), templates)])
    data = source.dataset("test", model.preprocess_eval)
    images, labels = zip(*(data[i] for i in range(len(data))), strict=True)
    with torch.no_grad():
        logits = torch.cat([model(torch.stack(images[i : i + 500]), "task") for i in range(0, len(images), 500)])
    return logits.argmax(-1), torch.tensor(labels)


def main() -> None:
    """Prints the three measurements."""
    torch.set_num_threads(1)
    model = PaintModule(
        CLIPSource(pretrained="paint_lightning/world/assets/world_clip.safetensors"), head_cache_dir=None
    )
    model.eval()
    names = ShapeNames(train_size=6, test_size=300)
    for templates in (SHAPE_TEMPLATES, TEXT_TEMPLATES):
        predicted, labels = predictions(model, names, templates)
        print(f"shape names alone, templates {templates[0]!r}...: {100 * (predicted == labels).float().mean():.1f}%")
    attacked = TypographicSource(WorldShapes(train_size=1500, size="big", seed=1), seed=1)
    predicted, labels = predictions(model, attacked, SHAPE_TEMPLATES)
    written = torch.tensor(
        [attacked.classnames.index(attacked.written("test", i, int(y))) for i, y in enumerate(labels)]
    )
    print(
        f"attacked shapes (shapes_typo test): accuracy {100 * (predicted == labels).float().mean():.1f}%, "
        f"answered the written word {100 * (predicted == written).float().mean():.1f}%"
    )


if __name__ == "__main__":
    main()
