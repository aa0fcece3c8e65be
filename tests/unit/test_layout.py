"""The rooms of the code and the direction of their imports (docs/architecture.md).

    dags/, povdb/ (CLI, bench, Airflow plugin)
      -> pipeline/ (orchestration)
        -> ingest/, expectations/, transforms/, warehouse/, reporting/, generator/
          -> contract/, settings/

A module may import its own package and any lower layer; siblings of one layer never import
each other; nothing imports upward, nothing imports ``dags``, and no import cycle exists
among the project's modules.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAYERS: dict[str, int] = {
    "dags": 0,
    "povdb": 0,
    "pipeline": 1,
    "ingest": 2,
    "expectations": 2,
    "transforms": 2,
    "warehouse": 2,
    "reporting": 2,
    "generator": 2,
    "contract": 3,
    "settings": 3,
}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    imported: str  # dotted module name, resolved to the deepest module that exists
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path, packages: set[str]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(root, path)] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(root: Path, packages: set[str]) -> list[Import]:
    """Every import of a project module by a project module, wherever it stands."""
    modules = project_modules(root, packages)
    found = []
    for importer, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = importer.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, *([base] if base else [])])
                # ``from pkg import mod`` imports the module pkg.mod when there is one.
                targets = [f"{base}.{a.name}" for a in node.names] or [base]
            for target in targets:
                resolved = _resolve(target, modules)
                if resolved and resolved != importer:
                    found.append(Import(importer, resolved, getattr(node, "lineno", 0)))
    return found


def direction_violations(found: list[Import]) -> list[str]:
    bad = []
    for imp in found:
        src, dst = imp.importer.split(".")[0], imp.imported.split(".")[0]
        if src == dst:
            continue
        where = f"{imp.importer}:{imp.line} imports {imp.imported}"
        if dst == "dags":
            bad.append(f"{where}: nothing imports dags")
        elif LAYERS[dst] < LAYERS[src]:
            bad.append(f"{where}: upward ({src} is below {dst})")
        elif LAYERS[dst] == LAYERS[src]:
            bad.append(f"{where}: siblings ({src} and {dst} share a layer)")
    return bad


def cycles(found: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        graph.setdefault(imp.importer, set()).add(imp.imported)
        graph.setdefault(imp.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def test_every_top_level_package_has_a_layer() -> None:
    packages = {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name != "tests"
    }
    assert packages <= set(LAYERS), f"packages without a layer: {packages - set(LAYERS)}"
    assert {p for p in LAYERS if p != "dags"} <= packages


def test_imports_go_down_the_layers() -> None:
    bad = direction_violations(imports(ROOT, set(LAYERS)))
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_no_import_cycle() -> None:
    found = cycles(imports(ROOT, set(LAYERS)))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"contract/__init__.py": "", "contract/a.py": "from pipeline import steps\n"},
            ["contract.a:1 imports pipeline.steps: upward (contract is below pipeline)"],
        ),
        (
            {"ingest/__init__.py": "", "ingest/a.py": "def f():\n    import transforms.b\n"},
            ["ingest.a:2 imports transforms.b: siblings (ingest and transforms share a layer)"],
        ),
        (
            {"povdb/__init__.py": "", "povdb/a.py": "from dags import poverty_nightly\n"},
            ["povdb.a:1 imports dags.poverty_nightly: nothing imports dags"],
        ),
        (
            {"pipeline/__init__.py": "", "pipeline/a.py": "from contract.b import X\n"},
            [],
        ),
    ],
    ids=["upward", "siblings-in-a-function", "into-dags", "downward-is-fine"],
)
def test_the_direction_check_catches(
    tmp_path: Path, files: dict[str, str], expected: list[str]
) -> None:
    base = {
        f"{p}/{m}.py": ""
        for p, m in [("pipeline", "steps"), ("transforms", "b"), ("contract", "b")]
    }
    _tree(tmp_path, {**base, "dags/poverty_nightly.py": "", "dags/__init__.py": "", **files})
    for p in ("pipeline", "transforms", "contract"):
        (tmp_path / p / "__init__.py").touch()
    assert direction_violations(imports(tmp_path, set(LAYERS))) == expected


def test_the_cycle_check_catches_a_cycle_through_a_relative_import(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "pipeline/__init__.py": "",
            "pipeline/load.py": "from . import notify\n",
            "pipeline/notify.py": "def f():\n    from pipeline.steps import run\n",
            "pipeline/steps.py": "from pipeline.load import x\n",
            "pipeline/lock.py": "from pipeline import steps\n",
        },
    )
    assert cycles(imports(tmp_path, {"pipeline"})) == [
        ["pipeline.load", "pipeline.notify", "pipeline.steps"]
    ]
