"""The layout's rules, checked on the source: layers, no import circles, one name per concept, small modules.

``docs/architecture.md`` describes the layers; this test keeps the code and that page in step.
Imports are read from the syntax tree, so imports inside functions and ``TYPE_CHECKING`` blocks
count like any other.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "paint_lightning"
# Bottom up; a module imports only from its own layer or the ones below.
LAYERS = [
    {"errors", "rng", "composition"},
    {"io"},
    {"interpolation"},
    {"selection"},
    {"data"},
    {"engine"},
    {"models"},
    {"callbacks"},
    {"workflows"},
    {"world"},
    {"commands"},
]
ROOT_MODULES = {"paint_lightning", "paint_lightning.__main__"}  # the public re-exports and `python -m`
MAX_LINES = 300


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in its body."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` imports that module; `from module import name` the module
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    top = module.split(".")[1]
    return next(i for i, names in enumerate(LAYERS) if top in names)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_top_level_name_has_a_layer() -> None:
    tops = {name.split(".")[1] for name in MODULES if name not in ROOT_MODULES}
    assert tops == set().union(*LAYERS)


def test_no_module_imports_from_a_higher_layer() -> None:
    upward = [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name not in ROOT_MODULES
        for target in targets
        if target not in ROOT_MODULES and _layer(target) > _layer(name)
    ]
    assert upward == []


@pytest.mark.parametrize("level", ["module", "package"])
def test_no_import_circles(level: str) -> None:
    graph = {name: set(targets) for name, targets in GRAPH.items() if name not in ROOT_MODULES}
    if level == "package":

        def group(module: str) -> str:  # the top-level package (data/registry/ is part of data/)
            return ".".join(module.split(".")[:2])

        packages: dict[str, set[str]] = {}
        for name, targets in graph.items():
            packages.setdefault(group(name), set()).update(group(t) for t in targets if t not in ROOT_MODULES)
        graph = {name: targets - {name} for name, targets in packages.items()}
    assert _cycles(graph) == []


def test_no_two_modules_share_a_base_name() -> None:
    names = Counter(path.name for path in MODULES.values() if path.name != "__init__.py")
    assert sorted(name for name, count in names.items() if count > 1) == []


def test_no_module_is_over_the_line_limit() -> None:
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _layer("paint_lightning.commands.cli") > _layer("paint_lightning.io.files")
    assert "paint_lightning.io.files" in GRAPH["paint_lightning.io.patched"]
