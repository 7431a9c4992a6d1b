"""The code stays readable in one screen: no function over 80 lines, and no factory (a
function defining functions inside it, such as a blueprint full of views) over 60: page
views and event handlers are module-level functions instead."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [ROOT / name for name in ("services", "shared", "ops") if (ROOT / name).is_dir()]
LONGEST_FUNCTION = 80
LONGEST_FACTORY = 60


def functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for package in PACKAGES:
        for path in sorted(package.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node))
    return found


def length(node: ast.AST) -> int:
    return node.end_lineno - node.lineno + 1


def is_factory(node: ast.AST) -> bool:
    """It builds things out of functions defined inside it (two or more): views, handlers."""
    inner = [n for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n is not node]
    return len(inner) >= 2


def test_the_walk_finds_the_services_and_shared_code():
    names = {where.split(" ")[1] for where, _ in functions()}
    assert {"bootstrap", "build_platform", "consume"} <= names


def test_no_function_is_longer_than_80_lines():
    long = [f"{where} ({length(node)} lines)" for where, node in functions() if length(node) > LONGEST_FUNCTION]
    assert long == []


def test_no_factory_is_longer_than_60_lines():
    long = [
        f"{where} ({length(node)} lines)"
        for where, node in functions()
        if is_factory(node) and length(node) > LONGEST_FACTORY
    ]
    assert long == []
