"""The layers, read from the code's imports (``ast``): no import runs back up, no cycle.

Every module of ``producer``, ``worker`` and ``workloads`` belongs to one layer (the
longest prefix in ``LAYERS`` wins, so any other ``producer.X`` module is ``app``). A layer
may import its own modules and the layers ``MAY_IMPORT`` lists for it, nothing else.
Every import counts, at module level or inside a function (a lazy import hides a
dependency, it does not remove it); only ``if TYPE_CHECKING:`` blocks are skipped, since
they name types for the type checker and run nothing. docs/ARCHITECTURE.md draws the
same table.

To place a new module: give its prefix a layer in ``LAYERS`` if ``app`` is wrong for it.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("producer", "worker", "workloads")

LAYERS = {
    "workloads": "workloads",
    "worker.protocol": "contract",
    "worker.cgroup": "contract",
    "worker": "worker",
    "producer": "app",  # the package itself (``from producer import compare``) and the edge
    "producer.version": "base",
    "producer.errors": "base",
    "producer.document": "base",
    "producer.stops": "base",
    "producer.broker_source": "base",
    "producer.sitepath": "base",
    "producer.services": "services",
    "producer.measure": "measure",
    "producer.backends": "backends",
    "producer.backends.celery": "celery",
    "producer.report": "report",
    "producer.exports": "exports",
    "producer.convoy": "convoy",
}
"""Module prefix -> layer. ``app`` (session, sweep, pythons, stack, commands, api, options,
cli) is every other module of ``producer``."""

_FOUNDATION = {"base", "workloads", "contract"}
MAY_IMPORT: dict[str, set[str]] = {
    "workloads": set(),
    "contract": set(),  # the producer-worker contract and the cgroup parser: standard library only
    "worker": {"contract", "workloads"},
    "base": set(),
    "services": _FOUNDATION,
    "measure": _FOUNDATION | {"services"},
    "backends": _FOUNDATION | {"services", "measure"},
    "celery": _FOUNDATION | {"services", "measure", "backends"},
    "report": _FOUNDATION | {"measure"},
    "exports": _FOUNDATION | {"report"},
    "convoy": _FOUNDATION | {"services", "measure", "report", "exports"},
    "app": _FOUNDATION | {"services", "measure", "backends", "celery", "report", "exports", "convoy"},
}
"""The allowed arrows: a layer may import these layers (and itself). The worker knows no
producer; the engine (``measure``) no backend and no report; services no backend; the
report no backend; nothing below ``app`` knows Celery's backend."""

KNOWN_UPWARD: set[tuple[str, str]] = set()
"""Imports that break the table today and are being removed elsewhere; the lead clears
each entry when the branch that removes it is merged (a stale entry fails the test)."""

CELERY_ALLOWED = (
    "producer.backends.celery",
    "producer.backends",
    "producer.backends.family",
    "producer.options",
    "producer.cli",
)
"""Where Celery may be named in code: its own folder, the registries (``producer.backends``,
its ``__init__`` only, and the family registry ``producer.backends.family``) and the CLI's
flags and help."""

KNOWN_CELERY: set[str] = set()
"""Modules that name Celery in code today; each is cleared when its branch is merged."""


def module_files() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _skip_type_checking(tree: ast.Module) -> list[ast.AST]:
    """Every node of the tree except what sits under ``if TYPE_CHECKING:``."""
    nodes, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        nodes.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return nodes


def imports_of(name: str, path: Path, modules: set[str]) -> list[tuple[str, int]]:
    """``(imported module, line)`` for each import of ours in one module.

    ``from a import b`` is an arrow to ``a.b`` when that is a module, else to ``a``.
    """
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = []
    for node in _skip_type_checking(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.append((target if target in modules else base, node.lineno))
    return [(target, line) for target, line in found if target.split(".")[0] in PACKAGES]


def layer_of(module: str) -> str:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise AssertionError(f"{module}: in no layer")


def arrows() -> list[tuple[str, str, int]]:
    files = module_files()
    names = set(files)
    return [(m, target, line) for m, path in files.items() for target, line in imports_of(m, path, names)]


def upward(edges: list[tuple[str, str, int]]) -> list[str]:
    bad = []
    for source, target, line in edges:
        a, b = layer_of(source), layer_of(target)
        if a != b and b not in MAY_IMPORT[a] and (source, target) not in KNOWN_UPWARD:
            bad.append(f"{source}:{line} imports {target} ({a} -> {b})")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def package_of(module: str, files: dict[str, Path]) -> str:
    """The package a module is in; a package's ``__init__`` is the package itself.

    The modules at ``producer``'s top are split by layer (``producer[base]``, ``producer[app]``):
    the package holds both the foundations and the edge, and ``MAY_IMPORT`` orders them. A
    subpackage in the ``app`` layer (``producer.traffic``: the ``load`` command) is part of the
    edge, as ``sweep.py`` is.
    """
    package = module if files[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    if package == "producer" or (package.startswith("producer.") and layer_of(module) == "app"):
        return f"producer[{layer_of(module)}]"
    return package


@pytest.fixture(scope="module")
def edges():
    return arrows()


def test_every_layer_may_import_only_layers_below_it():
    graph = {layer: set(below) for layer, below in MAY_IMPORT.items()}
    assert not cycles(graph), "MAY_IMPORT itself has a cycle"
    assert set(LAYERS.values()) == set(MAY_IMPORT)


def test_no_import_runs_back_up(edges):
    assert upward(edges) == []


def test_the_check_sees_an_upward_import():
    made_up = [
        ("worker.settings", "producer.measure.host", 1),
        ("producer.measure.results", "producer.report.document", 2),
        ("producer.services.redis", "producer.backends.celery.app", 3),
        ("producer.report.verdict", "producer.backends", 4),
    ]
    assert len(upward(made_up)) == 4
    assert upward([("producer.session", "producer.measure.rounds", 1)]) == []


def test_no_module_cycle(edges):
    graph = defaultdict(set)
    for source, target, _ in edges:
        if source != target:
            graph[source].add(target)
    assert cycles(graph) == []


def test_no_package_cycle(edges):
    """Packages (``producer.measure``, ``producer.backends``, ``worker``...) import each other one way."""
    files = module_files()
    graph = defaultdict(set)
    for source, target, _ in edges:
        a, b = package_of(source, files), package_of(target, files)
        if a != b and (source, target) not in KNOWN_UPWARD:
            graph[a].add(b)
    assert cycles(graph) == []


def test_the_cycle_check_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_worker_imports_no_producer_and_the_producer_only_the_contract(edges):
    for source, target, line in edges:
        if source.startswith("worker"):
            assert not target.startswith("producer"), f"{source}:{line} imports {target}"
        if source.startswith("producer") and target.startswith("worker"):
            assert layer_of(target) == "contract", f"{source}:{line} imports {target}"


def test_shared_modules_import_only_the_standard_library():
    files = module_files()
    for name in ("worker.protocol", "worker.cgroup", "producer.document", "producer.version"):
        tree = ast.parse(files[name].read_text())
        for node in _skip_type_checking(tree):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                assert top == "__future__" or top in sys.stdlib_module_names, f"{name} imports {top}"


def _celery_in_code(source: str, label: str) -> list[str]:
    """Where a module names Celery in code: imports, names, and key-like strings.

    A sentence for the user that mentions Celery (prose, with spaces) is not wiring; a
    string without spaces (``"celery"``, ``"celery-prefork"``) is a key someone matches.
    """
    tree = ast.parse(source)
    docs = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    hits = []
    nodes = [n for n in _skip_type_checking(tree) if hasattr(n, "lineno")]
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset)):
        words: list[str] = []
        if isinstance(node, ast.Import):
            words = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            words = [node.module or "", *(alias.name for alias in node.names)]
        elif isinstance(node, ast.Name):
            words = [node.id]
        elif isinstance(node, ast.Attribute):
            words = [node.attr]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            words = [node.name]
        elif isinstance(node, (ast.arg, ast.keyword)):
            words = [node.arg or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            words = [node.value] if not any(c.isspace() for c in node.value) else []
        hits += [f"{label}:{node.lineno} {w}" for w in words if "celery" in w.lower()]
    return hits


def _celery_may_appear(module: str) -> bool:
    if module == "producer.backends":
        return True
    return any(module == p or module.startswith(p + ".") for p in CELERY_ALLOWED if p != "producer.backends")


def test_celery_is_named_only_in_its_folder_the_registry_and_the_cli():
    files = module_files()
    found = {
        name: hits
        for name, path in files.items()
        if name.startswith(("producer", "workloads")) and (hits := _celery_in_code(path.read_text(), name))
    }
    outside = {m: h for m, h in found.items() if not _celery_may_appear(m) and m not in KNOWN_CELERY}
    assert outside == {}
    stale = sorted(m for m in KNOWN_CELERY if m not in found)
    assert stale == [], "no Celery left in these: remove them from KNOWN_CELERY"


def test_the_celery_check_sees_wiring_and_not_prose():
    source = (
        '"""Celery, in prose."""\n'
        "from producer.backends.celery.workers import WorkerPlan\n"
        'POOLS = {"celery-prefork": 1}\n'
        'NOTE = "a Celery pool in a sentence"\n'
        "def pick(celery):\n"
        "    return celery\n"
    )
    words = [hit.split(" ", 1)[1] for hit in _celery_in_code(source, "probe")]
    assert words == ["producer.backends.celery.workers", "celery-prefork", "celery", "celery"]


def test_known_upward_imports_are_still_there(edges):
    present = {(source, target) for source, target, _ in edges}
    stale = sorted(KNOWN_UPWARD - present)
    assert stale == [], "these imports are gone: remove them from KNOWN_UPWARD"
