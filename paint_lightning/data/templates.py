"""Prompt templates: named presets and validation."""

from __future__ import annotations

from collections.abc import Sequence

from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES, SIMPLE_IMAGENET_TEMPLATES

SIMPLE = ("a photo of a {}.",)

PRESETS: dict[str, tuple[str, ...]] = {
    "simple": SIMPLE,
    "openai_imagenet": tuple(t("{}") for t in OPENAI_IMAGENET_TEMPLATES),
    "simple_imagenet": tuple(t("{}") for t in SIMPLE_IMAGENET_TEMPLATES),
}


def resolve_templates(templates: str | Sequence[str], field_name: str) -> list[str]:
    """Turns a preset name or a list of templates into a checked list.

    Raises:
        ValueError: For an unknown preset, an empty list, or a template without ``{}``.
    """
    if isinstance(templates, str):
        if templates not in PRESETS:
            raise ValueError(
                f"{field_name}={templates!r} is not a template preset; use one of "
                f"{sorted(PRESETS)} or a list of strings containing '{{}}'."
            )
        return list(PRESETS[templates])
    resolved = list(templates)
    if not resolved:
        raise ValueError(f"{field_name} is empty; give at least one template such as 'a photo of a {{}}.'")
    for template in resolved:
        if not isinstance(template, str) or template.count("{}") != 1:
            raise ValueError(
                f"{field_name} has template {template!r}, which must contain '{{}}' exactly once "
                "(where the class name goes), e.g. 'a photo of a {}.'"
            )
    return resolved


def check_classnames(classnames: Sequence[str], field_name: str) -> list[str]:
    """Rejects empty, blank or duplicate class names."""
    names = list(classnames)
    if not names:
        raise ValueError(f"{field_name} is empty; list one name per class label.")
    blank = [i for i, name in enumerate(names) if not isinstance(name, str) or not name.strip()]
    if blank:
        raise ValueError(f"{field_name} has empty names at positions {blank}; give every class a name.")
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise ValueError(
                f"{field_name} names {name!r} twice (positions {seen[name]} and {index}); class "
                "names must be unique or the zero-shot head cannot tell the classes apart."
            )
        seen[name] = index
    return names
