"""The layer rule of ARCHITECTURE.md, checked on the source so that it cannot regress.

storage -> engine -> forums -> domain -> shells: a module imports its own layer or lower
ones, never a higher one, and no imports go round in a cycle (imports inside functions
count too).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. A module belongs to the first layer with a prefix of its dotted name.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "plugin.config",
            "plugin.resources",
            "plugin.netguard",
            "plugin.metrics",
            "plugin.logs",
            "plugin.i18n",
        ),
    ),
    ("storage", ("plugin.storage",)),
    ("engine", ("plugin.engine",)),
    ("forums", ("plugin.forums", "plugin.discourse", "plugin.zulip")),
    ("domain", ("plugin.domain",)),
    ("shells", ("plugin.web", "plugin.cli", "plugin.worker", "plugin.serve", "webhooks")),
]
FORUM_FOLDERS = ("plugin.discourse", "plugin.zulip", "webhooks.discourse", "webhooks.zulip")
# Scripts that a tool runs at the top of the stack, whatever folder they sit in: Alembic runs
# env.py, which needs every table, the forums' own too (plugin/forums/tables.py).
SCRIPTS = {"plugin.storage.migrations.env": "shells"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("plugin", "webhooks"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "fixtures" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an imported name lands in (a package, a module in it), or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> set[str]:
    """Every project module `module` imports, at the top or inside a function."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            # `from package import module` needs that module; `from module import name`, it.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target and target != module:
                out.add(target)
    return out


GRAPH = {module: _imports(module) for module in MODULES}


def _layer(module: str) -> int | None:
    if module in SCRIPTS:
        return [name for name, _ in LAYERS].index(SCRIPTS[module])
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def test_every_module_has_a_layer():
    unplaced = [m for m in MODULES if m != "plugin" and _layer(m) is None]
    assert unplaced == []


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in GRAPH.items()
        if _layer(module) is not None
        for target in sorted(targets)
        if _layer(target) is not None and _layer(target) > _layer(module)
    ]
    assert upward == []


def test_there_are_no_import_cycles():
    # Tarjan's strongly connected components; any component of two or more is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert cycles == []


def test_only_the_registry_imports_a_forum_folder():
    outside = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if not module.startswith(FORUM_FOLDERS) and module != "plugin.forums.registry"
        for target in sorted(targets)
        if target.startswith(FORUM_FOLDERS)
    ]
    assert outside == []


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring constants of a module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _words(node: ast.AST) -> list[str]:
    """The names and strings a node spells out in code."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [a.name for a in node.names] + [getattr(node, "module", None) or ""]
    return []


def test_only_the_registry_names_a_forum_outside_the_forum_folders():
    # Docstrings and comments may say which forum they mean; code and its strings may not.
    named = set()
    for module, path in MODULES.items():
        if module.startswith(FORUM_FOLDERS) or module == "plugin.forums.registry":
            continue
        if module.startswith("plugin.storage.migrations"):
            continue  # migrations record the schema's history, forum tables included
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if id(node) not in docs and any(
                "discourse" in word.lower() or "zulip" in word.lower() for word in _words(node)
            ):
                named.add(f"{module}:{node.lineno}")
    assert sorted(named) == []


def test_every_outbox_kind_enqueued_is_in_the_table():
    from plugin.domain.tables import OUTBOX_KINDS

    enqueued = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "enqueue":
                for kw in node.keywords:
                    if kw.arg == "kind" and isinstance(kw.value, ast.Constant):
                        enqueued.add(kw.value.value)
    assert enqueued and enqueued <= set(OUTBOX_KINDS)
