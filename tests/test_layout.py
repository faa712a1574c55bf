"""The house's shape (issue 11): the project's modules import one another without a cycle."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _import_graph():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts/import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _graph_of(base: Path) -> dict[str, set[str]]:
    """Parsed in a fresh interpreter: Python 3.11's ast.parse can fail with "SystemError: AST
    constructor recursion depth mismatch" in a process that earlier caught a RecursionError
    (CPython gh-106905), which the suite's deeply nested JSON tests do on purpose."""
    script = ROOT / "scripts/import_graph.py"
    done = subprocess.run(
        [sys.executable, str(script), "--json", str(base)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {name: set(targets) for name, targets in json.loads(done.stdout).items()}


def test_no_import_cycle_among_project_modules_counting_function_local_imports():
    # given every module of app/, workers/, notifiers/ and jitgate/
    graph_tool = _import_graph()
    graph = _graph_of(ROOT)

    # when the import graph is searched for strongly connected components
    cycles = graph_tool.find_cycles(graph)

    # then there are none
    assert cycles == []


def test_a_function_local_import_counts_as_an_edge(tmp_path):
    # given a module that imports another only inside a function
    (tmp_path / "app").mkdir()
    (tmp_path / "app/a.py").write_text("def f():\n    from app import b\n")
    (tmp_path / "app/b.py").write_text("from app.a import f\n")
    graph_tool = _import_graph()

    # when the graph is built
    graph = _graph_of(tmp_path)

    # then the hidden tie is a cycle
    assert graph_tool.find_cycles(graph) == [["app.a", "app.b"]]


def test_no_upward_import():
    # given the import graph
    graph_tool = _import_graph()
    graph = _graph_of(ROOT)

    # when its edges are judged by the layering
    upward = {(s, t) for s, targets in graph.items() for t in targets if graph_tool.is_upward(s, t)}

    # then none points up (domains queue tasks and notifiers sign through app/core's ports), and
    # no route module is imported by another package
    assert sorted(upward) == []
    assert not [
        (s, t)
        for s, targets in graph.items()
        for t in targets
        if ".routes" in t and s.split(".")[:2] != t.split(".")[:2] and s != "app.main"
    ]


# Where a handler may open a session itself rather than take SessionDep: the long-poll's short
# looks (app/jit/waiting.py) and app/http/deps.py, which declares the ways (README).
OPENS_ITS_OWN_SESSIONS = {"app/jit/waiting.py", "app/http/deps.py"}
SESSION_OPENERS = ("session_scope", "read_session", "lazy_read_session", "get_session")


def test_routes_get_their_session_one_way():
    # given every module that declares routes
    route_modules = [
        path
        for path in (ROOT / "app").rglob("*.py")
        if "migrations" not in path.parts
        and any(m in path.read_text() for m in ("APIRouter(", "add_lean_post(", "add_lean_get("))
    ]
    assert len(route_modules) > 10

    # when their imports from app.core.db are read
    imports = [
        (str(path.relative_to(ROOT)), line.strip())
        for path in route_modules
        for line in path.read_text().splitlines()
        if line.lstrip().startswith("from app.core.db import")
    ]
    opening = [
        (module, line)
        for module, line in imports
        if module not in OPENS_ITS_OWN_SESSIONS and any(n in line for n in SESSION_OPENERS)
    ]

    # then none opens a session itself: SessionDep, or app.http.deps' unit_of_work / lean_read
    assert opening == []


def _readme_map_words() -> set[str]:
    """The words of the README's "Where things live" tree (the fenced block under that heading)."""
    section = (ROOT / "README.md").read_text().split("## Where things live", 1)[1]
    tree = section.split("```", 2)[1]
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", tree))


def test_the_readme_map_names_every_module_and_package():
    # given the README's map and the tree of app/, workers/, notifiers/ and jitgate/
    words = _readme_map_words()
    names = {
        path
        for top in ("app", "workers", "notifiers", "jitgate")
        for path in (ROOT / top).rglob("*")
        if "__pycache__" not in path.parts
        and "migrations" not in path.parts
        and ((path.suffix == ".py" and path.stem != "__init__") or path.is_dir())
        and not {"templates", "static", "data"} & set(path.relative_to(ROOT).parts[1:])
    }

    # when each module and package is looked up by its name
    unnamed = sorted(str(p.relative_to(ROOT)) for p in names if p.stem not in words)

    # then every one of them is on the map: a new module is added to it in the same change
    assert unnamed == []


def test_the_readme_map_words_are_read_from_the_tree_block():
    # given the words the check above reads: a module of the tree is among them, a made-up one not
    words = _readme_map_words()
    assert "state_machine" in words
    assert "no_such_module_here" not in words
