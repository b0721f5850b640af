"""The package's shape: layers import downwards only, no cycles, one owner of the run folder's names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "creative"
# Top-down: a module may import from its own layer or any layer below it, never above.
LAYERS = [
    {"cli", "cli_help", "console", "cli_tables", "__main__"},
    {"commands"},
    {"run", "stages"},
    {"research", "copy", "gen", "render", "brand", "budget", "store", "results", "mock"},
    {"core"},
]
RUN_FOLDER_NAMES = {"research.json", "research.md", "screenshot.png", "brief.md", "prompts.json", "runlog.json",
                    "backgrounds", "ads", "video", "contact_sheet.png", "index.html", "budget.jsonl", ".cache",
                    "creative.sqlite"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(["creative", *parts[:-1]] if parts[-1] == "__init__" else ["creative", *parts])
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """Every creative module `name` imports, at any depth of its code (lazy imports count)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if MODULES[name].name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def _layer(name: str) -> int:
    part = name.split(".")[1] if "." in name else "__init__"
    for index, layer in enumerate(LAYERS):
        if part in layer:
            return index
    return len(LAYERS)  # the package root (__init__) sits below everything


def test_every_module_belongs_to_a_layer():
    stray = [m for m in MODULES if m != "creative" and _layer(m) == len(LAYERS)]
    assert stray == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_down_the_layers(name):
    upward = [m for m in _imports(name) if _layer(m) < _layer(name)]
    assert upward == [], f"{name} imports from a higher layer"


def test_no_command_imports_another():
    for name in MODULES:
        if name.startswith("creative.commands."):
            others = [m for m in _imports(name) if m.startswith("creative.commands.")]
            assert others == [], f"{name} imports {others}"


def test_no_import_cycles():
    graph = {name: _imports(name) for name in MODULES}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def _path_parts(tree: ast.AST) -> list[ast.Constant]:
    """String constants used to build a path: `x / "name"`, `x.joinpath("name")`, `Path("name")`."""
    parts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            parts += [n for n in (node.left, node.right) if isinstance(n, ast.Constant)]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in {"joinpath", "Path"}:
            parts += [n for n in node.args if isinstance(n, ast.Constant)]
    return parts


def test_only_the_run_folder_module_spells_run_folder_names():
    spelled = []
    for name, path in MODULES.items():
        if name == "creative.run.folder":
            continue
        for node in _path_parts(ast.parse(path.read_text(encoding="utf-8"))):
            if node.value in RUN_FOLDER_NAMES or str(node.value).startswith("v{"):
                spelled.append(f"{name}:{node.lineno} {node.value!r}")
    assert spelled == []
