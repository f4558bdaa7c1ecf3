"""How configs compose: a later ``--config`` or flag replaces a list; ``key+:`` appends to it.

jsonargparse merges a list given by a later config into the earlier list item by item when both
have the same length: ``data.patch: [{dataset: fashion_mnist}]`` after a config with
``[{name: digits, dataset: mnist, templates: [...]}]`` keeps the name and templates of the digits
task on the new data set, and after a task given as ``source:`` ends with both a ``source`` and a
``dataset``. That is a different experiment from the one written. In paint-lightning every list
(``data.patch``, ``data.support``, ``data.transfer``, ``sweep.alphas``, ``trainer.callbacks``, the
lists inside a task...) is replaced as a whole by a later value; jsonargparse's append syntax adds
to it explicitly:

.. code-block:: yaml

    data:
      support+:                 # appended to the support tasks of the earlier configs
        - {dataset: cifar10}

(``--data.support+ '{dataset: cifar10}'`` on the command line.)

A free-form mapping (``model.clip.config``, ``model.model_cfg`` of ``paint pretrain``) is the
opposite case: jsonargparse replaces it whole, so a later config giving ``vision_cfg: {width: 384}``
dropped every other key, and the flag ``--model.model_cfg.vision_cfg.width 384`` kept only
``{width: "384"}`` (a string) in ``vision_cfg``: a model other than the one written, built from
open_clip's defaults. Here a later mapping is merged into the earlier one key by key, at any
depth, and a dotted flag sets one key to its YAML value (``384`` is the integer 384).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping, MutableMapping, MutableSequence, Sequence
from typing import Any

import yaml
from jsonargparse import ArgumentParser, Namespace

_LIST_ORIGINS = (list, tuple, Sequence, MutableSequence)
_DICT_ORIGINS = (dict, Mapping, MutableMapping)


def is_list_type(typehint: Any) -> bool:
    """True for ``list[X]``, ``Sequence[X]``, ``tuple[X, ...]`` and their ``Optional``/``Union`` forms."""
    origin = typing.get_origin(typehint)
    if origin in (typing.Union, types.UnionType):
        return any(is_list_type(arg) for arg in typing.get_args(typehint))
    return typehint in (list, tuple) or origin in _LIST_ORIGINS


def is_dict_type(typehint: Any) -> bool:
    """True for ``dict``, ``dict[K, V]``, ``Mapping[K, V]`` and their ``Optional``/``Union`` forms."""
    origin = typing.get_origin(typehint)
    if origin in (typing.Union, types.UnionType):
        return any(is_dict_type(arg) for arg in typing.get_args(typehint))
    return typehint is dict or origin in _DICT_ORIGINS


def _holds_mappings(typehint: Any) -> bool:
    """A mapping type, or a type with a dataclass whose fields may be mappings (``CLIPSource``)."""
    options = typing.get_args(typehint) if typing.get_origin(typehint) in (typing.Union, types.UnionType) else ()
    return is_dict_type(typehint) or any(dataclasses.is_dataclass(t) for t in (typehint, *options))


def merge_mappings(earlier: Mapping[str, Any], later: Mapping[str, Any]) -> dict[str, Any]:
    """``later`` merged into a copy of ``earlier``: mappings key by key at any depth, other values replaced."""
    merged = dict(earlier)
    for key, value in later.items():
        before = merged.get(key)
        both = isinstance(before, Mapping) and isinstance(value, Mapping)
        merged[key] = merge_mappings(before, value) if both else value
    return merged


def compose_as_written(parser: ArgumentParser) -> ArgumentParser:
    """Makes list options of ``parser`` (and its subcommands) replaced, and mapping options merged, by a later value.

    A later ``--config`` file or flag that gives a list replaces the earlier list whole instead of
    being merged into it item by item; a key written with jsonargparse's ``+`` (``patch+:`` in
    YAML, ``--data.patch+`` as a flag) still appends. A later mapping is merged into the earlier
    one key by key (:func:`merge_mappings`), and a dotted flag into a mapping
    (``--model.clip.config.vision_cfg.width 384``) sets that one key to its YAML value. Idempotent.

    Args:
        parser: A jsonargparse parser, after all its arguments were added.

    Returns:
        The same parser.
    """
    for action in _typed_actions(parser):
        if is_list_type(action._typehint) and not getattr(action, "_paint_replaces_lists", False):
            action._check_type_ = _replacing(action._check_type_, action.dest)
            action._paint_replaces_lists = True
        elif _holds_mappings(action._typehint) and not getattr(action, "_paint_merges_mappings", False):
            action._check_type_ = _merging(action._check_type_, action.dest)
            action._paint_merges_mappings = True
    return parser


def _merging(check: Any, dest: str) -> Any:
    """``check`` (an action's ``_check_type_``) that merges a later mapping into the earlier one."""

    def check_type(value: Any, **kwargs: Any) -> Any:
        cfg = kwargs.get("cfg")
        earlier = cfg.get(dest) if cfg is not None and _has(cfg, dest) else None
        if type(value).__name__ == "NestedArg":
            value = _merged_nested(earlier, value)
        elif isinstance(earlier, Mapping):
            later = _yaml_value(value) if isinstance(value, str) else value
            if isinstance(later, Mapping):
                value = merge_mappings(earlier, later)
        elif isinstance(earlier, Namespace) and isinstance(value, Mapping):
            value = _merged_arguments(earlier, value)
        return check(value, **kwargs)

    return check_type


def _merged_nested(earlier: Any, arg: Any) -> Any:
    """A dotted flag (jsonargparse's ``NestedArg``) merged into the mapping it reaches in ``earlier``.

    ``earlier`` is the option's value before the flag: a mapping, or a class's namespace
    (``model.clip``: ``class_path`` and ``init_args``) whose argument on the path is a mapping
    (``config``); then the namespace with that mapping merged is returned. Anything else is left to
    jsonargparse.
    """
    path = str(arg.key).split(".")
    if isinstance(earlier, Mapping):
        return merge_mappings(earlier, _nested(path, _yaml_value(arg.val)))
    if not isinstance(earlier, Namespace):
        return arg
    prefix = "init_args." if "class_path" in earlier and path[0] != "init_args" else ""
    for depth in range(1, len(path)):
        key = prefix + ".".join(path[:depth])
        node = earlier.get(key) if key in earlier else None
        if isinstance(node, Mapping):
            merged = earlier.clone()
            merged[key] = merge_mappings(node, _nested(path[depth:], _yaml_value(arg.val)))
            return merged
    return arg


def _merged_arguments(earlier: Namespace, later: Mapping[str, Any]) -> dict[str, Any]:
    """A later config's value of a class (``model.clip: {config: {...}}``), its mappings merged.

    Its mapping arguments are merged into the earlier ones; the others are left to jsonargparse.
    """
    prefix, arguments = ("init_args.", later.get("init_args", later)) if "class_path" in earlier else ("", later)
    if not isinstance(arguments, Mapping):
        return dict(later)
    merged = dict(arguments)
    for key, value in arguments.items():
        before = earlier.get(prefix + key) if prefix + key in earlier else None
        if isinstance(before, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_mappings(before, value)
    return {**later, "init_args": merged} if "init_args" in later else merged


def _nested(path: list[str], value: Any) -> dict[str, Any]:
    """``{"a": {"b": value}}`` for the path ``["a", "b"]``."""
    for key in reversed(path):
        value = {key: value}
    return value


def _yaml_value(text: Any) -> Any:
    """A flag's text as YAML reads it (``384`` an integer, ``[1, 2]`` a list); other values unchanged."""
    if not isinstance(text, str):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _replacing(check: Any, dest: str) -> Any:
    """``check`` (an action's ``_check_type_``) that does not see the earlier value unless appending."""

    def check_type(value: Any, **kwargs: Any) -> Any:
        cfg = kwargs.get("cfg")
        # A sub-option (``--trainer.callbacks.directory x``) edits the last item: it needs the list.
        nested = type(value).__name__ == "NestedArg"
        if not kwargs.get("append") and not nested and cfg is not None and _has(cfg, dest):
            cfg = cfg.clone()
            del cfg[dest]
            kwargs["cfg"] = cfg
        return check(value, **kwargs)

    return check_type


def _has(cfg: Any, key: str) -> bool:
    try:
        return key in cfg
    except (KeyError, TypeError, AttributeError):
        return False


def _typed_actions(parser: ArgumentParser) -> Iterator[Any]:
    """Actions that parse a type hint (jsonargparse's ``ActionTypeHint``), in subcommands too."""
    for action in parser._actions:
        choices = getattr(action, "choices", None)
        if isinstance(choices, dict) and all(isinstance(sub, ArgumentParser) for sub in choices.values()):
            for sub in choices.values():
                yield from _typed_actions(sub)
        elif hasattr(action, "_typehint") and hasattr(action, "_check_type_"):
            yield action
