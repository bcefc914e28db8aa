"""Replacing Rasa functions safely: only on the Rasa they were written for, all or nothing.

A replaced private function goes stale silently when Rasa changes: it may be gone (the
patch then adds an attribute nobody calls), moved, or rewritten so that the replacement no
longer computes what Rasa would. So each Patch names the Rasa version it was written for
and the function it replaces, and `install` checks every patch before it changes anything:
on any mismatch it changes nothing and raises RefusedPatches saying what did not match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import rasa


class RefusedPatches(RuntimeError):
    """The installed Rasa is not what the patches were written for; nothing was patched."""


@dataclass(frozen=True)
class Patch:
    """One Rasa function replaced: why, where it lives, for which Rasa, and by what.

    `replacement` is set on the class as it is, so a static method is given as staticmethod(f).
    """

    purpose: str
    owner: type
    attribute: str
    rasa_version: str
    replacement: Any

    @property
    def target(self) -> str:
        """Rasa's function as module.Class.attribute, which is also its module and qualified name."""
        return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.attribute}"


# Rasa's own class attribute for each installed patch, to restore it and to call it.
_rasa_attributes: dict[Patch, Any] = {}


def _qualified_name(attribute: Any) -> str:
    # Since Python 3.10 a staticmethod or classmethod carries its function's names itself.
    return f"{getattr(attribute, '__module__', '?')}.{getattr(attribute, '__qualname__', repr(attribute))}"


def is_installed(patch: Patch) -> bool:
    return vars(patch.owner).get(patch.attribute) is patch.replacement


def is_rasas_own(patch: Patch) -> bool:
    """Whether the class holds Rasa's function, by its module and qualified name."""
    current = vars(patch.owner).get(patch.attribute)
    return current is not None and _qualified_name(current) == patch.target


def problems(patch: Patch) -> list[str]:
    """What makes this Rasa different from the one the patch was written for (nothing: [])."""
    found: list[str] = []
    named = f"patch {patch.purpose!r} (replaces {patch.target})"
    if rasa.__version__ != patch.rasa_version:
        found.append(f"{named} was written for Rasa {patch.rasa_version}, found Rasa {rasa.__version__}")
    attribute = f"{patch.owner.__qualname__}.{patch.attribute}"
    current = vars(patch.owner).get(patch.attribute)
    if current is None:
        found.append(f"{named}: Rasa {rasa.__version__} has no {attribute}")
    elif not is_rasas_own(patch):
        found.append(f"{named}: {attribute} is {_qualified_name(current)}, not Rasa {rasa.__version__}'s own")
    return found


def install(patches: Iterable[Patch], how_to_switch_off: str) -> None:
    """Sets every replacement, or, when any patch does not fit this Rasa, none of them."""
    pending = [patch for patch in patches if not is_installed(patch)]
    found = [problem for patch in pending for problem in problems(patch)]
    if found:
        raise RefusedPatches(
            "Refusing to patch Rasa; nothing was changed:\n- " + "\n- ".join(found) + f"\n{how_to_switch_off}"
        )
    for patch in pending:
        _rasa_attributes[patch] = vars(patch.owner)[patch.attribute]
        setattr(patch.owner, patch.attribute, patch.replacement)


def uninstall(patches: Iterable[Patch]) -> None:
    """Puts Rasa's own functions back (whatever is set there now, e.g. a test's wrapper)."""
    for patch in patches:
        if patch in _rasa_attributes:
            setattr(patch.owner, patch.attribute, _rasa_attributes.pop(patch))


def rasa_function(patch: Patch) -> Any:
    """Rasa's own function that the installed patch replaced, for cases it hands back to Rasa."""
    return _rasa_attributes[patch]
