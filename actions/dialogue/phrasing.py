"""Turn lists of facts into phrases that fit into the domain's response templates.

Only joining and ordering lives here; every sentence is worded in domain.yml and every
fact comes from the knowledge base.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from actions.knowledge import KnowledgeBase, Offering
from actions.knowledge.comparisons import campuses_of
from actions.knowledge.model import Program
from actions.knowledge.offerings import Option, options


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
    return ways(kb, [o for o in options(kb, program) if not o.online])


def where(kb: KnowledgeBase, program: Program) -> str:
    """Every way to take the program, in person first, online last."""
    return ways(kb, options(kb, program))


def ways(kb: KnowledgeBase, chosen: Sequence[Option]) -> str:
    """'hybrid or on campus at <campus>, or online through our <campus> campus'.

    In-person options are grouped by campus, neighbouring campuses with the same modes
    share one phrase; online options come last.
    """
    by_campus: dict[str, list[Option]] = {}
    for option in chosen:
        if not option.online:
            by_campus.setdefault(option.campus.id, []).append(option)
    groups: list[str] = []
    for mode_ids, grouped in groupby(by_campus.values(), key=lambda found: tuple(o.mode for o in found)):
        labels = [found[0].campus.label for found in grouped]
        groups.append(f"{join([kb.mode_label(m) for m in mode_ids], 'or')} at {join(labels, 'or')}")
    in_person = [join(groups, "or")] if groups else []
    online = [f"{kb.mode_label(o.mode)} through our {o.campus.label} campus" for o in chosen if o.online]
    return join(in_person + online, "or")


def mode_labels(kb: KnowledgeBase, mode_ids: Sequence[str]) -> str:
    return join([kb.mode_label(m) for m in mode_ids], "or")


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


def months_for(program: Program) -> str:
    """'<months> months for <program>' (a comparison's other figures)."""
    return f"{program.duration_months} months for {program.name}"


def campus_count(kb: KnowledgeBase, program: Program) -> str:
    """'<count> (<campus>; <campus>; and <campus>)': its in-person campuses."""
    found = campuses_of(kb, program)
    return f"{len(found)} ({join([c.label for c in found])})" if found else "0"


def campuses_for(kb: KnowledgeBase, program: Program) -> str:
    """'<count> for <program> (<campus>)' (a comparison's other figures)."""
    count, _, labels = campus_count(kb, program).partition(" ")
    return f"{count} for {program.name}{' ' + labels if labels else ''}"
