"""The pipeline is the layout: a stage never imports a later one, and no module imports
itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mallseg

PACKAGE = Path(mallseg.__file__).parent
LAYERS = ["core", "datasets", "workspace", "data", "features", "segment", "insights",
          "monitor", "privacy", "report", "app", "service", "distributed", "cli"]
"""Bottom first: a module may import its own layer and the layers before it."""

TOP_LEVEL = {"__init__", "__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "mallseg" or len(parts) < 2:
        return None
    return parts[1]


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Modules ``path`` imports (top-level statements only, outside TYPE_CHECKING, if asked)."""
    tree = ast.parse(path.read_text())
    nodes: list[ast.AST] = []
    if top_level_only:
        for node in tree.body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            nodes.extend(ast.walk(node))
    else:
        nodes = list(ast.walk(tree))
    names: set[str] = set()
    current = module_name(path)
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = current.split(".")[: -node.level + (1 if path.name == "__init__.py" else 0)
                                           or None]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.startswith("mallseg")}


ALL_MODULES = sorted(PACKAGE.rglob("*.py"))
KNOWN = {module_name(p): p for p in ALL_MODULES}


def test_every_module_belongs_to_a_layer() -> None:
    strays = [name for name in KNOWN
              if name != "mallseg" and layer_of(name) not in LAYERS
              and name.split(".")[-1] not in TOP_LEVEL]
    assert strays == []


@pytest.mark.parametrize("path", ALL_MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_a_later_layer(path: Path) -> None:
    layer = layer_of(module_name(path))
    if layer is None or layer in TOP_LEVEL:
        return  # the package's entry points may import any layer
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    offenders = sorted(m for m in imports(path, top_level_only=False)
                       if layer_of(m) is not None and layer_of(m) not in allowed
                       and m in KNOWN)
    assert offenders == [], f"{module_name(path)} imports later layers: {offenders}"


def test_there_is_no_import_cycle() -> None:
    graph = {name: {m for m in imports(path, top_level_only=True) if m in KNOWN and m != name}
             for name, path in KNOWN.items()}
    # importing a package runs its __init__, so a module depends on its parents too
    for name in list(graph):
        parts = name.split(".")
        graph[name] |= {".".join(parts[:i]) for i in range(2, len(parts))
                        if ".".join(parts[:i]) in KNOWN} - {name}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1 and not _is_parent_init(nxt, node):
                cycle.extend([*stack[stack.index(nxt):], nxt] if nxt in stack else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*stack, nxt]):
                return True
        state[node] = 2
        return False

    for name in sorted(graph):
        if state.get(name) is None and visit(name, [name]):
            break
    assert cycle == [], " -> ".join(cycle)


def _is_parent_init(candidate: str, node: str) -> bool:
    """A package's __init__ importing its own submodules is not a cycle of meaning.

    Either way round: a submodule depends on its parent package (importing it runs the
    ``__init__``), and the ``__init__`` re-exports the submodule.
    """
    return node.startswith(candidate + ".") or candidate.startswith(node + ".")


def test_library_code_never_prints_or_pickles() -> None:
    for path in ALL_MODULES:
        if path.parts[-2] == "cli":
            continue
        tree = ast.parse(path.read_text())
        calls = {n.func.id for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "print" not in calls, path
        assert not {"pickle", "dill"} & imports(path, top_level_only=False), path
        raw = {alias.name for n in ast.walk(tree) if isinstance(n, ast.Import)
               for alias in n.names}
        assert not {"pickle", "dill"} & raw, path


def test_modules_stay_small() -> None:
    long = {module_name(p): n for p in ALL_MODULES
            if (n := len(p.read_text().splitlines())) > 450
            and "longer than usual because" not in p.read_text()[:3000]}
    assert long == {}
