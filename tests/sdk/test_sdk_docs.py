"""docs/sdk.md: every Python example is valid code that only imports what exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_every_python_example_compiles():
    blocks = python_blocks()
    assert len(blocks) >= 9
    for block in blocks:
        compile(block, str(DOC), "exec")


def test_examples_import_only_names_the_sdk_exports():
    import importlib

    for block in python_blocks():
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jitgate"):
                if node.module.startswith("jitgate.adapters"):
                    continue  # checked inside each framework's own venv by its adapter test
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module}.{alias.name}"
