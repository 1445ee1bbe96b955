"""The pipeline is the layout: a stage never imports a stage that comes after it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mallseg

PACKAGE = Path(mallseg.__file__).parent
STAGES = ["data", "features", "segment", "cli"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("stage", STAGES[:-1])
def test_stage_does_not_import_later_stages(stage: str) -> None:
    later = STAGES[STAGES.index(stage) + 1:]
    offenders = []
    for path in sorted((PACKAGE / stage).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == f"mallseg.{s}" or module.startswith(f"mallseg.{s}.") for s in later):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offenders == []


def test_library_code_never_prints_or_pickles() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parts[-2] == "cli":
            continue
        tree = ast.parse(path.read_text())
        calls = {n.func.id for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "print" not in calls, path
        assert not {"pickle", "dill"} & imported_modules(path), path
