"""Lower layers never import higher ones (docs/design.md section 2), at module top or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import ecgkd_lite

PACKAGE = Path(ecgkd_lite.__file__).parent
#: the layers, lowest first; a module may import its own layer and those below
LAYERS = (
    ("config", "errors", "checks", "metrics", "utils", "versions", "progress"),
    ("data",),
    ("models",),
    ("distill",),
    ("train",),
    ("evaluate", "explain"),
    ("experiment",),
    ("plots", "edge", "bench"),
    ("notebook", "suite", "cli"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
#: imports that break the order (none today); nothing may be added to this set
KNOWN: set[tuple[str, str]] = set()


def _unit(path: Path) -> str:
    rel = path.relative_to(PACKAGE).parts
    return rel[0][:-3] if len(rel) == 1 else rel[0]


def _imported_units(path: Path):
    pkg = list(path.relative_to(PACKAGE).parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = pkg[: len(pkg) - (node.level - 1)]
            parts = base + (node.module.split(".") if node.module else [])
            names = [parts[0]] if parts else [a.name for a in node.names]
        elif node.module and node.module.split(".")[0] == "ecgkd_lite":
            parts = node.module.split(".")[1:]
            names = [parts[0]] if parts else [a.name for a in node.names]
        else:
            continue
        for name in names:
            yield node.lineno, name


def violations() -> set[tuple[str, str, int]]:
    out = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        if unit not in RANK:
            continue
        for line, name in _imported_units(path):
            if name in RANK and RANK[name] > RANK[unit]:
                out.add((path.relative_to(PACKAGE).as_posix(), name, line))
    return out


def test_every_module_is_in_a_layer():
    units = {_unit(p) for p in PACKAGE.rglob("*.py")} - {"__init__", "__main__"}
    assert units <= set(RANK), f"modules without a layer: {sorted(units - set(RANK))}"


def test_no_lower_layer_imports_a_higher_one():
    found = violations()
    new = sorted((f, n, line) for f, n, line in found if (f, n) not in KNOWN)
    assert not new, "lower layer imports a higher one:\n" + "\n".join(f"  {f}:{line} imports {n}" for f, n, line in new)
    gone = KNOWN - {(f, n) for f, n, _ in found}
    assert not gone, f"fixed, so remove from KNOWN: {sorted(gone)}"
