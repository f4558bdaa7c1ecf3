"""Class names and zero-shot prompt templates of the PAINT paper's data sets, stored as data.

One YAML file per data set sits beside this module (``cars.yaml``, ``sun397.yaml``...). Each holds
``classnames`` (curated natural-language names in the label order of the loader that reads the data:
``classnames[i]`` names label ``i``) and ``templates`` (format strings with exactly one ``{}``), and its
comments cite where each list comes from and what was changed. ImageNet's lists are not copied:
``imagenet.yaml`` names the attributes of :mod:`open_clip.zero_shot_metadata` to take at load time.

Example:
    >>> from paint_lightning.data.registry import prompts
    >>> cifar10 = prompts.load("cifar10")
    >>> cifar10.templates[0].format(cifar10.classnames[0])
    'a photo of a airplane.'
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

__all__ = ["Prompts", "load", "names"]

_SUFFIX = ".yaml"


@dataclass(frozen=True)
class Prompts:
    """Class names and zero-shot prompt templates of one data set.

    Attributes:
        name: Registry key, e.g. ``"cars"``.
        classnames: One name per class label, in label order. Empty where the data set has no standard
            list (``mtsd``): the class names then come from the user's class folders.
        templates: Prompt templates, each a format string with exactly one ``{}`` for the class name.
        source: Where the lists come from, in short (the YAML file's comments give the details).
    """

    name: str
    classnames: tuple[str, ...]
    templates: tuple[str, ...]
    source: str


def names() -> list[str]:
    """Returns the registry keys of every data set with stored prompts, sorted."""
    return list(_names())


@functools.cache
def _names() -> tuple[str, ...]:
    entries = _folder().iterdir()
    return tuple(sorted(entry.name[: -len(_SUFFIX)] for entry in entries if entry.name.endswith(_SUFFIX)))


@functools.cache
def load(name: str) -> Prompts:
    """Loads the class names and prompt templates of one data set (cached).

    Args:
        name: Registry key, one of :func:`names` (e.g. ``"cars"``, ``"imagenet"``).

    Returns:
        The data set's :class:`Prompts`. For ``"imagenet"`` the class names are open_clip's own
        ``IMAGENET_CLASSNAMES`` tuple and the templates its ``OPENAI_IMAGENET_TEMPLATES`` as strings.

    Raises:
        ValueError: For an unknown name (the message lists the known names and the closest match), or
            for a stored file that breaks the format.
    """
    known = _names()
    if name not in known:
        close = difflib.get_close_matches(str(name).lower(), known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"No prompts are stored for data set {name!r}.{hint} Known data sets: {', '.join(known)}.")
    file = f"{name}{_SUFFIX}"
    data = yaml.safe_load(_folder().joinpath(file).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("source"), str):
        raise ValueError(f"{file}: expected a mapping with a 'source' string.")
    if "open_clip" in data:
        classnames, templates = _from_open_clip(file, data["open_clip"])
    else:
        classnames = _strings(file, "classnames", data.get("classnames"))
        templates = _strings(file, "templates", data.get("templates"))
        duplicates = sorted({c for c in classnames if classnames.count(c) > 1})
        if duplicates:
            raise ValueError(f"{file}: classnames repeats {duplicates}; every class needs its own name.")
    _check_templates(file, templates)
    return Prompts(name=name, classnames=classnames, templates=templates, source=data["source"])


def _folder() -> Any:
    """The folder of the YAML files, read through importlib.resources so it works from a wheel."""
    return resources.files(__name__)


def _from_open_clip(file: str, spec: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Takes class names and templates from ``open_clip.zero_shot_metadata`` by attribute name."""
    from open_clip import zero_shot_metadata

    if not isinstance(spec, dict) or set(spec) != {"classnames", "templates"}:
        raise ValueError(f"{file}: 'open_clip' must map 'classnames' and 'templates' to attribute names.")
    lists = []
    for key in ("classnames", "templates"):
        if not hasattr(zero_shot_metadata, str(spec[key])):
            raise ValueError(f"{file}: open_clip.zero_shot_metadata has no {spec[key]!r} (for {key}).")
        lists.append(getattr(zero_shot_metadata, spec[key]))
    classnames, templates = lists
    # Keep open_clip's own tuple (tuple() of a tuple is the same object); open_clip stores templates
    # as functions of the class name, so fill each with "{}" to get a format string.
    classnames = _strings(file, "classnames", classnames if isinstance(classnames, tuple) else tuple(classnames))
    return classnames, tuple(t if isinstance(t, str) else t("{}") for t in templates)


def _strings(file: str, key: str, values: Any) -> tuple[str, ...]:
    """Checks that ``values`` is a list of non-blank strings and returns it as a tuple."""
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ValueError(f"{file}: {key!r} must be a list of strings, got {type(values).__name__}.")
    bad = [i for i, value in enumerate(values) if not isinstance(value, str) or not value.strip()]
    if bad:
        raise ValueError(f"{file}: {key!r} has blank or non-string entries at positions {bad}.")
    return values if isinstance(values, tuple) else tuple(values)


def _check_templates(file: str, templates: tuple[str, ...]) -> None:
    """Checks that there is a template and that each has exactly one ``{}`` and no other braces."""
    if not templates:
        raise ValueError(f"{file}: 'templates' is empty; give at least one, e.g. 'a photo of a {{}}.'")
    for template in templates:
        try:
            fits = template.count("{}") == 1 and template.format("x") == template.replace("{}", "x")
        except (IndexError, KeyError, ValueError):
            fits = False
        if not fits:
            raise ValueError(f"{file}: template {template!r} must contain '{{}}' exactly once and no other braces.")
