"""The domain stays pure: no module in coinvoice.domain imports I/O or an outer layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "coinvoice" / "domain"
ALLOWED = {
    "__future__",
    "dataclasses",
    "decimal",
    "enum",
    "datetime",
    "typing",
    "types",
    "collections",
    # pure text handling, no I/O: the API's rules for text, URLs and email addresses (domain/text.py)
    "re",
    "ipaddress",
    "urllib.parse",
    "coinvoice.domain",
}


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_nothing_but_the_standard_library_and_the_domain(module: Path) -> None:
    outside = {n for n in imports_of(module) if not any(n == a or n.startswith(a + ".") for a in ALLOWED)}
    assert not outside, f"{module.name} imports {sorted(outside)}"
