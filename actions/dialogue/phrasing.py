"""Turn lists of facts into phrases that fit into the domain's response templates.

Only joining and ordering lives here; every sentence is worded in domain.yml and every
fact comes from the knowledge base.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from actions.knowledge import KnowledgeBase, Offering
from actions.knowledge.model import Program


def join(items: Sequence[str], conjunction: str = "and") -> str:
    """`a`, `a and b`, `a, b and c`; items that contain commas ("City, ST") are kept
    apart with `;` in longer lists and a comma before the conjunction in pairs."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    has_commas = any("," in item for item in items)
    if len(items) == 2:
        return f"{items[0]}{',' if has_commas else ''} {conjunction} {items[1]}"
    if has_commas:
        return "; ".join(items[:-1]) + f"; {conjunction} " + items[-1]
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def modes(kb: KnowledgeBase, offering: Offering) -> str:
    return join([kb.mode_label(m) for m in offering.modes], "or")


def in_person(kb: KnowledgeBase, program: Program) -> str:
    """'hybrid or on campus at City, ST' (campuses with the same modes grouped)."""
    offerings = [o for o in kb.offerings(program) if not o.online]
    groups: list[str] = []
    for _, grouped in groupby(offerings, key=lambda o: o.modes):
        group = list(grouped)
        groups.append(f"{modes(kb, group[0])} at {join([o.campus.label for o in group], 'or')}")
    return join(groups, "or")


def where(kb: KnowledgeBase, program: Program) -> str:
    """Every way to take the program, in person first, online last."""
    online = kb.online_campus(program)
    parts = [in_person(kb, program)] if program.delivery else []
    if online:
        parts.append(f"{kb.mode_label('online')} through our {online.label} campus")
    return join(parts, "or")


def offers_at(kb: KnowledgeBase, offerings: Sequence[Offering]) -> str:
    """'Medical Billing and Coding (on campus or online)' for the programs at one campus."""
    phrases = []
    for _program_id, grouped in groupby(offerings, key=lambda o: o.program.id):
        group = list(grouped)
        labels = [kb.mode_label(m) for o in group for m in o.modes]
        phrases.append(f"{group[0].program.name} ({join(labels, 'or')})")
    return join(phrases)


def program_names(kb: KnowledgeBase) -> str:
    return join([p.name for p in kb.programs])


def campus_labels(kb: KnowledgeBase) -> str:
    return join([c.label for c in kb.campuses])
