"""The project's import graph, function-local imports included: prints cycles and upward imports.

    python scripts/import_graph.py          # exit 1 when there is a cycle or an upward import

A function-local import still ties two modules together (it only hides the tie from the
interpreter until the function runs), so it counts here. "Upward" follows STYLE.md's layering:
app/core imports nothing above it but app.settings, no domain imports workers/ or a route module of another package,
and notifiers/ import nothing from a domain's internals except through app.core.
"""

import ast
import json
import sys
from pathlib import Path

ROOTS = ("app", "workers", "notifiers", "jitgate")
DOMAINS = ("identity", "authz", "jit", "approvers", "audit", "dashboard")


def module_name(path: Path) -> str:
    parts = list(path.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(base: Path) -> dict[str, Path]:
    found = {}
    for root in ROOTS:
        for path in (base / root).rglob("*.py"):
            rel = path.relative_to(base)
            if "migrations" not in rel.parts:
                found[module_name(rel)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every project module `path` imports, at any depth of the file."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in modules else node.module)
    return {m for m in out if m in modules}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    sys.setrecursionlimit(10_000)
    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "app" or len(parts) == 1:
        return parts[0]
    return parts[1] if parts[1] in ("core", "models", *DOMAINS) else "app"


def is_upward(source: str, target: str) -> bool:
    """An import against STYLE.md's layering (down or sideways to core only)."""
    src, dst = layer(source), layer(target)
    if src == dst:
        return False
    if src == "core":
        return target != "app.settings"
    if src in DOMAINS and dst == "workers":
        return True
    if src in (*DOMAINS, "notifiers") and ".routes" in target:
        return True
    return src == "notifiers" and dst in DOMAINS and not target.endswith(".models")


def project_graph(base: Path) -> dict[str, set[str]]:
    modules = project_modules(base)
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def main() -> int:
    if sys.argv[1:2] == ["--json"]:  # the graph of the tree named next, for tests/test_layout.py
        graph = project_graph(Path(sys.argv[2]))
        print(json.dumps({name: sorted(targets) for name, targets in graph.items()}))
        return 0
    base = Path(__file__).resolve().parent.parent
    graph = project_graph(base)
    cycles = find_cycles(graph)
    upward = sorted((s, t) for s, targets in graph.items() for t in targets if is_upward(s, t))
    edges = sum(len(t) for t in graph.values())
    print(f"{len(graph)} modules, {edges} imports, {len(cycles)} cycles, {len(upward)} upward")
    for cycle in cycles:
        print("cycle:", " ↔ ".join(cycle))
    for source, target in upward:
        print(f"upward: {source} → {target}")
    return 1 if cycles or upward else 0


if __name__ == "__main__":
    sys.exit(main())
