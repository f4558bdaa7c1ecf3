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
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, MutableSequence, Sequence
from typing import Any

from jsonargparse import ArgumentParser

_LIST_ORIGINS = (list, tuple, Sequence, MutableSequence)


def is_list_type(typehint: Any) -> bool:
    """True for ``list[X]``, ``Sequence[X]``, ``tuple[X, ...]`` and their ``Optional``/``Union`` forms."""
    origin = typing.get_origin(typehint)
    if origin in (typing.Union, types.UnionType):
        return any(is_list_type(arg) for arg in typing.get_args(typehint))
    return typehint in (list, tuple) or origin in _LIST_ORIGINS


def replace_lists(parser: ArgumentParser) -> ArgumentParser:
    """Makes every list-typed option of ``parser`` (and of its subcommands) replaced by a later value.

    A later ``--config`` file or flag that gives a list replaces the earlier list whole instead of
    being merged into it item by item; a key written with jsonargparse's ``+`` (``patch+:`` in
    YAML, ``--data.patch+`` as a flag) still appends. Idempotent.

    Args:
        parser: A jsonargparse parser, after all its arguments were added.

    Returns:
        The same parser.
    """
    for action in _typed_actions(parser):
        if is_list_type(action._typehint) and not getattr(action, "_paint_replaces_lists", False):
            action._check_type_ = _replacing(action._check_type_, action.dest)
            action._paint_replaces_lists = True
    return parser


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
