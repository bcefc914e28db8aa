"""pyproject.toml declares the dependencies; the two lock files pin exactly their closure.

`make lock` generates requirements.lock (runtime) and requirements-dev.lock (runtime, test and
dev tools) from pyproject.toml, and the setup installs requirements-dev.lock. These tests catch
a lock edited by hand, a dependency added to pyproject.toml without `make lock`, and a virtualenv
that drifted from the lock, using the metadata of the installed packages (no network).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
EXTRAS = {name: [Requirement(line) for line in lines] for name, lines in PROJECT["optional-dependencies"].items()}
EVERYTHING = RUNTIME + [requirement for extra in EXTRAS.values() for requirement in extra]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: '{line}' is not pinned with =="
            pins[canonical(name)] = version.strip()
    return pins


RUNTIME_LOCK = read_lock(ROOT / "requirements.lock")
DEV_LOCK = read_lock(ROOT / "requirements-dev.lock")


def closure(requirements: Iterable[Requirement]) -> set[str]:
    """Every distribution the requirements pull in, read from the installed packages' metadata."""
    environment = {"python_version": f"{sys.version_info.major}.{sys.version_info.minor}"}

    def applies(requirement: Requirement, extras: Iterable[str]) -> bool:
        marker = requirement.marker
        return marker is None or any(marker.evaluate({**environment, "extra": extra}) for extra in ["", *extras])

    seen: set[tuple[str, tuple[str, ...]]] = set()
    pending = [requirement for requirement in requirements if applies(requirement, ())]
    while pending:
        requirement = pending.pop()
        key = (canonical(requirement.name), tuple(sorted(requirement.extras)))
        if key in seen:
            continue
        seen.add(key)
        needs = [Requirement(line) for line in metadata.requires(requirement.name) or []]
        pending.extend(need for need in needs if applies(need, requirement.extras))
    return {name for name, _ in seen}


# pip's own packaging tools: pinned when something depends on them, never the subject here.
INSTALLER_TOOLS = {"pip", "setuptools", "wheel"}


@pytest.mark.parametrize(("lock", "requirements"), [("runtime", RUNTIME), ("dev", EVERYTHING)], ids=["runtime", "dev"])
def test_every_declared_dependency_is_pinned_within_its_declared_range(lock, requirements):
    pins = RUNTIME_LOCK if lock == "runtime" else DEV_LOCK
    wrong = [
        f"{requirement} (lock: {pins.get(canonical(requirement.name), 'missing')})"
        for requirement in requirements
        if canonical(requirement.name) not in pins
        or not requirement.specifier.contains(pins[canonical(requirement.name)], prereleases=True)
    ]
    assert wrong == []


def test_the_runtime_lock_pins_exactly_what_the_runtime_dependencies_pull_in():
    assert set(RUNTIME_LOCK) - INSTALLER_TOOLS == closure(RUNTIME) - INSTALLER_TOOLS


def test_the_dev_lock_is_the_runtime_lock_plus_what_the_test_and_dev_tools_pull_in():
    assert {name: DEV_LOCK.get(name) for name in RUNTIME_LOCK} == RUNTIME_LOCK
    assert set(DEV_LOCK) - INSTALLER_TOOLS == closure(EVERYTHING) - INSTALLER_TOOLS


def test_the_virtualenv_has_exactly_the_locked_versions():
    drifted = {
        name: (version, installed) for name, version in DEV_LOCK.items() if (installed := _installed(name)) != version
    }
    assert drifted == {}, "run `make setup` (the lock changed) or `make lock` (pyproject.toml changed)"


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
