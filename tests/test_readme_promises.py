"""Each promise in the README's Privacy, Leads, Limits, Editing the facts and Staff insights sections names
tests that exist.

A sentence there says what is kept, removed, deleted, never logged, refused, limited or retried. Each bullet ends with
`<!-- proof: test_a test_b -->`; this test fails when a bullet names no test, or a test that no
longer exists (renamed or deleted), so a promise cannot outlive its proof unnoticed.
"""

from __future__ import annotations

import ast
import re

import pytest

from tests.conftest import ROOT

PROOF = re.compile(r"<!--\s*proof:\s*([^>]*?)\s*-->")


def promises(title: str) -> list[str]:
    """The bullets of a README section (## title)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return ["- " + bullet.strip() for bullet in section.split("\n- ")[1:]]


def defined_tests() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


@pytest.mark.parametrize(
    "title, at_least",
    [
        ("Privacy", 8),
        ("Leads", 6),
        ("Limits", 8),
        ("Editing the facts", 2),
        ("Several servers: `make cluster`", 6),
        ("Staff insights", 6),
    ],
)
def test_every_promise_names_tests_that_exist(title, at_least):
    found = promises(title)
    assert len(found) >= at_least, f"the {title} section's bullets were not found"
    existing = defined_tests()
    for promise in found:
        proofs = PROOF.findall(promise)
        assert proofs, f"no proof named for: {promise.splitlines()[0]}"
        missing = [name for name in proofs[0].split() if name not in existing]
        assert not missing, f"{missing} named for '{promise.splitlines()[0]}' do not exist"


def test_every_proof_named_anywhere_in_the_readme_exists():
    """Promises in running text carry a marker too; each test it names must exist."""
    markers = PROOF.findall((ROOT / "README.md").read_text())
    assert len(markers) >= 30, "the README's proof markers were not found"
    existing = defined_tests()
    missing = sorted({name for marker in markers for name in marker.split()} - existing)
    assert not missing, f"the README names tests that do not exist: {missing}"
