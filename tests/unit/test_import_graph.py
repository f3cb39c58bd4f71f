"""The project's import graph, read from the source with ``ast`` (nothing is imported).

Every import counts, at module level and inside functions alike (an import inside a
function still runs, only later); imports under ``if TYPE_CHECKING:`` do not (they never
run). ``from package import name`` is an import of ``package.name`` when that is a module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("authserver", "consent_ui", "demo_client", "bench")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    # What it names: ("pkg.mod",); for ``from pkg import x``, ("pkg", "pkg.x").
    names: tuple[str, ...]
    line: int

    @property
    def where(self) -> str:
        return f"{module_path(self.source)}:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def module_path(name: str) -> str:
    return str(modules()[name].relative_to(ROOT))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` inside ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    path = modules()[module]
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(module, (alias.name,), node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            for alias in node.names:
                names = (base,) if alias.name == "*" else (base, f"{base}.{alias.name}")
                found.append(Import(module, names, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return tuple(found)


def resolve(names: tuple[str, ...]) -> str | None:
    """The project module an import loads: the most specific name that is one."""
    for name in reversed(names):
        while name:
            if name in modules():
                return name
            name = name.rpartition(".")[0]
    return None


@cache
def graph() -> dict[str, dict[str, Import]]:
    """module -> {imported project module -> the first import statement naming it}."""
    edges: dict[str, dict[str, Import]] = {name: {} for name in modules()}
    for name in modules():
        for imported in imports_of(name):
            target = resolve(imported.names)
            if target is not None and target != name:
                edges[name].setdefault(target, imported)
    return edges


def find_cycles(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) in each group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(start: str) -> None:  # Tarjan's algorithm, without recursion
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for name in sorted(edges):
        if name not in index:
            connect(name)
    return [_shortest_cycle(edges, group) for group in groups]


def _shortest_cycle(edges: dict[str, dict[str, Import]], group: list[str]) -> list[str]:
    """The shortest path from the group's first module back to itself, inside the group."""
    members = set(group)
    start = group[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges[node]):
                if child not in members:
                    continue
                if child == start:
                    chain = [node]
                    while chain[-1] != start:
                        chain.append(came_from[chain[-1]])
                    return [start, *reversed(chain[:-1]), start]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle in the group {group}")  # cannot happen


def describe(cycle: list[str], edges: dict[str, dict[str, Import]]) -> str:
    steps = [
        f"  {source} -> {target}  ({edges[source][target].where})"
        for source, target in zip(cycle, cycle[1:], strict=False)
    ]
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


def violations(sources: str, forbidden) -> list[str]:
    """Imports in the modules under ``sources`` that name something ``forbidden(name)``."""
    found = []
    for name in modules():
        if name != sources and not name.startswith(sources + "."):
            continue
        for imported in imports_of(name):
            bad = [target for target in imported.names if forbidden(target)]
            if bad:
                found.append(f"{imported.where}: {bad[-1]}")
    return found


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_graph_is_read():
    """A sanity check of the reader itself, on imports that exist for good."""
    assert {"authserver.cli", "authserver.config", "bench.cli", "consent_ui.cli"} <= set(graph())
    assert "authserver.config" in graph()["authserver.cli.server_cmd"]


def test_the_cycle_finder_reports_a_readable_chain():
    edges = {
        name: {target: Import(name, (target,), 1) for target in targets}
        for name, targets in {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": []}.items()
    }
    assert find_cycles(edges) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {}, "b": {"a": Import("b", ("a",), 1)}}) == []


def test_no_import_cycles():
    edges = graph()
    cycles = find_cycles(edges)
    assert not cycles, "modules that import each other (directly or round a loop):\n" + "\n".join(
        describe(cycle, edges) for cycle in cycles
    )


def test_oauth2_does_not_import_the_web_layer():
    found = violations("authserver.oauth2", lambda name: _under(name, "authserver.web"))
    assert not found, "authserver.oauth2 imports authserver.web:\n" + "\n".join(found)


def test_the_domain_imports_no_framework_and_no_other_layer():
    def forbidden(name: str) -> bool:
        top = name.partition(".")[0]
        if top in ("flask", "werkzeug", "sqlalchemy"):
            return True
        return top == "authserver" and not _under(name, "authserver.domain")

    found = violations("authserver.domain", forbidden)
    assert not found, "authserver.domain imports outside itself:\n" + "\n".join(found)
