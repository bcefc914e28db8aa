"""Answer "can I study <program> <mode> at <campus>?" as a query over the knowledge base.

A program is a set of options, each one mode at (or, online, through) one campus. A question
names campuses and modes (either may be missing); the verdict is yes exactly when some option
of the program fits the question, and the options that do not fit are the real alternatives.
Nothing here guesses: what is not in programs.yml is a no.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from actions.knowledge.base import ONLINE, KnowledgeBase
from actions.knowledge.model import Campus, Program


@dataclass(frozen=True)
class Option:
    """One way to take a program: a mode at a campus (online: through that campus)."""

    campus: Campus
    mode: str

    @property
    def online(self) -> bool:
        return self.mode == ONLINE


@dataclass(frozen=True)
class Verdict:
    program: Program
    # What was asked, as options: every named campus with every mode asked about. Empty
    # campuses mean "anywhere": `asked_modes` then holds the modes alone.
    asked: tuple[Option, ...]
    asked_modes: tuple[str, ...]
    matches: tuple[Option, ...]
    others: tuple[Option, ...]

    @property
    def yes(self) -> bool:
        return bool(self.matches)


def options(kb: KnowledgeBase, program: Program) -> tuple[Option, ...]:
    """Every option of the program: in person in file order, then online."""
    found = [
        Option(kb_campus, mode) for d in program.delivery if (kb_campus := kb.campus(d.campus)) for mode in d.modes
    ]
    online = kb.online_campus(program)
    if online:
        found.append(Option(online, ONLINE))
    return tuple(found)


def in_person_modes(kb: KnowledgeBase) -> tuple[str, ...]:
    return tuple(mode for mode in kb.delivery_modes if mode != ONLINE)


def ask(kb: KnowledgeBase, program: Program, campuses: Sequence[Campus], modes: Sequence[str]) -> Verdict:
    """The verdict for `program` at any of `campuses` (none: anywhere) in any of `modes`.

    Naming a campus without a mode asks about studying there in person: online study
    through a campus is not "in" that city. Naming neither asks about every option.
    """
    wanted = tuple(modes) or (in_person_modes(kb) if campuses else tuple(kb.delivery_modes))
    campus_ids = {c.id for c in campuses}
    every = options(kb, program)
    matches = tuple(o for o in every if o.mode in wanted and (not campus_ids or o.campus.id in campus_ids))
    others = tuple(o for o in every if o not in matches)
    asked = tuple(Option(c, mode) for c in campuses for mode in wanted)
    return Verdict(program, asked, wanted, matches, others)
